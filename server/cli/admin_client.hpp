#pragma once
// One HTTP exchange with a running sessiond's API, for `sessiond admin`: plain
// or TLS, the API key in its header, every step under a deadline. Blocking;
// the CLI runs one exchange at a time.

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/secure_memory.hpp"

namespace sessiond::cli {

// Where the API is: from an http:// or https:// URL, with an optional base
// path (a sessiond behind a proxy under a prefix).
struct api_endpoint {
    bool tls = false;
    std::string host;       // without brackets for an IPv6 literal
    std::string port;       // numeric text, the scheme's default if the URL has none
    std::string base_path;  // "" or "/prefix", no trailing '/'
};

// Parses the URL; throws usage_error for anything else than an http(s) URL
// without user info, query or fragment.
api_endpoint parse_endpoint(std::string_view url);

struct client_settings {
    api_endpoint endpoint;
    secret_string api_key;
    std::string api_key_header = "X-API-Key";
    std::string ca_file;  // "" = the system's trust store
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds timeout{10000};  // the whole exchange, connect included
};

struct api_response {
    int status = 0;
    std::string content_type;
    std::string body;
};

// A command line sessiond admin cannot act on (exit status 2).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The server could not be reached or the exchange did not complete:
// resolution, connection, TLS, timeout, a reply that is not HTTP (exit 3).
struct unreachable_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Sends `method target` (target: path and query below the base path, already
// percent-encoded), with `json_body` as an application/json body unless it
// is empty, and returns the reply whatever its status; throws
// unreachable_error when there is no reply.
api_response call_api(const client_settings& settings, std::string_view method, std::string_view target,
                      std::string_view json_body = {});

}  // namespace sessiond::cli
