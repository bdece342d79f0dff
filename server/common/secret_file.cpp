#include "common/secret_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <iterator>

namespace sessiond {

boost::system::result<std::string> read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return boost::system::error_code(errno ? errno : ENOENT, boost::system::generic_category());
    std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) return boost::system::error_code(EIO, boost::system::generic_category());
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
        content.pop_back();
    return content;
}

bool readable_by_others(const std::string& path) noexcept {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

}  // namespace sessiond
