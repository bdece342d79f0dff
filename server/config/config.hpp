#pragma once
// sessiond's configuration: a plain struct with documented defaults, filled
// from four sources with the precedence flag > environment (SESSIOND_...) >
// config file > default. Durations are std::chrono; "0 = ..." is spelled out.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_network.hpp"

namespace sessiond {

enum class log_format { json, text };

// The enumerated options; each has a value_codec (config/value_codec.hpp)
// that parses its text once and writes it back for `describe`, and a
// to_string below for the components that need the text itself.
enum class log_level : std::uint8_t { trace, debug, info, warn, error, critical, off };
enum class tls_version : std::uint8_t { v1_2, v1_3 };                    // tls-min-version: 1.2, 1.3
enum class client_auth_mode : std::uint8_t { none, optional, require };  // tls-client-auth
enum class session_limit_policy : std::uint8_t { evict_lru, reject };    // at max-sessions-per-user
enum class same_site_policy : std::uint8_t { strict, lax, none };        // cookie SameSite: Strict, Lax, None
// device-address: how much of a client address a session keeps: all of it,
// its network (IPv4 /24, IPv6 /48) or nothing.
enum class address_privacy : std::uint8_t { full, truncated, none };

std::string_view to_string(log_level v) noexcept;
std::string_view to_string(tls_version v) noexcept;
std::string_view to_string(client_auth_mode v) noexcept;
std::string_view to_string(session_limit_policy v) noexcept;
std::string_view to_string(same_site_policy v) noexcept;
std::string_view to_string(address_privacy v) noexcept;

// Where /v1/auth reads the original request from (auth-original-headers):
// X-Original-URL and X-Original-Method (nginx sets them), or
// X-Forwarded-Method, -Proto, -Host and -Uri (Traefik, Caddy).
enum class header_family : std::uint8_t { x_original, x_forwarded };

// auth-metadata-headers: (metadata field, header name) pairs. Throws
// std::invalid_argument naming what is wrong.
std::vector<std::pair<std::string, std::string>> parse_metadata_headers(std::string_view text);

// auth-redirect-hosts: lower-cased host names and "*.domain" entries. Throws
// std::invalid_argument naming what is wrong.
std::vector<std::string> parse_host_list(std::string_view text);

// auth-original-headers: "x-original", "x-forwarded", each at most once, in
// the order given. Throws std::invalid_argument naming what is wrong.
std::vector<header_family> parse_original_headers(std::string_view text);

// assertion-keys: (kid, path) pairs. Throws std::invalid_argument naming
// what is wrong.
std::vector<std::pair<std::string, std::string>> parse_assertion_keys(std::string_view text);

// oidc-providers: one identity provider whose back-channel logout tokens
// are accepted.
struct oidc_provider_entry {
    std::string name;               // in the logout URL and in sessions' provider.name
    std::string issuer;             // iss
    std::string client_id;          // an aud value
    std::string jwks_file;          // a JWK Set, read at start and on SIGHUP
    std::vector<std::string> algs;  // allowed alg values (RS256, ES256, EdDSA)
};

// oidc-providers: "name=issuer|client_id|jwks-file[|alg,alg...]" entries
// separated by ';'. Throws std::invalid_argument naming what is wrong.
std::vector<oidc_provider_entry> parse_oidc_providers(std::string_view text);

// A comma-separated list (assertion-audiences, assertion-claims): the
// entries, trimmed; empty entries are refused. Throws std::invalid_argument.
std::vector<std::string> parse_list(std::string_view text);

// A list option as written and as parsed: parsed once, when the option is
// read (a malformed value is refused then, naming the option), so that the
// components read the entries and `describe` shows the text as given.
template <class Entries, Entries (*Parse)(std::string_view)>
class parsed_list {
public:
    parsed_list() = default;
    explicit parsed_list(std::string text) : entries_(Parse(text)), text_(std::move(text)) {}

    const Entries& entries() const noexcept { return entries_; }
    const std::string& text() const noexcept { return text_; }
    bool empty() const noexcept { return entries_.empty(); }

private:
    Entries entries_;
    std::string text_;
};

using metadata_header_list = parsed_list<std::vector<std::pair<std::string, std::string>>, &parse_metadata_headers>;
using host_list = parsed_list<std::vector<std::string>, &parse_host_list>;
using header_family_list = parsed_list<std::vector<header_family>, &parse_original_headers>;
using assertion_key_list = parsed_list<std::vector<std::pair<std::string, std::string>>, &parse_assertion_keys>;
using name_list = parsed_list<std::vector<std::string>, &parse_list>;
using network_list = parsed_list<std::vector<ip_network>, &parse_networks>;
using oidc_provider_list = parsed_list<std::vector<oidc_provider_entry>, &parse_oidc_providers>;

// webhooks: one endpoint that session events are delivered to (docs/webhooks.md).
struct webhook_entry {
    std::string name;                // 1..64 of [A-Za-z0-9_.-]: in metrics, logs and its Redis keys
    std::string url;                 // https://…; http:// only to a loopback address in development mode
    std::string secret_file;         // one or two Standard Webhooks secrets (whsec_<base64>), one a line
    std::vector<std::string> types;  // the event types it wants; empty = all
};

// webhooks: "name=url|secret-file[|type,type...]" entries separated by ';'.
// Throws std::invalid_argument naming what is wrong.
std::vector<webhook_entry> parse_webhooks(std::string_view text);
using webhook_list = parsed_list<std::vector<webhook_entry>, &parse_webhooks>;

// The host of an http:// or https:// URL (without brackets for IPv6), or
// empty when `url` is not one.
std::string url_host(std::string_view url);

struct http_config {
    std::string address = "127.0.0.1";                // listen address
    std::uint16_t port = 8080;                        // 0 = pick a free port (logged at start)
    std::size_t io_threads = 0;                       // 0 = cpus::available()
    std::size_t max_connections = 10000;              // beyond: 503 and close (idle ones are reclaimed first)
    std::size_t max_connections_per_client = 256;     // per client address (IPv6: /64); 0 = no cap
    std::size_t max_header_bytes = 8 * 1024;          // beyond: 431
    std::size_t max_body_bytes = 64 * 1024;           // beyond: 413
    std::chrono::milliseconds read_timeout{10'000};   // to receive a whole request once it began
    std::chrono::milliseconds idle_timeout{60'000};   // keep-alive connection with no request
    std::chrono::milliseconds write_timeout{10'000};  // to send a response
    std::chrono::milliseconds drain_timeout{10'000};  // graceful shutdown: in-flight requests
    std::string request_id_header = "X-Request-Id";
    // HTTPS: with a certificate, the listener speaks TLS only.
    std::string tls_cert_file;  // PEM, the certificate then its chain; reloaded on SIGHUP
    std::string tls_key_file;
    tls_version tls_min_version = tls_version::v1_2;
    // mTLS callers: the CA of their certificates, and none | optional | require.
    std::string tls_client_ca_file;
    client_auth_mode tls_client_auth = client_auth_mode::none;
    // A second, plain-HTTP listener for /healthz, /readyz and /metrics; with
    // it, /metrics leaves the main listener. 0 = none.
    std::string ops_address = "127.0.0.1";
    std::uint16_t ops_port = 0;
    // Peers (proxies, a login service) whose X-Forwarded-For names the
    // client a session is opened or seen from; empty = none.
    network_list trusted_proxies;
};

struct log_config {
    log_format format = log_format::json;
    log_level level = log_level::info;
    bool access_log = true;         // one line per request
    std::size_t queue_size = 8192;  // async log queue; when full the oldest line is dropped
};

struct store_config {
    // Empty = the embedded in-memory store; otherwise a redis://, rediss://,
    // redis(s)+sentinel:// or redis(s)+cluster:// URL.
    std::string redis_url;
    std::string redis_password_file;  // overrides the URL's password
    std::string redis_tls_ca_file;
    std::string redis_tls_cert_file;
    std::string redis_tls_key_file;
    std::string redis_tls_server_name;  // empty = the URL's host
    bool redis_tls_verify = true;
    std::size_t redis_connections = 0;  // per I/O thread (each thread has its own client); 0 = 1
    std::chrono::milliseconds redis_connect_timeout{1'000};
    std::chrono::milliseconds redis_command_timeout{500};
    std::size_t redis_max_in_flight = 4096;  // per connection; beyond: 503 store_busy
    std::string redis_key_prefix = "sessiond:";
    // Sentinel: the sentinels' own credentials (not the data nodes').
    std::string redis_sentinel_user;
    std::string redis_sentinel_password;
    std::string redis_sentinel_password_file;
    // Sentinel, Cluster: how often the primary / slot map is asked for anyway.
    std::chrono::milliseconds redis_topology_refresh{5'000};
    // Durable writes: replicas that must acknowledge each create, rotate and
    // revoke (WAIT) within redis_wait_timeout; 0 = off.
    unsigned redis_wait_replicas = 0;
    std::chrono::milliseconds redis_wait_timeout{200};
    // Stored record format (docs/data-model.md): 5 is sealed against forgery
    // in Redis, keeps every previous secret within its grace and the
    // session context (format 3 for a record with neither a chain nor a
    // context, 4 for a chain alone); 4 while instances of a version that
    // reads up to 4 still run; 3 while ones that read only 2 and 3 still
    // run; 2 while ones that read only 2 still run.
    unsigned record_format = 5;
    bool record_accept_unsigned = false;          // read format-2 records too (during an upgrade)
    std::size_t memory_max_sessions = 1'000'000;  // embedded store bound
    // The validation cache (Redis store only): records kept in process while
    // Redis' invalidation links vouch for them (CLIENT TRACKING).
    bool cache = true;
    std::size_t cache_max_entries = 100'000;  // in all, shared out among the I/O threads
    std::chrono::milliseconds cache_max_age{60'000};
    // Session events (docs/events.md): appended by every write in the same
    // atomic step, a stream per bucket, each bounded by count and age. Off
    // by default: they cost Redis memory and CPU that only a consumer repays.
    bool events = false;
    std::size_t events_max_per_bucket = 1000;
    std::chrono::milliseconds events_retention{24 * 3'600'000};
    std::string instance_name;  // named in every event; empty = the host's name
    // GET /v1/events (Server-Sent Events): each I/O thread reads every
    // stream this often while it has subscribers; at most this many streams
    // per instance, each with a queue of this many events; a comment line
    // this often on an idle stream; a resume starts this long before the
    // event it names.
    std::chrono::milliseconds events_poll_interval{250};
    std::size_t events_max_streams = 64;
    std::size_t events_stream_queue = 1000;
    std::chrono::milliseconds events_heartbeat{15'000};
    std::chrono::milliseconds events_resume_margin{5'000};
};

struct token_config {
    // Token keys: "kid:base64key[,kid:base64key...]" (each >= 32 bytes); all
    // accepted, `signing_kid` signs (0 = the highest kid). Secret: prefer the file.
    std::string keys;
    std::string keys_file;
    unsigned signing_kid = 0;
    // Keyed hash of user ids (buckets, index names); base64, >= 32 bytes,
    // must never change for a deployment. Secret: prefer the file.
    std::string user_index_key;
    std::string user_index_key_file;
    std::string prefix = "sid_";
};

struct session_config {
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
    std::chrono::milliseconds absolute_timeout{std::chrono::hours(12)};
    std::chrono::milliseconds max_idle_timeout{std::chrono::hours(24)};
    std::chrono::milliseconds max_absolute_timeout{std::chrono::days(30)};
    double touch_fraction = 0.5;  // 0 = write the idle extension on every validation
    std::chrono::milliseconds rotation_grace{std::chrono::seconds(10)};
    std::size_t max_per_user = 0;                                         // 0 = no limit
    session_limit_policy limit_policy = session_limit_policy::evict_lru;  // reject: 409
    std::size_t metadata_max_bytes = 4096;
    address_privacy device_address = address_privacy::truncated;
};

struct auth_config {
    // Callers: "name=sha256hex:scope[,scope...]" entries separated by ';'.
    // Scopes: sessions:read, sessions:write, sessions:admin, auth,
    // assertions:mint, assertions:redeem, sessions:self, events:read.
    std::string api_keys;
    std::string api_keys_file;
    // mTLS callers: "name kind:value scope[,scope...]" entries (kind: uri,
    // dns, cn) separated by ';' or newlines.
    std::string tls_callers;
    std::string api_key_header = "X-API-Key";
    std::string user_header = "X-Session-User";  // /v1/auth reply
    std::string id_header = "X-Session-Id";      // /v1/auth reply
    // /v1/auth: top-level session metadata fields sent as headers,
    // "field:Header[,field:Header...]"; empty = none.
    metadata_header_list metadata_headers;
    // /v1/auth: where a browser (Accept: text/html) that would get 401 is
    // sent instead (302), with the original URL in `redirect_param`; empty =
    // no redirects. Only original URLs whose host is on `redirect_hosts`
    // ("host[,*.domain...]") are redirected, so it is never an open redirect.
    std::string login_url;
    host_list redirect_hosts;
    std::string redirect_param = "rd";
    // /v1/auth: the header families that describe the original request, most
    // trusted first; the first one a request carries is the only one read
    // (empty = none: only the request line below /v1/auth, for Envoy).
    header_family_list original_headers{"x-original,x-forwarded"};
    // /v1/auth: an assertion for this audience in `assertion_header` of every
    // 200 (empty = none).
    std::string assertion_audience;
    std::string assertion_header = "X-Session-Assertion";
};

// Signed assertions (JWT): off while `keys` is empty.
struct assertion_config {
    // "kid:path[,kid:path...]": PEM private keys (Ed25519 or P-256), each
    // published in the JWKS; read again on SIGHUP.
    assertion_key_list keys;
    std::string signing_kid;  // empty = the only key (required with several)
    std::string issuer;       // iss
    name_list audiences;      // aud values callers may ask for, comma-separated
    std::chrono::milliseconds ttl{60'000};
    std::chrono::milliseconds max_ttl{300'000};
    name_list claims;  // top-level metadata fields copied as claims, comma-separated
    std::chrono::milliseconds jwks_max_age{300'000};
};

// OIDC back-channel logout: off while `providers` is empty.
struct oidc_config {
    oidc_provider_list providers;
    std::chrono::milliseconds logout_max_age{300'000};  // the oldest iat a logout token may have
};

// Webhooks: off while `endpoints` is empty. Need events = true.
struct webhook_config {
    webhook_list endpoints;
    std::string ca_file;                                 // PEM CAs for https:// endpoints; empty = the system's
    std::chrono::milliseconds timeout{10'000};           // one delivery: connect, TLS, write and read together
    std::size_t batch_size = 100;                        // events per request at most
    std::chrono::milliseconds retry_for{3'600'000};      // a batch not accepted within this is dead
    std::chrono::milliseconds retry_delay{1'000};        // the first retry's ceiling; doubles each time
    std::chrono::milliseconds retry_max_delay{300'000};  // the ceiling's cap
    std::chrono::milliseconds lease_ttl{15'000};         // an endpoint's deliverer lease, renewed at a third
    std::chrono::milliseconds poll_interval{1'000};      // how often the streams are read when idle
};

struct cookie_config {
    std::string name = "__Host-sid";
    std::string path = "/";
    std::string domain;  // empty = host-only (required by __Host-)
    bool secure = true;
    bool http_only = true;
    same_site_policy same_site = same_site_policy::lax;
};

struct config {
    http_config http;
    log_config log;
    store_config store;
    token_config token;
    session_config session;
    auth_config auth;
    assertion_config assertion;
    oidc_config oidc;
    webhook_config webhooks;
    cookie_config cookie;
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

// The options a config file's text sets ("name = value" lines, '#'
// comments), by name, values not yet checked; load_config reads the file
// named by --config with it. Throws config_error for an unknown option, an
// option given twice or a malformed line.
std::map<std::string, std::string> parse_config_text(std::string_view text);

// The effective configuration as config-file lines, secrets redacted.
std::string describe(const config& cfg);

// Overwrites in place, with NULs, the values of secret options (token keys,
// user index key, Redis URL) in the process's arguments ("--name value",
// "--name=value") and environment (SESSIOND_NAME=value), so that
// /proc/<pid>/cmdline, which every user can read, and /proc/<pid>/environ
// stop showing them once load_config has read them.
void wipe_secret_arguments(int argc, char** argv, char** envp) noexcept;

// Whether a header name may be configured to carry a metadata value on a
// /v1/auth 200: nullopt if so, else why not. Names that frame or route a
// message, set state in a browser, carry credentials, or describe the
// original request to sessiond are refused (compared case-insensitively).
std::optional<std::string> reserved_header_reason(std::string_view name);

// Parses "250ms", "10s", "5m", "1h", "2d". Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace sessiond
