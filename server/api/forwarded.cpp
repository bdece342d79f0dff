#include "api/forwarded.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sessiond::api {

namespace {

constexpr std::size_t max_method = 32;
constexpr std::size_t max_host = 255;
constexpr std::size_t max_uri = 4096;

bool tchar(unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string checked_method(std::string_view m) {
    if (m.empty() || m.size() > max_method) return {};
    return std::all_of(m.begin(), m.end(), [](unsigned char c) { return tchar(c); }) ? std::string(m) : std::string();
}

std::string checked_scheme(std::string_view s) {
    auto l = lower(s);
    return l == "http" || l == "https" ? l : std::string();
}

// An origin-form target: '/' and visible ASCII; "//x" (which a browser would
// read as another host) is refused.
std::string checked_uri(std::string_view u) {
    if (u.empty() || u.size() > max_uri || u.front() != '/' || u.starts_with("//")) return {};
    bool ok = std::all_of(u.begin(), u.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    return ok ? std::string(u) : std::string();
}

// scheme://host[:port]/path?query, without userinfo: the authority ends at
// the first '/', '?' or '#', and must be a host and port as checked_host has
// them ("https://a.example:80:80/" and "https://a.example:x@evil/" are not).
bool split_url(std::string_view url, original_request& out) {
    auto colon = url.find("://");
    if (colon == std::string_view::npos || url.size() > max_uri + max_host + 8) return false;
    auto scheme = checked_scheme(url.substr(0, colon));
    auto rest = url.substr(colon + 3);
    auto end = rest.find_first_of("/?#");
    auto host = checked_host(rest.substr(0, end));
    std::string target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
    if (target.front() != '/') target.insert(0, 1, '/');
    auto uri = checked_uri(target);
    if (scheme.empty() || host.empty() || uri.empty()) return false;
    out.scheme = std::move(scheme);
    out.host = std::move(host);
    out.uri = std::move(uri);
    return true;
}

// The value of a header the request has exactly once; empty otherwise (two
// values are ambiguous: one may be the client's).
std::string_view single(const http::request& req, std::string_view name) {
    auto range = req.equal_range(name);
    if (range.first == range.second || std::next(range.first) != range.second) return {};
    return range.first->value();
}

bool carries(const http::request& req, header_family family) {
    static constexpr std::string_view original[] = {"X-Original-URL", "X-Original-Method"};
    static constexpr std::string_view forwarded[] = {"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host",
                                                     "X-Forwarded-Uri"};
    auto present = [&](std::string_view name) { return req.find(name) != req.end(); };
    if (family == header_family::x_original) return std::any_of(std::begin(original), std::end(original), present);
    return std::any_of(std::begin(forwarded), std::end(forwarded), present);
}

original_request read_family(const http::request& req, header_family family) {
    original_request o;
    if (family == header_family::x_original) {
        o.method = checked_method(single(req, "X-Original-Method"));
        if (auto url = single(req, "X-Original-URL"); !url.empty()) split_url(url, o);
    } else {
        o.method = checked_method(single(req, "X-Forwarded-Method"));
        o.scheme = checked_scheme(single(req, "X-Forwarded-Proto"));
        o.host = checked_host(single(req, "X-Forwarded-Host"));
        o.uri = checked_uri(single(req, "X-Forwarded-Uri"));
    }
    return o;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A DNS name as an RFC 3986 reg-name may spell it: labels of letters,
// digits and '-', none empty, none beginning or ending with '-'. A last
// label of digits alone would make a browser read the name as an IPv4
// address in some other form (such as "1.2.3" or "0x7f.1"), so it is refused.
bool dns_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::string_view last;
    while (true) {
        auto dot = name.find('.');
        auto label = name.substr(0, dot);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        if (!std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
            return false;
        last = label;
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    return !all_digits(last);
}

// A port: 1..65535, digits only, no leading zero.
bool port_number(std::string_view p) {
    if (p.empty() || p.size() > 5 || p.front() == '0' || !all_digits(p)) return false;
    unsigned value = 0;
    std::from_chars(p.data(), p.data() + p.size(), value);
    return value >= 1 && value <= 65535;
}

}  // namespace

std::string checked_host(std::string_view h) {
    if (h.empty() || h.size() > max_host) return {};
    std::string_view name, port;
    if (h.front() == '[') {
        auto close = h.find(']');
        if (close == std::string_view::npos) return {};
        // IPv6 only: neither a zone id nor an IPvFuture literal.
        if (!boost::urls::parse_ipv6_address(h.substr(1, close - 1))) return {};
        name = h.substr(0, close + 1);
        auto rest = h.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return {};
            port = rest.substr(1);
            if (!port_number(port)) return {};
        }
    } else {
        auto colon = h.find(':');
        name = h.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = h.substr(colon + 1);
            if (!port_number(port)) return {};
        }
        if (!boost::urls::parse_ipv4_address(name) && !dns_name(name)) return {};
    }
    return lower(h);
}

bool accepts_html(std::string_view accept) {
    if (accept.size() > 1024) return false;
    // Quality in thousandths per media range; -1 = not named.
    int html = -1, text_any = -1, any = -1;
    while (!accept.empty()) {
        auto comma = accept.find(',');
        auto range = accept.substr(0, comma);
        accept.remove_prefix(comma == std::string_view::npos ? accept.size() : comma + 1);
        auto trim = [](std::string_view v) {
            auto first = v.find_first_not_of(" \t");
            if (first == std::string_view::npos) return std::string_view();
            return v.substr(first, v.find_last_not_of(" \t") - first + 1);
        };
        auto semi = range.find(';');
        auto type = lower(trim(range.substr(0, semi)));
        int q = 1000;
        // The parameters: only q matters (RFC 9110 qvalue: 0, 0.x to 0.xxx, 1, 1.0 to 1.000).
        auto params = semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
        bool bad = false;
        while (!params.empty()) {
            auto next = params.find(';');
            auto param = trim(params.substr(0, next));
            params.remove_prefix(next == std::string_view::npos ? params.size() : next + 1);
            if (param.size() < 2 || std::tolower(static_cast<unsigned char>(param[0])) != 'q') continue;
            auto value = trim(param.substr(1));
            if (value.empty() || value.front() != '=') continue;
            value = trim(value.substr(1));
            auto dot = value.find('.');
            auto whole = value.substr(0, dot);
            auto fraction = dot == std::string_view::npos ? std::string_view() : value.substr(dot + 1);
            if ((whole != "0" && whole != "1") || fraction.size() > 3 || (!fraction.empty() && !all_digits(fraction))) {
                bad = true;
                break;
            }
            int thousandths = 0;
            for (std::size_t i = 0; i < 3; ++i)
                thousandths = thousandths * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
            q = (whole == "1" ? 1000 : 0) + thousandths;
            if (q > 1000) bad = true;
        }
        if (bad) continue;  // a range whose quality cannot be read is ignored
        if (type == "text/html")
            html = std::max(html, q);
        else if (type == "text/*")
            text_any = std::max(text_any, q);
        else if (type == "*/*")
            any = std::max(any, q);
    }
    if (html < 0 && text_any < 0) return false;
    int effective = html >= 0 ? html : text_any >= 0 ? text_any : any;
    return effective > 0;
}

std::string original_request::url() const {
    if (scheme.empty() || host.empty() || uri.empty()) return {};
    return scheme + "://" + host + uri;
}

std::string original_request::for_log() const {
    std::string out = method;
    if (!host.empty()) {
        if (!out.empty()) out += ' ';
        out += (scheme.empty() ? std::string() : scheme + "://") + host;
    }
    if (!uri.empty()) {
        if (!out.empty() && host.empty()) out += ' ';
        out += uri.substr(0, uri.find('?'));
    }
    return out;
}

original_request original_of(const http::request& req, std::string_view below,
                             const std::vector<header_family>& trusted) {
    original_request o;
    for (auto family : trusted) {
        if (carries(req, family)) {
            o = read_family(req, family);
            break;
        }
    }
    if (!below.empty()) {
        // Envoy: the original method and Host, the original path and query
        // under the prefix. They are what the proxy received, so they win.
        o.method = checked_method(req.method_string());
        o.host = checked_host(req[http::field::host]);
        auto target = std::string_view(req.target());
        auto query = target.find('?');
        o.uri = checked_uri(std::string(below) +
                            (query == std::string_view::npos ? std::string() : std::string(target.substr(query))));
    }
    return o;
}

std::string_view host_name(std::string_view host_port) {
    if (host_port.starts_with('[')) return host_port.substr(0, host_port.find(']') + 1);
    return host_port.substr(0, host_port.find(':'));
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
    auto name = host_name(host);
    if (name.empty()) return false;
    for (const auto& entry : allowed) {
        if (entry.starts_with("*.")) {
            auto suffix = std::string_view(entry).substr(1);  // ".example.com"
            if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
        } else if (name == entry) {
            return true;
        }
    }
    return false;
}

std::string query_escape(std::string_view s) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3 / 2);
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

}  // namespace sessiond::api
