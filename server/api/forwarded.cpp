#include "api/forwarded.hpp"

#include <algorithm>
#include <cctype>

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

// A host name, IPv4 or bracketed IPv6 literal, optionally with a port. A
// list ("a, b", several proxies) is not one host and is refused.
std::string checked_host(std::string_view h) {
    if (h.empty() || h.size() > max_host) return {};
    bool ok = std::all_of(h.begin(), h.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    });
    return ok && h.front() != '.' && h.front() != '-' && h.front() != ':' ? lower(h) : std::string();
}

// An origin-form target: '/' and visible ASCII; "//x" (which a browser would
// read as another host) is refused.
std::string checked_uri(std::string_view u) {
    if (u.empty() || u.size() > max_uri || u.front() != '/' || u.starts_with("//")) return {};
    bool ok = std::all_of(u.begin(), u.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    return ok ? std::string(u) : std::string();
}

// scheme://host[:port]/path?query, without userinfo.
bool split_url(std::string_view url, original_request& out) {
    auto colon = url.find("://");
    if (colon == std::string_view::npos || url.size() > max_uri + max_host + 8) return false;
    auto scheme = checked_scheme(url.substr(0, colon));
    auto rest = url.substr(colon + 3);
    auto end = std::min(rest.find('/'), rest.find('?'));
    auto host = checked_host(rest.substr(0, end));
    std::string target = end == std::string_view::npos ? "/" : std::string(rest.substr(end));
    if (target.front() == '?') target.insert(0, 1, '/');
    auto uri = checked_uri(target);
    if (scheme.empty() || host.empty() || uri.empty()) return false;
    out.scheme = std::move(scheme);
    out.host = std::move(host);
    out.uri = std::move(uri);
    return true;
}

void fill(std::string& field, std::string value) {
    if (field.empty()) field = std::move(value);
}

}  // namespace

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

original_request original_of(const http::request& req, std::string_view below) {
    original_request o;
    o.method = checked_method(req["X-Forwarded-Method"]);
    o.scheme = checked_scheme(req["X-Forwarded-Proto"]);
    o.host = checked_host(req["X-Forwarded-Host"]);
    o.uri = checked_uri(req["X-Forwarded-Uri"]);

    fill(o.method, checked_method(req["X-Original-Method"]));
    if (auto url = req["X-Original-URL"]; !url.empty()) {
        original_request from_url;
        if (split_url(url, from_url)) {
            fill(o.scheme, std::move(from_url.scheme));
            fill(o.host, std::move(from_url.host));
            fill(o.uri, std::move(from_url.uri));
        }
    }
    if (!below.empty()) {
        // Envoy: the original method and Host, the original path and query
        // under the prefix.
        fill(o.method, std::string(req.method_string()));
        fill(o.host, checked_host(req[http::field::host]));
        auto target = std::string_view(req.target());
        auto query = target.find('?');
        fill(o.uri, checked_uri(std::string(below) +
                                (query == std::string_view::npos ? std::string() : std::string(target.substr(query)))));
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
