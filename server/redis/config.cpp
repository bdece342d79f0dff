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

std::string to_string(const endpoint& e) {
    const bool v6 = e.host.find(':') != std::string::npos;
    return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

std::string_view to_string(topology t) noexcept {
    switch (t) {
        case topology::standalone:
            return "standalone";
        case topology::sentinel:
            return "sentinel";
        case topology::cluster:
            return "cluster";
    }
    return "unknown";
}

namespace {

// host[:port], host may be [IPv6].
boost::system::result<endpoint> parse_host_port(std::string_view authority, std::uint16_t default_port) {
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
    endpoint out{std::string(host), default_port};
    if (!port.empty()) {
        unsigned value = 0;
        if (!parse_number(port, value) || value == 0 || value > 65535) return make_error_code(error::bad_url_port);
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

struct scheme {
    std::string_view prefix;
    topology mode;
    bool tls;
};
constexpr scheme schemes[] = {
    {"redis://", topology::standalone, false},        {"rediss://", topology::standalone, true},
    {"redis+sentinel://", topology::sentinel, false}, {"rediss+sentinel://", topology::sentinel, true},
    {"redis+cluster://", topology::cluster, false},   {"rediss+cluster://", topology::cluster, true},
};

boost::system::error_code parse_db(std::string_view text, int& db) {
    if (!parse_number(text, db) || db < 0) return make_error_code(error::bad_url_db);
    return {};
}

}  // namespace

boost::system::result<config> parse_url(std::string_view url) {
    config cfg;
    const scheme* found = nullptr;
    for (const auto& s : schemes)
        if (url.starts_with(s.prefix)) found = &s;
    if (!found) return make_error_code(error::bad_url_scheme);
    url.remove_prefix(found->prefix.size());
    cfg.mode = found->mode;
    cfg.tls = found->tls;
    if (url.find_first_of("?#") != std::string_view::npos) return make_error_code(error::bad_url);

    // authority [/path]
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

    // host[:port][,host[:port]…]
    const std::uint16_t default_port = cfg.mode == topology::sentinel ? 26379 : 6379;
    for (;;) {
        const auto comma = authority.find(',');
        auto ep = parse_host_port(authority.substr(0, comma), default_port);
        if (!ep) return ep.error();
        cfg.seeds.push_back(std::move(*ep));
        if (comma == std::string_view::npos) break;
        authority.remove_prefix(comma + 1);
    }
    if (cfg.mode == topology::standalone) {
        if (cfg.seeds.size() != 1) return make_error_code(error::bad_url_host);
        cfg.host = cfg.seeds.front().host;
        cfg.port = cfg.seeds.front().port;
        cfg.seeds.clear();
    } else {
        cfg.host = cfg.seeds.front().host;
        cfg.port = cfg.seeds.front().port;
    }

    switch (cfg.mode) {
        case topology::standalone:
            if (!path.empty())
                if (auto ec = parse_db(path, cfg.db)) return ec;
            break;
        case topology::sentinel: {
            const auto next = path.find('/');
            const std::string_view name = path.substr(0, next);
            if (name.empty()) return make_error_code(error::bad_url);
            for (char c : name)
                if (!valid_host_char(c)) return make_error_code(error::bad_url);
            cfg.master_name = std::string(name);
            if (next != std::string_view::npos && next + 1 < path.size())
                if (auto ec = parse_db(path.substr(next + 1), cfg.db)) return ec;
            break;
        }
        case topology::cluster:
            // A cluster serves database 0 only.
            if (!path.empty() && path != "0") return make_error_code(error::bad_url_db);
            break;
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
