#pragma once
// The original request a proxy asks /v1/auth about, as the proxy describes
// it: X-Forwarded-Method, -Proto, -Host, -Uri (Traefik, Caddy),
// X-Original-URL and X-Original-Method (nginx), or the method, Host and the
// path below /v1/auth (Envoy ext_authz with a path_prefix). Each value is
// bounded and checked; one that is not well formed counts as unknown, so it
// can neither redirect a browser nor reach a log line.

#include <string>
#include <string_view>
#include <vector>

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

// `below` is the request's path under /v1/auth ("" for /v1/auth itself).
// The X-Forwarded-* headers win over X-Original-*, which win over the
// request line and Host (taken only below /v1/auth, where they are the
// original request's).
original_request original_of(const http::request& req, std::string_view below);

// The host of `host_port` ("[::1]:8443" -> "[::1]", "a.example:80" -> "a.example").
std::string_view host_name(std::string_view host_port);

// Whether `host` (with or without a port) is on `allowed`: an entry is a
// host name, or "*.example.com" for every name below example.com.
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);

// `s` as a URL query component: everything but RFC 3986 unreserved
// characters percent-encoded.
std::string query_escape(std::string_view s);

}  // namespace sessiond::api
