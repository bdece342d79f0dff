#pragma once
// Reads a secret (a key list, a password) or a configuration file, as
// container secrets and systemd credentials provide them, with a bound:
// regular files only (a FIFO, a device such as /dev/zero or a directory is
// refused without reading from it), at most a size fixed per kind of file.
// Blocking file I/O: start-up, reload and the CLI only.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <type_traits>

namespace sessiond {

// The largest file of each kind. A key or secret file holds a few keys or a
// password: 1 MiB is far beyond any. The config file and the API keys file
// list options and callers: 4 MiB holds tens of thousands of lines.
inline constexpr std::size_t secret_file_max_bytes = std::size_t{1} << 20;
inline constexpr std::size_t list_file_max_bytes = std::size_t{4} << 20;

// Why a file was refused before or while reading it (besides an errno).
enum class file_errc {
    not_regular = 1,  // a FIFO, a socket, a device or a directory
    too_large,        // more bytes than the limit for its kind
};
boost::system::error_code make_error_code(file_errc e) noexcept;

// The file's content without its trailing line breaks (CR, LF), or why it
// was refused: file_errc, or the errno of the failed open or read. The file
// is opened non-blocking (a FIFO without a writer cannot hang the caller),
// checked to be a regular file, and read up to `max_bytes` + 1 bytes at
// most. No copy is left behind in freed memory; the caller wipes the result
// (secure_wipe) or moves it into a secret type.
boost::system::result<std::string> read_secret_file(const std::string& path,
                                                    std::size_t max_bytes = secret_file_max_bytes);

// "cannot read the file of '<option>': <path>: <why>": never the content.
std::string file_error_text(const char* option, const std::string& path, boost::system::error_code ec,
                            std::size_t max_bytes = secret_file_max_bytes);

// True when the file (symbolic links followed) is readable by its group or
// by others (mode & 044): a secret there is one `cat` away from every other
// account on the machine. False when it cannot be examined.
bool readable_by_others(const std::string& path) noexcept;

}  // namespace sessiond

template <>
struct boost::system::is_error_code_enum<sessiond::file_errc> : std::true_type {};
