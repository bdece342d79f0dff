#include "common/secret_file.hpp"

#include "common/secure_memory.hpp"

#include <array>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sessiond {
namespace {

boost::system::error_code errno_code(int fallback) {
    return {errno != 0 ? errno : fallback, boost::system::generic_category()};
}

// Closes the descriptor and wipes the read buffer on every way out.
struct reader {
    int fd = -1;
    std::array<char, 4096> chunk{};
    ~reader() {
        secure_wipe(chunk.data(), chunk.size());
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

boost::system::result<std::string> read_secret_file(const std::string& path) {
    // Plain read(2) rather than a stream: no stream buffer, and every buffer
    // the content outgrows is wiped before it is freed.
    reader r;
    r.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) return errno_code(ENOENT);
    struct stat st {};
    std::string content;
    if (::fstat(r.fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 20))
        content.reserve(static_cast<std::size_t>(st.st_size));
    while (true) {
        const ssize_t n = ::read(r.fd, r.chunk.data(), r.chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            auto ec = errno_code(EIO);
            secure_wipe(content);
            return ec;
        }
        if (n == 0) break;
        const auto got = static_cast<std::size_t>(n);
        if (content.size() + got > content.capacity()) {
            std::string bigger;
            bigger.reserve(2 * (content.size() + got));
            bigger.append(content);
            secure_wipe(content);
            content = std::move(bigger);
        }
        content.append(r.chunk.data(), got);
    }
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
