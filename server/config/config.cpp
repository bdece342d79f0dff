#include "config/config.hpp"

#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace sessiond {

namespace {

constexpr std::string_view header_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The comma-separated items of `text`, trimmed, none empty.
std::vector<std::string_view> list_items(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        item.remove_prefix(std::min(item.find_first_not_of(" \t"), item.size()));
        item = item.substr(0, item.find_last_not_of(" \t") + 1);
        if (item.empty()) throw std::invalid_argument("an empty item in the list");
        out.push_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
        if (text.empty()) throw std::invalid_argument("an empty item in the list");
    }
    return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_metadata_headers(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto item : list_items(text)) {
        auto colon = item.find(':');
        if (colon == std::string_view::npos) throw std::invalid_argument("expected field:Header items");
        auto field = item.substr(0, colon);
        auto header = item.substr(colon + 1);
        if (field.empty() || field.size() > 64 ||
            field.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
                std::string_view::npos)
            throw std::invalid_argument("a metadata field is 1..64 letters, digits, '-', '_' or '.'");
        if (header.empty() || header.size() > 64 || header.find_first_not_of(header_chars) != std::string_view::npos)
            throw std::invalid_argument("not a valid header name after '" + std::string(field) + ":'");
        for (const auto& [f, h] : out)
            if (f == field || h == header) throw std::invalid_argument("a field or header is named twice");
        out.emplace_back(field, header);
    }
    if (out.size() > 16) throw std::invalid_argument("at most 16 metadata headers");
    return out;
}

std::optional<std::string> reserved_header_reason(std::string_view name) {
    std::string n(name);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
    struct rule {
        std::string_view name;
        bool prefix;
        std::string_view why;
    };
    static constexpr std::string_view browser_state = "it sets state in the browser";
    static constexpr std::string_view redirects = "it redirects the client";
    static constexpr std::string_view routing = "it routes the request";
    static constexpr std::string_view caching = "it controls caching";
    static constexpr std::string_view framing = "it frames or describes the message body";
    static constexpr std::string_view hop = "it is a hop-by-hop header";
    static constexpr std::string_view credentials = "it carries or asks for credentials";
    static constexpr std::string_view own = "sessiond sets it itself";
    static constexpr std::string_view original = "it describes the original request to proxies and sessiond";
    static constexpr std::string_view proxy = "a proxy acts on it";
    static constexpr rule rules[] = {
        {"set-cookie", false, browser_state},
        {"set-cookie2", false, browser_state},
        {"clear-site-data", false, browser_state},
        {"strict-transport-security", false, browser_state},
        {"access-control-", true, browser_state},
        {"location", false, redirects},
        {"refresh", false, redirects},
        {"host", false, routing},
        {":", true, routing},
        {"cache-control", false, caching},
        {"pragma", false, caching},
        {"expires", false, caching},
        {"age", false, caching},
        {"vary", false, caching},
        {"etag", false, caching},
        {"last-modified", false, caching},
        {"content-", true, framing},
        {"transfer-encoding", false, framing},
        {"trailer", false, framing},
        {"connection", false, hop},
        {"keep-alive", false, hop},
        {"te", false, hop},
        {"upgrade", false, hop},
        {"proxy-", true, hop},
        {"http2-settings", false, hop},
        {"authorization", false, credentials},
        {"cookie", false, credentials},
        {"www-authenticate", false, credentials},
        {"x-request-id", false, own},
        {"date", false, own},
        {"server", false, own},
        {"retry-after", false, own},
        {"forwarded", false, original},
        {"x-forwarded-", true, original},
        {"x-original-", true, original},
        {"x-real-ip", false, original},
        {"x-accel-", true, proxy},
        {"x-sendfile", false, proxy},
        {"x-envoy-", true, proxy},
    };
    for (const auto& r : rules)
        if (r.prefix ? n.starts_with(r.name) : n == r.name)
            return std::string("cannot carry session data: ") + std::string(r.why);
    return std::nullopt;
}

std::vector<std::string> parse_host_list(std::string_view text) {
    std::vector<std::string> out;
    for (auto item : list_items(text)) {
        auto name = item.starts_with("*.") ? item.substr(2) : item;
        if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
            name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") !=
                std::string_view::npos)
            throw std::invalid_argument("expected host names or *.domain entries, without ports or schemes");
        std::string host(item);
        std::transform(host.begin(), host.end(), host.begin(), [](unsigned char ch) { return std::tolower(ch); });
        out.push_back(std::move(host));
    }
    return out;
}

std::chrono::milliseconds parse_duration(std::string_view text) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data())
        throw std::invalid_argument("expected a duration such as 250ms, 10s, 5m, 1h or 2d");
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = 0;
    if (unit == "ms")
        scale = 1;
    else if (unit == "s")
        scale = 1000;
    else if (unit == "m")
        scale = 60'000;
    else if (unit == "h")
        scale = 3'600'000;
    else if (unit == "d")
        scale = 86'400'000;
    else
        throw std::invalid_argument("expected a duration with a unit: ms, s, m, h or d (as in 10s)");
    if (n > std::numeric_limits<std::int64_t>::max() / scale / 1000) throw std::invalid_argument("duration too large");
    return std::chrono::milliseconds(static_cast<std::int64_t>(n * scale));
}

namespace {

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

// How a value of type T is read from and written to text.
template <class T>
struct value_codec;

template <>
struct value_codec<std::string> {
    static std::string parse(const std::string& s) { return s; }
    static std::string format(const std::string& v) { return v; }
};

template <>
struct value_codec<bool> {
    static bool parse(const std::string& s) {
        if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
        if (s == "false" || s == "0" || s == "no" || s == "off") return false;
        throw std::invalid_argument("expected true or false");
    }
    static std::string format(bool v) { return v ? "true" : "false"; }
};

template <class Int>
requires std::is_integral_v<Int>
struct value_codec<Int> {
    static Int parse(const std::string& s) {
        Int v{};
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc::result_out_of_range) throw std::invalid_argument("out of range");
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
            throw std::invalid_argument("expected a non-negative integer");
        return v;
    }
    static std::string format(Int v) { return std::to_string(v); }
};

template <>
struct value_codec<std::chrono::milliseconds> {
    static std::chrono::milliseconds parse(const std::string& s) { return parse_duration(s); }
    static std::string format(std::chrono::milliseconds v) { return format_duration(v); }
};

template <>
struct value_codec<double> {
    static double parse(const std::string& s) {
        double v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
            throw std::invalid_argument("expected a number");
        return v;
    }
    static std::string format(double v) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        return std::string(buf, end);
    }
};

template <>
struct value_codec<log_format> {
    static log_format parse(const std::string& s) {
        if (s == "json") return log_format::json;
        if (s == "text") return log_format::text;
        throw std::invalid_argument("expected json or text");
    }
    static std::string format(log_format v) { return v == log_format::json ? "json" : "text"; }
};

// One configuration option: its name everywhere (flag --name, environment
// SESSIOND_NAME with '-' as '_', file "name = value"), and how it maps to the struct.
struct option_def {
    std::string name;
    std::string help;
    std::function<void(config&, const std::string&)> set;
    std::function<std::string(const config&)> get;
    bool secret = false;
    bool flag = false;  // may be given on the command line without a value
};

template <class T>
option_def opt(std::string name, std::string help, T& (*field)(config&), bool secret = false) {
    option_def d;
    d.name = std::move(name);
    d.help = std::move(help);
    d.set = [field](config& c, const std::string& s) { field(c) = value_codec<T>::parse(s); };
    d.get = [field](const config& c) { return value_codec<T>::format(field(const_cast<config&>(c))); };
    d.secret = secret;
    d.flag = std::is_same_v<T, bool>;
    return d;
}

#define SESSIOND_FIELD(type, expr) (+[](config& c) -> type& { return c.expr; })

const std::vector<option_def>& options() {
    using ms = std::chrono::milliseconds;
    static const std::vector<option_def> defs = {
        opt("address", "listen address (IPv4 or IPv6 literal)", SESSIOND_FIELD(std::string, http.address)),
        opt("port", "listen port (0 = any free port)", SESSIOND_FIELD(std::uint16_t, http.port)),
        opt("tls-cert-file", "HTTPS: certificate chain (PEM); the listener then speaks TLS only; reloaded on SIGHUP",
            SESSIOND_FIELD(std::string, http.tls_cert_file)),
        opt("tls-key-file", "HTTPS: private key (PEM) of tls-cert-file",
            SESSIOND_FIELD(std::string, http.tls_key_file)),
        opt("tls-min-version", "HTTPS: oldest TLS version accepted: 1.2 or 1.3",
            SESSIOND_FIELD(std::string, http.tls_min_version)),
        opt("tls-client-ca-file", "mTLS: CA bundle (PEM) that signs callers' client certificates",
            SESSIOND_FIELD(std::string, http.tls_client_ca_file)),
        opt("tls-client-auth", "mTLS: none, optional (API keys still accepted) or require",
            SESSIOND_FIELD(std::string, http.tls_client_auth)),
        opt("ops-address", "operations listener address (plain HTTP: /healthz, /readyz, /metrics)",
            SESSIOND_FIELD(std::string, http.ops_address)),
        opt("ops-port", "operations listener port (0 = none; with one, /metrics is served there only)",
            SESSIOND_FIELD(std::uint16_t, http.ops_port)),
        opt("io-threads", "I/O threads (0 = one per CPU the process may use: affinity mask, cgroup quota)",
            SESSIOND_FIELD(std::size_t, http.io_threads)),
        opt("max-connections",
            "open connections at most; at the limit the oldest idle keep-alive connection is closed to make "
            "room, else new ones get 503 too_many_connections (health probes are still answered)",
            SESSIOND_FIELD(std::size_t, http.max_connections)),
        opt("max-connections-per-client",
            "open connections per client address (IPv6: per /64) at most; beyond, 503 (0 = no cap; raise it "
            "behind a proxy, whose connections all come from its own address)",
            SESSIOND_FIELD(std::size_t, http.max_connections_per_client)),
        opt("max-header-bytes", "request header size limit (beyond: 431)",
            SESSIOND_FIELD(std::size_t, http.max_header_bytes)),
        opt("max-body-bytes", "request body size limit (beyond: 413)",
            SESSIOND_FIELD(std::size_t, http.max_body_bytes)),
        opt("read-timeout", "time to receive a whole request once it began (beyond: 408, then close)",
            SESSIOND_FIELD(ms, http.read_timeout)),
        opt("idle-timeout", "keep-alive connection closed after this long without a request",
            SESSIOND_FIELD(ms, http.idle_timeout)),
        opt("write-timeout", "time to send a response", SESSIOND_FIELD(ms, http.write_timeout)),
        opt("drain-timeout", "on SIGTERM/SIGINT, how long in-flight requests may take to finish",
            SESSIOND_FIELD(ms, http.drain_timeout)),
        opt("request-id-header", "header carrying the request id (taken from the request or generated)",
            SESSIOND_FIELD(std::string, http.request_id_header)),
        opt("log-format", "json or text", SESSIOND_FIELD(log_format, log.format)),
        opt("log-level", "trace, debug, info, warn, error or off", SESSIOND_FIELD(std::string, log.level)),
        opt("access-log", "one log line per request", SESSIOND_FIELD(bool, log.access_log)),
        opt("log-queue-size", "async log queue length; when full the oldest line is dropped",
            SESSIOND_FIELD(std::size_t, log.queue_size)),
        opt("redis-url",
            "redis://[[user]:password@]host:port[/db] or rediss://... (empty = embedded in-memory store); a lone "
            "userinfo (redis://password@host) is the password. Sentinel: "
            "redis+sentinel://[userinfo@]sentinel:26379[,sentinel:port...]/master-name[/db]; Cluster: "
            "redis+cluster://[userinfo@]node:6379[,node:port...] (rediss+... with TLS); userinfo is the data nodes'",
            SESSIOND_FIELD(std::string, store.redis_url), true),
        opt("redis-sentinel-user", "Sentinel: ACL user on the sentinels (empty = none)",
            SESSIOND_FIELD(std::string, store.redis_sentinel_user)),
        opt("redis-sentinel-password", "Sentinel: the sentinels' password (empty = no AUTH to the sentinels)",
            SESSIOND_FIELD(std::string, store.redis_sentinel_password), true),
        opt("redis-sentinel-password-file", "Sentinel: file holding the sentinels' password",
            SESSIOND_FIELD(std::string, store.redis_sentinel_password_file)),
        opt("redis-topology-refresh",
            "Sentinel/Cluster: ask for the primary / slot map this often even without a sign of change",
            SESSIOND_FIELD(ms, store.redis_topology_refresh)),
        opt("redis-wait-replicas",
            "durable writes: replicas that must acknowledge each create, rotate and revoke (WAIT); 0 = off",
            SESSIOND_FIELD(unsigned, store.redis_wait_replicas)),
        opt("redis-wait-timeout", "durable writes: how long to wait for the acknowledgements (beyond: 503)",
            SESSIOND_FIELD(ms, store.redis_wait_timeout)),
        opt("redis-password-file", "file holding the Redis password (overrides the URL's)",
            SESSIOND_FIELD(std::string, store.redis_password_file)),
        opt("redis-tls-ca-file", "CA bundle to verify the Redis server (rediss://)",
            SESSIOND_FIELD(std::string, store.redis_tls_ca_file)),
        opt("redis-tls-cert-file", "client certificate for Redis (optional)",
            SESSIOND_FIELD(std::string, store.redis_tls_cert_file)),
        opt("redis-tls-key-file", "client private key for Redis (optional)",
            SESSIOND_FIELD(std::string, store.redis_tls_key_file)),
        opt("redis-tls-server-name", "name to verify in the Redis server certificate (empty = URL host)",
            SESSIOND_FIELD(std::string, store.redis_tls_server_name)),
        opt("redis-tls-verify", "verify the Redis server certificate and name (false: development mode only)",
            SESSIOND_FIELD(bool, store.redis_tls_verify)),
        opt("redis-connections", "Redis connections per I/O thread (0 = 1)",
            SESSIOND_FIELD(std::size_t, store.redis_connections)),
        opt("redis-connect-timeout", "Redis connect timeout", SESSIOND_FIELD(ms, store.redis_connect_timeout)),
        opt("redis-command-timeout", "Redis command timeout (beyond: 503 store_unavailable)",
            SESSIOND_FIELD(ms, store.redis_command_timeout)),
        opt("redis-max-in-flight", "Redis commands in flight per connection (beyond: 503 store_busy)",
            SESSIOND_FIELD(std::size_t, store.redis_max_in_flight)),
        opt("redis-key-prefix", "prefix of every Redis key, so deployments can share a Redis",
            SESSIOND_FIELD(std::string, store.redis_key_prefix)),
        opt("record-format",
            "Redis record format written: 4 (sealed, every previous token within its grace), 3 (beside instances "
            "that read only formats 2 and 3: one previous token) or 2 (during an upgrade from 0.1)",
            SESSIOND_FIELD(unsigned, store.record_format)),
        opt("record-accept-unsigned", "also read unsealed format-2 records (during an upgrade from 0.1)",
            SESSIOND_FIELD(bool, store.record_accept_unsigned)),
        opt("memory-max-sessions", "embedded store: sessions at most",
            SESSIOND_FIELD(std::size_t, store.memory_max_sessions)),
        opt("cache",
            "Redis store: answer validations from an in-process cache that Redis keeps correct (CLIENT TRACKING "
            "invalidations; without them every validation reads Redis)",
            SESSIOND_FIELD(bool, store.cache)),
        opt("cache-max-entries", "validation cache: session records kept at most (all I/O threads together)",
            SESSIOND_FIELD(std::size_t, store.cache_max_entries)),
        opt("cache-max-age", "validation cache: how long a record is kept at most before it is read again",
            SESSIOND_FIELD(ms, store.cache_max_age)),
        opt("token-keys", "token keys kid:base64key[,kid:base64key...] (>= 32 bytes each); all accepted",
            SESSIOND_FIELD(std::string, token.keys), true),
        opt("token-keys-file", "file holding token-keys", SESSIOND_FIELD(std::string, token.keys_file)),
        opt("token-signing-kid", "key id that signs new tokens (0 = the highest)",
            SESSIOND_FIELD(unsigned, token.signing_kid)),
        opt("user-index-key", "base64 key (>= 32 bytes) hashing user ids; never change it",
            SESSIOND_FIELD(std::string, token.user_index_key), true),
        opt("user-index-key-file", "file holding user-index-key",
            SESSIOND_FIELD(std::string, token.user_index_key_file)),
        opt("token-prefix", "prefix of every token, for secret scanners", SESSIOND_FIELD(std::string, token.prefix)),
        opt("session-idle-timeout", "default sliding idle timeout of a session",
            SESSIOND_FIELD(ms, session.idle_timeout)),
        opt("session-absolute-timeout", "default absolute lifetime of a session",
            SESSIOND_FIELD(ms, session.absolute_timeout)),
        opt("session-max-idle-timeout", "largest idle timeout a creator may ask for",
            SESSIOND_FIELD(ms, session.max_idle_timeout)),
        opt("session-max-absolute-timeout", "largest absolute timeout a creator may ask for",
            SESSIOND_FIELD(ms, session.max_absolute_timeout)),
        opt("touch-fraction", "extend idle expiry only after this fraction of the idle window passed (0 = always)",
            SESSIOND_FIELD(double, session.touch_fraction)),
        opt("rotation-grace", "how long the previous token stays valid after a rotation",
            SESSIOND_FIELD(ms, session.rotation_grace)),
        opt("max-sessions-per-user", "sessions per user at most (0 = no limit)",
            SESSIOND_FIELD(std::size_t, session.max_per_user)),
        opt("session-limit-policy", "at the per-user limit: evict_lru or reject (409)",
            SESSIOND_FIELD(std::string, session.limit_policy)),
        opt("metadata-max-bytes", "largest session metadata, serialized (beyond: 400)",
            SESSIOND_FIELD(std::size_t, session.metadata_max_bytes)),
        opt("api-keys",
            "callers: name=sha256hex:scope[,scope...] entries separated by ';' (see sessiond keygen); "
            "assertions:mint:<audience> and assertions:redeem:<audience> bind a caller to audiences",
            SESSIOND_FIELD(std::string, auth.api_keys), true),
        opt("api-keys-file", "file holding api-keys entries, one per line",
            SESSIOND_FIELD(std::string, auth.api_keys_file)),
        opt("tls-callers",
            "mTLS callers: 'name kind:value scope[,scope...]' entries separated by ';' (kind: uri for a URI SAN "
            "such as a SPIFFE id, dns for a DNS SAN, cn for the subject CN)",
            SESSIOND_FIELD(std::string, auth.tls_callers)),
        opt("api-key-header", "header carrying the caller's API key", SESSIOND_FIELD(std::string, auth.api_key_header)),
        opt("auth-user-header", "/v1/auth: header naming the session's user",
            SESSIOND_FIELD(std::string, auth.user_header)),
        opt("auth-id-header", "/v1/auth: header naming the session's public id",
            SESSIOND_FIELD(std::string, auth.id_header)),
        opt("auth-metadata-headers",
            "/v1/auth: session metadata fields sent as headers, field:Header[,field:Header...] (strings "
            "percent-encoded as the user header, numbers and booleans as JSON; empty for other values and missing "
            "fields)",
            SESSIOND_FIELD(std::string, auth.metadata_headers)),
        opt("auth-login-url",
            "/v1/auth: absolute http(s) URL a browser (Accept: text/html) that would get 401 is redirected to (302), "
            "with the original URL as a query parameter (empty = never redirect)",
            SESSIOND_FIELD(std::string, auth.login_url)),
        opt("auth-redirect-hosts",
            "/v1/auth: hosts whose URLs may be sent to the login page, host[,*.domain...] (any other: plain 401)",
            SESSIOND_FIELD(std::string, auth.redirect_hosts)),
        opt("auth-redirect-param", "/v1/auth: the login URL's query parameter holding the original URL",
            SESSIOND_FIELD(std::string, auth.redirect_param)),
        opt("auth-original-headers",
            "/v1/auth: header families describing the original request, most trusted first: x-original "
            "(X-Original-URL, X-Original-Method: nginx) and x-forwarded (X-Forwarded-Method, -Proto, -Host, -Uri: "
            "Traefik, Caddy); the first one present is the only one read (empty = none; below /v1/auth the request "
            "line always is)",
            SESSIOND_FIELD(std::string, auth.original_headers)),
        opt("auth-assertion-audience",
            "/v1/auth: add a signed assertion for this audience to every 200 (empty = none; needs assertion-keys)",
            SESSIOND_FIELD(std::string, auth.assertion_audience)),
        opt("auth-assertion-header", "/v1/auth: the header carrying that assertion",
            SESSIOND_FIELD(std::string, auth.assertion_header)),
        opt("assertion-keys",
            "signed assertions (JWT): kid:path[,kid:path...] of PEM private keys, Ed25519 (EdDSA) or P-256 (ES256), "
            "all published in /.well-known/jwks.json (empty = assertions off)",
            SESSIOND_FIELD(std::string, assertion.keys)),
        opt("assertion-signing-kid", "the kid of assertion-keys that signs (required with several keys)",
            SESSIOND_FIELD(std::string, assertion.signing_kid)),
        opt("assertion-issuer", "the iss claim of every assertion (required with assertion-keys)",
            SESSIOND_FIELD(std::string, assertion.issuer)),
        opt("assertion-audiences", "aud values callers may ask for, comma-separated (required with assertion-keys)",
            SESSIOND_FIELD(std::string, assertion.audiences)),
        opt("assertion-ttl", "lifetime of an assertion unless the caller asks for less or more",
            SESSIOND_FIELD(ms, assertion.ttl)),
        opt("assertion-max-ttl", "the longest lifetime a caller may ask for (at most 1d)",
            SESSIOND_FIELD(ms, assertion.max_ttl)),
        opt("assertion-claims", "top-level session metadata fields copied as claims, comma-separated",
            SESSIOND_FIELD(std::string, assertion.claims)),
        opt("assertion-jwks-max-age", "Cache-Control max-age of /.well-known/jwks.json",
            SESSIOND_FIELD(ms, assertion.jwks_max_age)),
        opt("cookie-name", "session cookie name (read by /v1/auth, built in create/rotate replies)",
            SESSIOND_FIELD(std::string, cookie.name)),
        opt("cookie-path", "cookie Path", SESSIOND_FIELD(std::string, cookie.path)),
        opt("cookie-domain", "cookie Domain (empty = host-only)", SESSIOND_FIELD(std::string, cookie.domain)),
        opt("cookie-secure", "cookie Secure attribute", SESSIOND_FIELD(bool, cookie.secure)),
        opt("cookie-http-only", "cookie HttpOnly attribute", SESSIOND_FIELD(bool, cookie.http_only)),
        opt("cookie-same-site", "cookie SameSite: Strict, Lax or None", SESSIOND_FIELD(std::string, cookie.same_site)),
        opt("development", "development mode: allows insecure settings, on loopback only",
            SESSIOND_FIELD(bool, development)),
    };
    return defs;
}

}  // namespace

std::vector<std::string> parse_list(std::string_view text) {
    std::vector<std::string> out;
    if (text.find_first_not_of(" \t") == std::string_view::npos) return out;
    for (auto entry : list_items(text)) {
        if (entry.size() > 256 || std::any_of(entry.begin(), entry.end(), [](unsigned char ch) {
                return ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\';
            }))
            throw std::invalid_argument("an entry is longer than 256 bytes or holds a control character, '\"' or '\\'");
        out.emplace_back(entry);
    }
    return out;
}

std::vector<header_family> parse_original_headers(std::string_view text) {
    std::vector<header_family> out;
    for (const auto& entry : parse_list(text)) {
        std::string name(entry);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
        header_family f{};
        if (name == "x-original")
            f = header_family::x_original;
        else if (name == "x-forwarded")
            f = header_family::x_forwarded;
        else
            throw std::invalid_argument("expected x-original and/or x-forwarded, comma-separated");
        if (std::find(out.begin(), out.end(), f) != out.end()) throw std::invalid_argument(name + " is named twice");
        out.push_back(f);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_assertion_keys(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : parse_list(text)) {
        const auto colon = entry.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size())
            throw std::invalid_argument("expected kid:path entries");
        out.emplace_back(entry.substr(0, colon), entry.substr(colon + 1));
    }
    return out;
}

namespace {

std::string env_name(const std::string& option) {
    std::string n = "SESSIOND_";
    for (char ch : option)
        n += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return n;
}

// `sources` says where each option that is not a default came from, so the
// message can point at the flag, variable or file to fix.
void validate(const config& c, const std::map<std::string, std::string>& sources) {
    auto fail = [&](const std::string& option, const std::string& why) {
        auto it = sources.find(option);
        std::string from = it == sources.end() ? "" : " (" + it->second + ")";
        throw config_error("invalid value for '" + option + "'" + from + ": " + why);
    };
    boost::system::error_code ec;
    boost::asio::ip::make_address(c.http.address, ec);
    if (ec) fail("address", "'" + c.http.address + "' is not an IP address");
    if (c.http.io_threads > 256) fail("io-threads", "at most 256");
    if (c.http.tls_cert_file.empty() != c.http.tls_key_file.empty())
        fail(c.http.tls_cert_file.empty() ? "tls-cert-file" : "tls-key-file",
             "tls-cert-file and tls-key-file are set together");
    if (c.http.tls_min_version != "1.2" && c.http.tls_min_version != "1.3")
        fail("tls-min-version", "expected 1.2 or 1.3");
    if (c.http.tls_client_auth != "none" && c.http.tls_client_auth != "optional" && c.http.tls_client_auth != "require")
        fail("tls-client-auth", "expected none, optional or require");
    if (c.http.tls_client_auth != "none" && c.http.tls_cert_file.empty())
        fail("tls-client-auth", "client certificates need HTTPS (tls-cert-file and tls-key-file)");
    if (c.http.tls_client_auth != "none" && c.http.tls_client_ca_file.empty())
        fail("tls-client-ca-file", "required when tls-client-auth is optional or require");
    if (c.http.ops_port != 0) {
        boost::asio::ip::make_address(c.http.ops_address, ec);
        if (ec) fail("ops-address", "'" + c.http.ops_address + "' is not an IP address");
        if (c.http.ops_port == c.http.port && c.http.ops_address == c.http.address)
            fail("ops-port", "must differ from the main listener's port");
    }
    if (c.http.max_connections == 0) fail("max-connections", "must be at least 1");
    if (c.http.max_header_bytes < 512) fail("max-header-bytes", "must be at least 512");
    if (c.http.max_body_bytes < 1024) fail("max-body-bytes", "must be at least 1024");
    if (c.http.max_body_bytes > 64 * 1024 * 1024) fail("max-body-bytes", "at most 64 MiB");
    auto positive = [&](const char* name, std::chrono::milliseconds d) {
        if (d.count() <= 0) fail(name, "must be greater than zero");
    };
    positive("read-timeout", c.http.read_timeout);
    positive("idle-timeout", c.http.idle_timeout);
    positive("write-timeout", c.http.write_timeout);
    positive("redis-connect-timeout", c.store.redis_connect_timeout);
    positive("redis-command-timeout", c.store.redis_command_timeout);
    if (c.http.request_id_header.empty()) fail("request-id-header", "must not be empty");
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (std::find(std::begin(levels), std::end(levels), c.log.level) == std::end(levels))
        fail("log-level", "expected trace, debug, info, warn, error or off");
    if (c.log.queue_size < 16) fail("log-queue-size", "must be at least 16");
    if (c.store.redis_max_in_flight == 0) fail("redis-max-in-flight", "must be at least 1");
    if (c.store.memory_max_sessions == 0) fail("memory-max-sessions", "must be at least 1");
    if (c.store.record_format < 2 || c.store.record_format > 5) fail("record-format", "expected 2, 3, 4 or 5");
    if (c.store.record_format == 2 && !c.store.record_accept_unsigned)
        fail("record-format", "2 needs record-accept-unsigned, or this instance could not read its own records");
    if (c.token.signing_kid > 255) fail("token-signing-kid", "at most 255");
    // The token prefix and the session policy are checked by the domain
    // itself at start-up (session::token_codec, session::validate), once.
    if (c.session.limit_policy != "evict_lru" && c.session.limit_policy != "reject")
        fail("session-limit-policy", "expected evict_lru or reject");
    if (c.session.metadata_max_bytes < 2 || c.session.metadata_max_bytes > 1024 * 1024)
        fail("metadata-max-bytes", "must be in 2..1048576");
    auto header_name = [&](const char* option, const std::string& v) {
        if (v.empty() || v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                             std::string::npos)
            fail(option, "not a valid header name");
    };
    header_name("request-id-header", c.http.request_id_header);
    header_name("api-key-header", c.auth.api_key_header);
    header_name("auth-user-header", c.auth.user_header);
    header_name("auth-id-header", c.auth.id_header);
    header_name("auth-assertion-header", c.auth.assertion_header);
    {
        auto whole_seconds = [&](const char* option, std::chrono::milliseconds v) {
            if (v.count() < 1000 || v.count() % 1000 != 0)
                fail(option, "must be a whole number of seconds, at least 1s");
        };
        whole_seconds("assertion-ttl", c.assertion.ttl);
        whole_seconds("assertion-max-ttl", c.assertion.max_ttl);
        // Redemption refuses an assertion that lives longer (service::max_assertion_lifetime).
        if (c.assertion.max_ttl > std::chrono::hours(24)) fail("assertion-max-ttl", "must not exceed 1d");
        if (c.assertion.jwks_max_age.count() < 0 || c.assertion.jwks_max_age.count() % 1000 != 0)
            fail("assertion-jwks-max-age", "must be a whole number of seconds");
        if (c.assertion.ttl > c.assertion.max_ttl) fail("assertion-ttl", "must not exceed assertion-max-ttl");
        std::vector<std::pair<std::string, std::string>> keys;
        try {
            keys = parse_assertion_keys(c.assertion.keys);
        } catch (const std::invalid_argument& e) {
            fail("assertion-keys", e.what());
        }
        std::vector<std::string> audiences;
        try {
            audiences = parse_list(c.assertion.audiences);
            parse_list(c.assertion.claims);
        } catch (const std::invalid_argument& e) {
            fail(audiences.empty() ? "assertion-audiences" : "assertion-claims", e.what());
        }
        if (!keys.empty()) {
            if (c.assertion.issuer.empty()) fail("assertion-issuer", "required with assertion-keys");
            if (audiences.empty()) fail("assertion-audiences", "required with assertion-keys");
        }
        if (!c.auth.assertion_audience.empty() && keys.empty()) fail("auth-assertion-audience", "needs assertion-keys");
    }
    // The headers of a /v1/auth 200, which proxies copy to the upstream
    // request (and some to the client): none may be a header that frames,
    // routes or redirects a message, sets browser state, carries
    // credentials, or describes the original request.
    auto same_name = [](const std::string& a, const std::string& b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
                   return std::tolower(x) == std::tolower(y);
               });
    };
    for (auto [option, header] : {std::pair<const char*, const std::string*>{"auth-user-header", &c.auth.user_header},
                                  {"auth-id-header", &c.auth.id_header},
                                  {"auth-assertion-header", &c.auth.assertion_header}})
        if (auto why = reserved_header_reason(*header)) fail(option, "header " + *header + " " + *why);
    if (same_name(c.auth.user_header, c.auth.id_header)) fail("auth-id-header", "must differ from auth-user-header");
    std::vector<std::pair<std::string, std::string>> metadata_headers;
    try {
        metadata_headers = parse_metadata_headers(c.auth.metadata_headers);
    } catch (const std::invalid_argument& e) {
        fail("auth-metadata-headers", e.what());
    }
    for (const auto& entry : metadata_headers) {
        const std::string& header = entry.second;
        if (auto why = reserved_header_reason(header)) fail("auth-metadata-headers", "header " + header + " " + *why);
        for (auto [option, other] :
             {std::pair<const char*, const std::string*>{"auth-user-header", &c.auth.user_header},
              {"auth-id-header", &c.auth.id_header},
              {"auth-assertion-header", &c.auth.assertion_header},
              {"api-key-header", &c.auth.api_key_header},
              {"request-id-header", &c.http.request_id_header}})
            if (same_name(*other, header))
                fail("auth-metadata-headers", "header " + header + " is already the " + option + " header");
    }
    try {
        parse_original_headers(c.auth.original_headers);
    } catch (const std::invalid_argument& e) {
        fail("auth-original-headers", e.what());
    }
    std::vector<std::string> redirect_hosts;
    try {
        redirect_hosts = parse_host_list(c.auth.redirect_hosts);
    } catch (const std::invalid_argument& e) {
        fail("auth-redirect-hosts", e.what());
    }
    if (!c.auth.login_url.empty()) {
        const auto& u = c.auth.login_url;
        bool visible = std::all_of(u.begin(), u.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
        if (!visible || u.size() > 2048 || !(u.starts_with("https://") || u.starts_with("http://")) ||
            u.find('#') != std::string::npos)
            fail("auth-login-url", "expected an absolute http:// or https:// URL without spaces or a fragment");
        if (redirect_hosts.empty())
            fail("auth-redirect-hosts", "auth-login-url needs the hosts whose URLs may be redirected to it");
    }
    if (c.auth.redirect_param.empty() || c.auth.redirect_param.size() > 64 ||
        c.auth.redirect_param.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
            std::string::npos)
        fail("auth-redirect-param", "expected 1..64 letters, digits, '-', '_' or '.'");
    if (c.cookie.name.empty() || c.cookie.name.find_first_of("()<>@,;:\\\"/[]?={} \t") != std::string::npos)
        fail("cookie-name", "not a valid cookie name");
    if (c.cookie.same_site != "Strict" && c.cookie.same_site != "Lax" && c.cookie.same_site != "None")
        fail("cookie-same-site", "expected Strict, Lax or None");
    if (c.cookie.same_site == "None" && !c.cookie.secure) fail("cookie-same-site", "None requires cookie-secure");
    if (c.cookie.name.rfind("__Host-", 0) == 0 &&
        (!c.cookie.secure || c.cookie.path != "/" || !c.cookie.domain.empty()))
        fail("cookie-name", "a __Host- cookie needs cookie-secure, cookie-path / and no cookie-domain");
    if (c.cookie.name.rfind("__Secure-", 0) == 0 && !c.cookie.secure)
        fail("cookie-name", "a __Secure- cookie needs cookie-secure");
    if (c.cookie.path.find_first_of(";\r\n") != std::string::npos)
        fail("cookie-path", "must not contain ';' or line breaks");
    if (c.cookie.domain.find_first_of(";\r\n") != std::string::npos)
        fail("cookie-domain", "must not contain ';' or line breaks");
    // Like development mode itself, switching off what makes a setting safe
    // is for a developer's machine only.
    if (!c.store.redis_tls_verify && !c.development)
        fail("redis-tls-verify",
             "false is allowed in development mode only: without verification anyone on the network path can pose "
             "as Redis and read or forge every session");
    if (c.development) {
        boost::system::error_code ec2;
        auto a = boost::asio::ip::make_address(c.http.address, ec2);
        if (!ec2 && !a.is_loopback()) fail("development", "development mode listens on loopback addresses only");
    }
    if (!c.store.redis_url.empty()) {
        static constexpr std::string_view schemes[] = {"redis://",           "rediss://",        "redis+sentinel://",
                                                       "rediss+sentinel://", "redis+cluster://", "rediss+cluster://"};
        bool known = false;
        for (auto s : schemes)
            known = known || c.store.redis_url.starts_with(s);
        if (!known)
            fail("redis-url",
                 "must start with redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or "
                 "rediss+cluster://");
    }
    const bool sentinel_url =
        c.store.redis_url.starts_with("redis+sentinel://") || c.store.redis_url.starts_with("rediss+sentinel://");
    if (!sentinel_url && (!c.store.redis_sentinel_user.empty() || !c.store.redis_sentinel_password.empty() ||
                          !c.store.redis_sentinel_password_file.empty()))
        fail("redis-sentinel-password", "the sentinel options need a redis+sentinel:// URL");
    if (c.store.cache && (c.store.cache_max_entries == 0 || c.store.cache_max_age.count() <= 0))
        fail("cache-max-entries", "cache-max-entries and cache-max-age must be positive while cache is on");
    if (c.store.redis_wait_replicas > 0 &&
        (c.store.redis_wait_timeout.count() <= 0 || c.store.redis_wait_timeout >= c.store.redis_command_timeout))
        fail("redis-wait-timeout",
             "must be positive and shorter than redis-command-timeout when redis-wait-replicas is set (WAIT holds "
             "its connection for up to this long)");
}

// Keeps what an operator needs to read (a URL's scheme and host) and hides
// the secret part: a URL's whole userinfo (a lone userinfo is a password in
// the Redis URI convention, and a user name says which credentials to try),
// or the whole value.
std::string redact(const std::string& value) {
    auto scheme = value.find("://");
    if (scheme == std::string::npos) return "<redacted>";
    auto at = value.rfind('@');
    if (at == std::string::npos || at < scheme) return value;
    return value.substr(0, scheme + 3) + "<redacted>" + value.substr(at);
}

std::string help_text() {
    std::ostringstream out;
    out << "usage: sessiond [options]\n"
           "\n"
           "Session-service daemon: issues, validates, rotates and revokes opaque session tokens.\n"
           "Each option may also come from the environment (SESSIOND_<NAME>, '-' as '_') or from\n"
           "the config file (name = value); a flag wins over the environment, which wins over the file.\n"
           "\n"
           "  --config FILE        config file (also SESSIOND_CONFIG)\n"
           "  --check-config       validate, print the effective configuration (secrets redacted), exit\n"
           "  --help               this text\n"
           "  --version            print the version\n"
           "\n";
    config defaults;
    for (const auto& o : options()) {
        std::string lhs = "  --" + o.name + (o.flag ? "[=BOOL]" : " VALUE");
        out << lhs;
        for (std::size_t i = lhs.size(); i < 34; ++i)
            out << ' ';
        out << ' ' << o.help;
        std::string def = o.secret ? "" : o.get(defaults);
        out << " [default: " << (def.empty() ? "\"\"" : def) << "]\n";
    }
    return out.str();
}

}  // namespace

namespace {

// How far apart two names are (Levenshtein distance), for suggestions.
// `b` is a known option's name: short, so the row lives on the stack.
std::size_t distance(std::string_view a, std::string_view b) {
    std::array<std::size_t, 64> row{};
    if (b.size() >= row.size()) return std::max(a.size(), b.size());
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

bool known_option(std::string_view name) {
    if (name == "config") return true;
    for (const auto& o : options())
        if (o.name == name) return true;
    return false;
}

// " (did you mean 'X'?)" for the known option closest to `name`, if one is
// close. Only a known name is shown, never what was written.
std::string suggestion(std::string_view name, std::string_view dashes) {
    const option_def* best = nullptr;
    std::size_t best_distance = 3;  // at most two edits
    for (const auto& o : options()) {
        // The lengths' difference is a lower bound of the distance: a long
        // name costs no comparison.
        auto longer = std::max(name.size(), o.name.size()), shorter = std::min(name.size(), o.name.size());
        if (longer - shorter >= best_distance) continue;
        if (auto d = distance(name, o.name); d < best_distance) {
            best_distance = d;
            best = &o;
        }
    }
    if (!best) return {};
    return " (did you mean '" + std::string(dashes) + best->name + "'?)";
}

// An option name as written on the command line, when it may be shown: the
// part before any '=' (the value may be a secret: --token-key=1:<key>), and
// only if it looks like an option name (a key or password pasted in its
// place is not echoed). Empty when it must not be shown.
std::string shown_name(std::string text) {
    if (auto eq = text.find('='); eq != std::string::npos) text.resize(eq);
    auto bare = std::string_view(text);
    while (bare.starts_with('-'))
        bare.remove_prefix(1);
    if (bare.empty() || bare.size() > 48 ||
        bare.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
        return {};
    return text;
}

// program_options' message for `e`, rewritten so that nothing the user wrote
// is echoed but a plausible option name: its own messages quote the whole
// token ("option '--token-key=1:<key>' is ambiguous") or a config line (a
// bare key pasted on a line of its own), and a typo must not print a secret
// to a terminal, a CI log or a journal.
//
// Its what() also fills a template's placeholders (%canonical_option%,
// %invalid_line%, ...) by replacing each until none is left, which never
// ends when the text put in holds a placeholder itself (Boost 1.81): a config
// line or a flag named "%canonical_option%" hung sessiond at start. what() is
// therefore called only on errors that quote nothing.
std::string message_of(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    if (!named) return e.what();
    if (dynamic_cast<const po::invalid_config_file_syntax*>(&e))
        return "invalid line: expected 'name = value' (the line is not shown: it may hold a secret)";
    const std::string raw = named->get_option_name();
    const std::string name = shown_name(raw);
    if (raw.substr(0, raw.find('=')).find('%') != std::string::npos)
        return "unrecognised or misused option (a '%' in an option name)";
    const std::string quoted = name.empty() ? std::string("an option") : "option '" + name + "'";
    if (dynamic_cast<const po::unknown_option*>(&e)) {
        if (name.empty()) return "unrecognised option (not shown: it may hold a secret)";
        auto bare = std::string_view(name);
        while (bare.starts_with('-'))
            bare.remove_prefix(1);
        return "unrecognised " + quoted + suggestion(bare, name.substr(0, name.size() - bare.size()));
    }
    if (const auto* ambiguous = dynamic_cast<const po::ambiguous_option*>(&e)) {
        std::string out = quoted + " is ambiguous: write the whole name of one of";
        for (const auto& alternative : ambiguous->alternatives())
            if (known_option(alternative)) out += " --" + alternative;
        return out;
    }
    if (dynamic_cast<const po::multiple_occurrences*>(&e)) return quoted + " is given more than once";
    if (const auto* syntax = dynamic_cast<const po::invalid_syntax*>(&e)) {
        switch (syntax->kind()) {
            case po::invalid_syntax::missing_parameter:
                return quoted + " needs a value";
            case po::invalid_syntax::extra_parameter:
                return quoted + " takes no value";
            default:
                return quoted + " is not written as --name=value or --name value";
        }
    }
    return "invalid value for " + quoted;
}

// What program_options would refuse in a config file's text, checked first
// so that the message can name the line without quoting it: a line that is
// not "name = value" or names no option is, as often as not, a key or a
// password pasted on a line of its own. Same reading as
// po::parse_config_file: '#' starts a comment, blanks around are trimmed.
void check_config_lines(std::string_view text) {
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        line = line.substr(0, line.find('#'));
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        const std::string where = "line " + std::to_string(number);
        if (line.front() == '[') throw config_error(where + ": sections ([name]) are not supported");
        const auto eq = line.find('=');
        if (eq == std::string_view::npos)
            throw config_error(where + ": expected 'name = value' (the line is not shown: it may hold a secret)");
        auto name = line.substr(0, eq);
        name = name.substr(0, name.find_last_not_of(" \t") + 1);
        if (!known_option(name))
            throw config_error(where + ": unknown option (not shown: it may hold a secret)" + suggestion(name, ""));
    }
}

// Every option as program_options sees it: a string value each ("config"
// too, which a file may name but which has no effect there).
po::options_description option_descriptions() {
    po::options_description desc;
    desc.add_options()("config", po::value<std::string>());
    for (const auto& o : options()) {
        auto* v = po::value<std::string>();
        if (o.flag) v->implicit_value("true");
        desc.add_options()(o.name.c_str(), v);
    }
    return desc;
}

// Wipes, on every way out of load_config, the copies of secret options'
// values (token keys, the user index key, the Redis URL) that parsing left
// in program_options' maps and ours; the config struct keeps the one copy
// the application parses and then wipes.
struct secret_values_wiper {
    std::vector<po::variables_map*> parsed;
    std::vector<std::map<std::string, std::string>*> texts;
    std::vector<std::string*> strings;
    ~secret_values_wiper() {
        for (const auto& o : options()) {
            if (!o.secret) continue;
            for (auto* m : parsed)
                if (auto it = m->find(o.name); it != m->end())
                    if (auto* v = boost::any_cast<std::string>(&it->second.value())) secure_wipe(*v);
            for (auto* m : texts)
                if (auto it = m->find(o.name); it != m->end()) secure_wipe(it->second);
        }
        for (auto* s : strings)
            secure_wipe(*s);
    }
};

}  // namespace

std::map<std::string, std::string> parse_config_text(std::string_view text) {
    static const po::options_description desc = option_descriptions();
    po::variables_map file;
    check_config_lines(text);
    std::istringstream in{std::string(text)};
    std::string stream_copy;
    const secret_values_wiper wipe{{&file}, {}, {&stream_copy}};
    try {
        po::store(po::parse_config_file(in, desc, false), file);
    } catch (const po::error& e) {
        stream_copy = std::move(in).str();  // the stream's copy of the text, for the wiper
        throw config_error(message_of(e));
    }
    stream_copy = std::move(in).str();
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : file)
        out.emplace(name, value.as<std::string>());
    return out;
}

load_result load_config(int argc, const char* const* argv, const std::vector<std::string>& env) {
    load_result result;

    static const po::options_description cli_only = [] {
        po::options_description all;
        all.add(option_descriptions());
        all.add_options()("help,h", "")("version", "")("check-config", "");
        return all;
    }();

    po::variables_map cli;
    std::map<std::string, std::string> env_values, file;
    std::string value, file_text;
    const secret_values_wiper wipe{{&cli}, {&env_values, &file}, {&value, &file_text}};
    try {
        auto parsed = po::command_line_parser(argc, argv).options(cli_only).run();
        // A word that belongs to no option (a value after a flag that takes
        // none, a quote gone wrong) would otherwise be ignored in silence;
        // it is not shown, as it may be a secret.
        for (std::size_t i = 0; i < parsed.options.size(); ++i)
            if (parsed.options[i].position_key >= 0 || parsed.options[i].string_key.empty())
                throw config_error(
                    "command line: an argument that is not an option (not shown: it may hold a secret); values go "
                    "after their option, as --name=value or --name value");
        po::store(parsed, cli);
    } catch (const po::error& e) {
        throw config_error("command line: " + message_of(e));
    }
    if (cli.count("help")) {
        result.mode = run_mode::help;
        result.help_text = help_text();
        return result;
    }
    if (cli.count("version")) {
        result.mode = run_mode::version;
        return result;
    }
    if (cli.count("check-config")) result.mode = run_mode::check_config;

    // Environment: only names that belong to an option are read; an unknown
    // SESSIOND_ variable is most likely a typo and is refused.
    static const std::map<std::string, std::string> env_names = [] {
        std::map<std::string, std::string> names{{env_name("config"), "config"}};
        for (const auto& o : options())
            names[env_name(o.name)] = o.name;
        return names;
    }();
    for (const auto& kv : env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || kv.rfind("SESSIOND_", 0) != 0) continue;
        auto name = kv.substr(0, eq);
        auto it = env_names.find(name);
        if (it == env_names.end()) throw config_error("unknown environment variable " + name);
        env_values[it->second] = kv.substr(eq + 1);
    }

    std::string config_path;
    if (cli.count("config"))
        config_path = cli["config"].as<std::string>();
    else if (env_values.count("config"))
        config_path = env_values["config"];
    if (!config_path.empty()) {
        // Bounded, and never blocking on a FIFO; leaves no copy behind.
        auto text = read_secret_file(config_path, list_file_max_bytes);
        if (!text) {
            std::string why = text.error().message();
            if (text.error() == file_errc::too_large) why += " (4 MiB)";
            throw config_error("cannot read config file '" + config_path + "': " + why);
        }
        file_text = std::move(*text);
        try {
            file = parse_config_text(file_text);
        } catch (const config_error& e) {
            throw config_error("config file '" + config_path + "': " + e.what());
        }
        result.cfg.config_file = config_path;
    }

    std::map<std::string, std::string> sources;
    for (const auto& o : options()) {
        std::string source;
        secure_wipe(value);
        if (cli.count(o.name)) {
            value = cli[o.name].as<std::string>();
            source = "flag --" + o.name;
        } else if (env_values.count(o.name)) {
            value = env_values[o.name];
            source = "environment " + env_name(o.name);
        } else if (file.count(o.name)) {
            value = file[o.name];
            source = "config file";
        } else {
            continue;
        }
        try {
            o.set(result.cfg, value);
        } catch (const std::invalid_argument& e) {
            throw config_error("invalid value for '" + o.name + "' (" + source + "): " + e.what());
        }
        sources[o.name] = source;
    }
    validate(result.cfg, sources);
    return result;
}

void wipe_secret_arguments(int argc, char** argv, char** envp) noexcept {
    auto secret = [](std::string_view name, bool env) {
        for (const auto& o : options())
            if (o.secret && (env ? env_name(o.name) == name : o.name == name)) return true;
        return false;
    };
    auto wipe_after = [](char* s, std::size_t at) { secure_wipe(s + at, std::strlen(s) - at); };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (!arg.starts_with("--")) continue;
        const std::size_t eq = arg.find('=');
        if (eq != std::string_view::npos) {
            if (secret(arg.substr(2, eq - 2), false)) wipe_after(argv[i], eq + 1);
        } else if (secret(arg.substr(2), false) && i + 1 < argc) {
            wipe_after(argv[++i], 0);
        }
    }
    for (char** e = envp; e && *e; ++e) {
        const std::string_view kv(*e);
        const std::size_t eq = kv.find('=');
        if (eq != std::string_view::npos && secret(kv.substr(0, eq), true)) wipe_after(*e, eq + 1);
    }
}

std::string describe(const config& cfg) {
    std::ostringstream out;
    out << "# effective configuration";
    if (!cfg.config_file.empty()) out << " (file: " << cfg.config_file << ")";
    out << "\n";
    for (const auto& o : options()) {
        std::string v = o.get(cfg);
        if (o.secret && !v.empty()) v = redact(v);
        out << o.name << " = " << v << "\n";
    }
    return out.str();
}

}  // namespace sessiond
