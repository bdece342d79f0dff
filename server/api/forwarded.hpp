#pragma once
// The original request a proxy asks /v1/auth about, as the proxy describes
// it: X-Original-URL and X-Original-Method (nginx), X-Forwarded-Method,
// -Proto, -Host, -Uri (Traefik, Caddy), or the method, Host and the path
// below /v1/auth (Envoy ext_authz with a path_prefix). Each value is bounded
// and checked strictly (an RFC 3986 host: DNS labels or an IP literal, a
// port of 1..65535); one that is not well formed counts as unknown, so it
// can neither redirect a browser nor reach a log line.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "http/types.hpp"

namespace sessiond::api {

struct original_request {
    std::string method;  // e.g. "GET"; empty = unknown
    std::string scheme;  // "http" or "https"; empty = unknown
    std::string host;    // host[:port], lower case; empty = unknown
    std::string uri;     // path and query, starting with '/'; empty = unknown

    // scheme://host/uri when all three are known, else empty.
    std::string url() const;
    // What a log line may show: method and URL without the query (which may
    // hold a secret, such as a password reset code); empty when nothing is known.
    std::string for_log() const;
};

// The header families read by default: nginx's own headers first, which a
// client cannot choose when nginx sets them, then X-Forwarded-*.
inline const std::vector<header_family> default_original_headers = {header_family::x_original,
                                                                    header_family::x_forwarded};

// `below` is the request's path under /v1/auth ("" for /v1/auth itself).
// Of `trusted` (most trusted first), the first family the request carries
// at all is the only one read: a family a proxy sets is never completed
// from another that a client may have sent, even when the proxy's value is
// malformed. Below /v1/auth the request line and Host are the original
// request's (Envoy sets them) and win; the family gives the scheme.
original_request original_of(const http::request& req, std::string_view below,
                             const std::vector<header_family>& trusted = default_original_headers);

// `host_port` checked strictly and lower-cased: an RFC 3986 host (a
// reg-name of DNS labels, each 1..63 of [A-Za-z0-9-] not starting or ending
// with '-' and not all digits in the last place, an IPv4 address, or a
// bracketed IPv6 address) and an optional port of 1..65535 without leading
// zeros. Empty when it is not one.
std::string checked_host(std::string_view host_port);

// The host of `host_port` ("[::1]:8443" -> "[::1]", "a.example:80" -> "a.example").
std::string_view host_name(std::string_view host_port);

// Whether a browser sending `accept` asked for HTML: text/html or text/*
// named with a quality above 0, and text/html's own quality (its most
// specific range: text/html, then text/*, then */*) above 0. "*/*" alone
// is what API clients send, and does not count.
bool accepts_html(std::string_view accept);

// Whether `host` (with or without a port) is on `allowed`: an entry is a
// host name, or "*.example.com" for every name below example.com.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);

// `s` as a URL query component: everything but RFC 3986 unreserved
// characters percent-encoded.
std::string query_escape(std::string_view s);

}  // namespace sessiond::api
