#include "common/secret_file.hpp"

#include "common/error_category.hpp"
#include "common/secure_memory.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sessiond {
namespace {

const char* describe(file_errc e) noexcept {
    switch (e) {
        case file_errc::not_regular:
            return "not a regular file (a FIFO, a device, a socket or a directory)";
        case file_errc::too_large:
            return "larger than the limit for this kind of file";
    }
    return "unknown file error";
}

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

std::string size_text(std::size_t bytes) {
    if (bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
    if (bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
    return std::to_string(bytes) + " bytes";
}

}  // namespace

boost::system::error_code make_error_code(file_errc e) noexcept {
    static const enum_category<file_errc> instance("sessiond.file", describe);
    return {static_cast<int>(e), instance};
}

boost::system::result<std::string> read_secret_file(const std::string& path, std::size_t max_bytes) {
    // Plain read(2) rather than a stream: no stream buffer, and every buffer
    // the content outgrows is wiped before it is freed. O_NONBLOCK: opening
    // a FIFO for reading would otherwise wait for a writer; the type is
    // checked on the open descriptor, so nothing can swap the file between
    // the check and the read.
    reader r;
    r.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (r.fd < 0) return errno_code(ENOENT);
    struct stat st {};
    if (::fstat(r.fd, &st) != 0) return errno_code(EIO);
    if (!S_ISREG(st.st_mode)) return make_error_code(file_errc::not_regular);
    if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max_bytes)
        return make_error_code(file_errc::too_large);
    std::string content;
    content.reserve(static_cast<std::size_t>(st.st_size) + 1);
    while (true) {
        // One byte past the limit tells a file that grew beyond it.
        const std::size_t want = std::min(r.chunk.size(), max_bytes + 1 - content.size());
        const ssize_t n = ::read(r.fd, r.chunk.data(), want);
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
            bigger.reserve(std::min(2 * (content.size() + got), max_bytes + 1));
            bigger.append(content);
            secure_wipe(content);
            content = std::move(bigger);
        }
        content.append(r.chunk.data(), got);
        if (content.size() > max_bytes) {
            secure_wipe(content);
            return make_error_code(file_errc::too_large);
        }
    }
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
        content.pop_back();
    return content;
}

std::string file_error_text(const char* option, const std::string& path, boost::system::error_code ec,
                            std::size_t max_bytes) {
    std::string out = std::string("cannot read the file of '") + option + "': " + path + ": " + ec.message();
    if (ec == file_errc::too_large) out += " (" + size_text(max_bytes) + ")";
    return out;
}

bool readable_by_others(const std::string& path) noexcept {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

}  // namespace sessiond
