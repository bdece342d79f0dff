#include "redis/config.hpp"

#include <charconv>

#include "common/secret_file.hpp"
#include "common/text.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {
namespace {

template <class Int>
bool parse_number(std::string_view s, Int& value) {
    if (s.empty()) return false;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, value);
    return ec == std::errc{} && p == end;
}

bool valid_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

}  // namespace

boost::system::result<config> parse_url(std::string_view url) {
    config cfg;
    constexpr std::string_view plain = "redis://";
    constexpr std::string_view secure = "rediss://";
    if (url.starts_with(plain)) {
        url.remove_prefix(plain.size());
    } else if (url.starts_with(secure)) {
        url.remove_prefix(secure.size());
        cfg.tls = true;
    } else {
        return make_error_code(error::bad_url_scheme);
    }
    if (url.find_first_of("?#") != std::string_view::npos) return make_error_code(error::bad_url);

    // authority [/db]
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : url.substr(slash + 1);

    // userinfo: the last '@' ends it (an unencoded '@' in a password is common).
    // As in the Redis URI convention (redis-cli, redis-py, Jedis): a lone
    // userinfo is the password (redis://secret@host, the requirepass or
    // default-user form), user:password both, :password the password.
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        const auto colon = userinfo.find(':');
        if (colon != std::string_view::npos) {
            auto user = percent_decode(userinfo.substr(0, colon));
            if (!user) return make_error_code(error::bad_url_encoding);
            cfg.user = std::move(*user);
        }
        auto password = percent_decode(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
        if (!password) return make_error_code(error::bad_url_encoding);
        cfg.password = std::move(*password);
    }

    // host[:port], host may be [IPv6]
    std::string_view host;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos || close == 1) return make_error_code(error::bad_url_host);
        host = authority.substr(1, close - 1);
        for (char c : host)
            if (hex_value(c) < 0 && c != ':' && c != '.') return make_error_code(error::bad_url_host);
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return make_error_code(error::bad_url_host);
            port = rest.substr(1);
            if (port.empty()) return make_error_code(error::bad_url_port);
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return make_error_code(error::bad_url_port);
        }
        if (host.empty()) return make_error_code(error::bad_url_host);
        for (char c : host)
            if (!valid_host_char(c)) return make_error_code(error::bad_url_host);
    }
    cfg.host = std::string(host);
    if (!port.empty()) {
        unsigned value = 0;
        if (!parse_number(port, value) || value == 0 || value > 65535) return make_error_code(error::bad_url_port);
        cfg.port = static_cast<std::uint16_t>(value);
    }
    if (!path.empty()) {
        int db = 0;
        if (!parse_number(path, db) || db < 0) return make_error_code(error::bad_url_db);
        cfg.db = db;
    }
    return cfg;
}

boost::system::error_code load_password_file(config& cfg) {
    if (cfg.password_file.empty()) return {};
    auto content = read_secret_file(cfg.password_file);
    if (!content) return content.error();
    cfg.password = std::move(*content);
    return {};
}

}  // namespace sessiond::redis
