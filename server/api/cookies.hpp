#pragma once
// The session cookie's Set-Cookie values: the one a new or rotated token is
// returned with (in the reply's `cookie`), and the one that deletes it in a
// browser when forward auth refuses the token it carried.

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sessiond::api {

// The cookie that carries `token` for `left`, rounded up to whole seconds so
// that a fresh session's cookie lives exactly its absolute timeout.
std::string session_cookie(const cookie_config& c, std::string_view token, std::chrono::milliseconds left);

// The cookie that deletes the session cookie: its attributes are the
// session cookie's, or a browser would keep it (a __Host- cookie is only
// set, and so only deleted, with Secure and Path=/).
std::string cookie_deletion(const cookie_config& c);

}  // namespace sessiond::api
