#pragma once
// What the handlers read from and write to headers besides JSON: the session
// token a request presents, and values made safe for a response header.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/types.hpp"

namespace sessiond::api {

// The longest session token a body field or header may hold; anything
// longer is refused without being decoded.
inline constexpr std::size_t max_token_field = 512;

// The session token from "Authorization: Bearer" (either case of "bearer",
// spaces around the token dropped) or else from the first cookie named
// `cookie_name` (double quotes around its value dropped); empty if neither.
// A view into `req`.
std::string_view token_from_request(const http::request& req, std::string_view cookie_name);

// The same token and where it came from: a refused token that came from the
// cookie is deleted in the browser (strict tokens), one from Authorization
// is the caller's to drop.
struct presented_token {
    std::string_view token;
    bool from_cookie = false;  // the cookie was present (its value may be empty)
};
presented_token find_token(const http::request& req, std::string_view cookie_name);

// A header a request may carry once: its value ("" when absent), or nullopt
// when it carries it more than once (ambiguous: a proxy or a server behind
// sessiond may read the other one). One lookup, as reading it would take.
std::optional<std::string_view> single_header(const http::request& req, std::string_view name);
std::optional<std::string_view> single_header(const http::request& req, http::field name);

// Header values must be visible ASCII; anything else (and '%') is
// percent-encoded so the value is unambiguous.
std::string header_safe(std::string_view s);

// Cache-Control: no-store (and Pragma: no-cache) on a reply that carries a
// token or answers for one.
void set_no_store(http::response& res);

}  // namespace sessiond::api
