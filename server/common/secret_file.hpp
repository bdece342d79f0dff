#pragma once
// Reads a secret (a key list, a password) from a file, as container secrets
// and systemd credentials provide them. Blocking file I/O: start-up only.

#include <boost/system/result.hpp>

#include <string>

namespace sessiond {

// The file's content without its trailing line breaks (CR, LF), or the
// errno of the failed open or read. No copy is left behind in freed memory;
// the caller wipes the result (secure_wipe) or moves it into a secret type.
boost::system::result<std::string> read_secret_file(const std::string& path);

// True when the file (symbolic links followed) is readable by its group or
// by others (mode & 044): a secret there is one `cat` away from every other
// account on the machine. False when it cannot be examined.
bool readable_by_others(const std::string& path) noexcept;

}  // namespace sessiond
