#pragma once
// sessiond's configuration: a plain struct with documented defaults, filled
// from four sources with the precedence flag > environment (SESSIOND_...) >
// config file > default. Durations are std::chrono; "0 = ..." is spelled out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sessiond {

enum class log_format { json, text };

struct http_config {
    std::string address = "127.0.0.1";                // listen address
    std::uint16_t port = 8080;                        // 0 = pick a free port (logged at start)
    std::size_t io_threads = 0;                       // 0 = number of cores
    std::size_t max_connections = 10000;              // beyond: 503 and close
    std::size_t max_header_bytes = 8 * 1024;          // beyond: 431
    std::size_t max_body_bytes = 64 * 1024;           // beyond: 413
    std::chrono::milliseconds read_timeout{10'000};   // to receive a whole request once it began
    std::chrono::milliseconds idle_timeout{60'000};   // keep-alive connection with no request
    std::chrono::milliseconds write_timeout{10'000};  // to send a response
    std::chrono::milliseconds drain_timeout{10'000};  // graceful shutdown: in-flight requests
    std::string request_id_header = "X-Request-Id";
};

struct log_config {
    log_format format = log_format::json;
    std::string level = "info";     // trace, debug, info, warn, error, off
    bool access_log = true;         // one line per request
    std::size_t queue_size = 8192;  // async log queue; when full the oldest line is dropped
};

struct store_config {
    // Empty = the embedded in-memory store; otherwise redis:// or rediss:// URL.
    std::string redis_url;
    std::string redis_password_file;  // overrides the URL's password
    std::string redis_tls_ca_file;
    std::string redis_tls_cert_file;
    std::string redis_tls_key_file;
    std::string redis_tls_server_name;  // empty = the URL's host
    bool redis_tls_verify = true;
    std::size_t redis_connections = 0;  // 0 = one per I/O thread
    std::chrono::milliseconds redis_connect_timeout{1'000};
    std::chrono::milliseconds redis_command_timeout{500};
    std::size_t redis_max_in_flight = 4096;  // per connection; beyond: 503 store_busy
    std::string redis_key_prefix = "sessiond:";
    std::size_t memory_max_sessions = 1'000'000;  // embedded store bound
};

struct config {
    http_config http;
    log_config log;
    store_config store;
    bool development = false;  // allows insecure settings on loopback only
    std::string config_file;   // where the file source came from, if any
};

// What the command line asked for besides running the server.
enum class run_mode { serve, help, version, check_config };

struct load_result {
    config cfg;
    run_mode mode = run_mode::serve;
    std::string help_text;
};

// Thrown for invalid configuration: the message names the option and the reason.
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads flags, environment (`env` is a list of NAME=VALUE, normally environ)
// and the config file named by --config / SESSIOND_CONFIG.
load_result load_config(int argc, const char* const* argv, const std::vector<std::string>& env);

// The effective configuration as config-file lines, secrets redacted.
std::string describe(const config& cfg);

// Parses "250ms", "10s", "5m", "1h", "2d". Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace sessiond
