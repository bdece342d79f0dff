#include "api/cookies.hpp"

#include <algorithm>
#include <cstdint>

namespace sessiond::api {

namespace {

std::string cookie(const cookie_config& c, std::string_view value, std::int64_t max_age) {
    std::string out = c.name + "=" + std::string(value) + "; Path=" + c.path;
    if (!c.domain.empty()) out += "; Domain=" + c.domain;
    out += "; Max-Age=" + std::to_string(max_age);
    if (c.secure) out += "; Secure";
    if (c.http_only) out += "; HttpOnly";
    out += "; SameSite=";
    out += to_string(c.same_site);
    return out;
}

}  // namespace

std::string session_cookie(const cookie_config& c, std::string_view token, std::chrono::milliseconds left) {
    const auto seconds = (left.count() + 999) / 1000;
    return cookie(c, token, std::max<std::int64_t>(seconds, 0));
}

std::string cookie_deletion(const cookie_config& c) {
    return cookie(c, {}, 0);
}

}  // namespace sessiond::api
