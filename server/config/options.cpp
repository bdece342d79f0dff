#include "config/options.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/secure_memory.hpp"
#include "config/value_codec.hpp"

namespace sessiond {

namespace {

// One row of the table as it is written: opt(name, help, field) and then
// what else is true of the option, .check(rule), .secret(), .reload(part).
template <class T>
class row {
public:
    row(std::string name, std::string help, T& (*field)(config&)) : field_(field) {
        def_.name = std::move(name);
        def_.help = std::move(help);
        def_.set = [field](config& c, const std::string& s) { field(c) = value_codec<T>::parse(s); };
        def_.get = [field](const config& c) { return value_codec<T>::format(field(const_cast<config&>(c))); };
        def_.flag = std::is_same_v<T, bool>;
    }

    // A check of the value alone: `rule` throws std::invalid_argument saying
    // why it refuses. Checks run in the order they are added.
    row&& check(std::function<void(const T&)> rule) && {
        def_.check = [before = std::move(def_.check), field = field_, rule = std::move(rule)](const config& c) {
            if (before) before(c);
            rule(field(const_cast<config&>(c)));
        };
        return std::move(*this);
    }

    row&& secret() && {
        static_assert(std::is_same_v<T, std::string>, "a secret is text, wiped once parsed");
        def_.secret = true;
        def_.wipe = [field = field_](config& c) { secure_wipe(field(c)); };
        return std::move(*this);
    }

    row&& reload(on_reload part) && {
        def_.reload = part;
        return std::move(*this);
    }

    operator option_def() && { return std::move(def_); }  // NOLINT(google-explicit-constructor): rows read as a table

private:
    option_def def_;
    T& (*field_)(config&);
};

template <class T>
row<T> opt(std::string name, std::string help, T& (*field)(config&)) {
    return row<T>(std::move(name), std::move(help), field);
}

#define SESSIOND_FIELD(type, expr) (+[](config& c) -> type& { return c.expr; })

// --- checks of one value ----------------------------------------------------

[[noreturn]] void refuse(const std::string& why) {
    throw std::invalid_argument(why);
}

template <class T>
auto at_least(T least) {
    return [least](const T& v) {
        if (v < least) refuse("must be at least " + value_codec<T>::format(least));
    };
}

template <class T>
auto at_most(T most, const char* why) {
    return [most, why](const T& v) {
        if (v > most) refuse(why);
    };
}

template <class T>
auto within(T least, T most, const char* why) {
    return [least, most, why](const T& v) {
        if (v < least || v > most) refuse(why);
    };
}

void positive(const std::chrono::milliseconds& d) {
    if (d.count() <= 0) refuse("must be greater than zero");
}

// Assertion lifetimes are JWT claims: whole seconds.
void whole_seconds(const std::chrono::milliseconds& d) {
    if (d.count() < 0 || d.count() % 1000 != 0) refuse("must be a whole number of seconds");
}

void whole_seconds_from_1s(const std::chrono::milliseconds& d) {
    if (d.count() < 1000 || d.count() % 1000 != 0) refuse("must be a whole number of seconds, at least 1s");
}

void not_empty(const std::string& v) {
    if (v.empty()) refuse("must not be empty");
}

void ip_address(const std::string& v) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(v, ec);
    if (ec) refuse("'" + v + "' is not an IP address");
}

void header_name(const std::string& v) {
    if (v.empty() ||
        v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
        refuse("not a valid header name");
}

// The headers of a /v1/auth 200, which proxies copy to the upstream request
// (and some to the client): none may be a header that frames, routes or
// redirects a message, sets browser state, carries credentials, or
// describes the original request.
void header_for_session_data(const std::string& v) {
    if (auto why = reserved_header_reason(v)) refuse("header " + v + " " + *why);
}

void metadata_headers_for_session_data(const metadata_header_list& v) {
    for (const auto& entry : v.entries())
        header_for_session_data(entry.second);
}

void login_url(const std::string& u) {
    if (u.empty()) return;
    const bool visible = std::all_of(u.begin(), u.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f; });
    if (!visible || u.size() > 2048 || !(u.starts_with("https://") || u.starts_with("http://")) ||
        u.find('#') != std::string::npos)
        refuse("expected an absolute http:// or https:// URL without spaces or a fragment");
}

void query_parameter_name(const std::string& v) {
    if (v.empty() || v.size() > 64 ||
        v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos)
        refuse("expected 1..64 letters, digits, '-', '_' or '.'");
}

void cookie_name(const std::string& v) {
    if (v.empty() || v.find_first_of("()<>@,;:\\\"/[]?={} \t") != std::string::npos) refuse("not a valid cookie name");
}

// A cookie attribute's value: it must not end the attribute or the header.
void attribute_value(const std::string& v) {
    if (v.find_first_of(";\r\n") != std::string::npos) refuse("must not contain ';' or line breaks");
}

void redis_url_scheme(const std::string& url) {
    static constexpr std::string_view schemes[] = {"redis://",           "rediss://",        "redis+sentinel://",
                                                   "rediss+sentinel://", "redis+cluster://", "rediss+cluster://"};
    if (url.empty() || std::any_of(std::begin(schemes), std::end(schemes), [&](auto s) { return url.starts_with(s); }))
        return;
    refuse(
        "must start with redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or "
        "rediss+cluster://");
}

}  // namespace

// --- the table ----------------------------------------------------------------

const std::vector<option_def>& options() {
    using ms = std::chrono::milliseconds;
    static const std::vector<option_def> defs = {
        opt("address", "listen address (IPv4 or IPv6 literal)", SESSIOND_FIELD(std::string, http.address))
            .check(ip_address),
        opt("port", "listen port (0 = any free port)", SESSIOND_FIELD(std::uint16_t, http.port)),
        opt("tls-cert-file", "HTTPS: certificate chain (PEM); the listener then speaks TLS only; reloaded on SIGHUP",
            SESSIOND_FIELD(std::string, http.tls_cert_file)),
        opt("tls-key-file", "HTTPS: private key (PEM) of tls-cert-file",
            SESSIOND_FIELD(std::string, http.tls_key_file)),
        opt("tls-min-version", "HTTPS: oldest TLS version accepted: 1.2 or 1.3",
            SESSIOND_FIELD(tls_version, http.tls_min_version)),
        opt("tls-client-ca-file", "mTLS: CA bundle (PEM) that signs callers' client certificates",
            SESSIOND_FIELD(std::string, http.tls_client_ca_file)),
        opt("tls-client-auth", "mTLS: none, optional (API keys still accepted) or require",
            SESSIOND_FIELD(client_auth_mode, http.tls_client_auth)),
        opt("ops-address", "operations listener address (plain HTTP: /healthz, /readyz, /metrics)",
            SESSIOND_FIELD(std::string, http.ops_address)),
        opt("ops-port", "operations listener port (0 = none; with one, /metrics is served there only)",
            SESSIOND_FIELD(std::uint16_t, http.ops_port)),
        opt("trusted-proxies",
            "peers whose X-Forwarded-For names the client a session is opened or seen from (its last entry): "
            "addresses or networks, comma-separated, such as 10.0.0.0/8,2001:db8::/32 (empty = none; the peer "
            "itself is the client a session is opened from)",
            SESSIOND_FIELD(network_list, http.trusted_proxies)),
        opt("io-threads", "I/O threads (0 = one per CPU the process may use: affinity mask, cgroup quota)",
            SESSIOND_FIELD(std::size_t, http.io_threads))
            .check(at_most<std::size_t>(256, "at most 256")),
        opt("max-connections",
            "open connections at most; at the limit the oldest idle keep-alive connection is closed to make "
            "room, else new ones get 503 too_many_connections (health probes are still answered)",
            SESSIOND_FIELD(std::size_t, http.max_connections))
            .check(at_least<std::size_t>(1)),
        opt("max-connections-per-client",
            "open connections per client address (IPv6: per /64) at most; beyond, 503 (0 = no cap; raise it "
            "behind a proxy, whose connections all come from its own address)",
            SESSIOND_FIELD(std::size_t, http.max_connections_per_client)),
        opt("max-header-bytes", "request header size limit (beyond: 431)",
            SESSIOND_FIELD(std::size_t, http.max_header_bytes))
            .check(at_least<std::size_t>(512)),
        opt("max-body-bytes", "request body size limit (beyond: 413)", SESSIOND_FIELD(std::size_t, http.max_body_bytes))
            .check(at_least<std::size_t>(1024))
            .check(at_most<std::size_t>(64 * 1024 * 1024, "at most 64 MiB")),
        opt("read-timeout", "time to receive a whole request once it began (beyond: 408, then close)",
            SESSIOND_FIELD(ms, http.read_timeout))
            .check(positive),
        opt("idle-timeout", "keep-alive connection closed after this long without a request",
            SESSIOND_FIELD(ms, http.idle_timeout))
            .check(positive),
        opt("write-timeout", "time to send a response", SESSIOND_FIELD(ms, http.write_timeout)).check(positive),
        opt("drain-timeout", "on SIGTERM/SIGINT, how long in-flight requests may take to finish",
            SESSIOND_FIELD(ms, http.drain_timeout)),
        opt("request-id-header", "header carrying the request id (taken from the request or generated)",
            SESSIOND_FIELD(std::string, http.request_id_header))
            .check(not_empty)
            .check(header_name),
        opt("log-format", "json or text", SESSIOND_FIELD(log_format, log.format)),
        opt("log-level", "trace, debug, info, warn, error or off", SESSIOND_FIELD(log_level, log.level))
            .reload(on_reload::log_level),
        opt("access-log", "one log line per request", SESSIOND_FIELD(bool, log.access_log)),
        opt("log-queue-size", "async log queue length; when full the oldest line is dropped",
            SESSIOND_FIELD(std::size_t, log.queue_size))
            .check(at_least<std::size_t>(16)),
        opt("redis-url",
            "redis://[[user]:password@]host:port[/db] or rediss://... (empty = embedded in-memory store); a lone "
            "userinfo (redis://password@host) is the password. Sentinel: "
            "redis+sentinel://[userinfo@]sentinel:26379[,sentinel:port...]/master-name[/db]; Cluster: "
            "redis+cluster://[userinfo@]node:6379[,node:port...] (rediss+... with TLS); userinfo is the data nodes'",
            SESSIOND_FIELD(std::string, store.redis_url))
            .secret()
            .check(redis_url_scheme),
        opt("redis-sentinel-user", "Sentinel: ACL user on the sentinels (empty = none)",
            SESSIOND_FIELD(std::string, store.redis_sentinel_user)),
        opt("redis-sentinel-password", "Sentinel: the sentinels' password (empty = no AUTH to the sentinels)",
            SESSIOND_FIELD(std::string, store.redis_sentinel_password))
            .secret(),
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
        opt("redis-connect-timeout", "Redis connect timeout", SESSIOND_FIELD(ms, store.redis_connect_timeout))
            .check(positive),
        opt("redis-command-timeout", "Redis command timeout (beyond: 503 store_unavailable)",
            SESSIOND_FIELD(ms, store.redis_command_timeout))
            .check(positive),
        opt("redis-max-in-flight", "Redis commands in flight per connection (beyond: 503 store_busy)",
            SESSIOND_FIELD(std::size_t, store.redis_max_in_flight))
            .check(at_least<std::size_t>(1)),
        opt("redis-key-prefix", "prefix of every Redis key, so deployments can share a Redis",
            SESSIOND_FIELD(std::string, store.redis_key_prefix)),
        opt("record-format",
            "Redis record format written: 5 (sealed, with the session context: device, assurance, tenant, "
            "provider), 4 (beside instances of 0.2, which read up to format 4: no context kept), 3 (beside "
            "instances that read only formats 2 and 3: one previous token) or 2 (during an upgrade from 0.1)",
            SESSIOND_FIELD(unsigned, store.record_format))
            .check(within<unsigned>(2, 5, "expected 2, 3, 4 or 5")),
        opt("record-accept-unsigned", "also read unsealed format-2 records (during an upgrade from 0.1)",
            SESSIOND_FIELD(bool, store.record_accept_unsigned)),
        opt("memory-max-sessions", "embedded store: sessions at most",
            SESSIOND_FIELD(std::size_t, store.memory_max_sessions))
            .check(at_least<std::size_t>(1)),
        opt("cache",
            "Redis store: answer validations from an in-process cache that Redis keeps correct (CLIENT TRACKING "
            "invalidations; without them every validation reads Redis)",
            SESSIOND_FIELD(bool, store.cache)),
        opt("cache-max-entries", "validation cache: session records kept at most (all I/O threads together)",
            SESSIOND_FIELD(std::size_t, store.cache_max_entries)),
        opt("cache-max-age", "validation cache: how long a record is kept at most before it is read again",
            SESSIOND_FIELD(ms, store.cache_max_age)),
        opt("events",
            "append an event to a bounded stream in the store for every change to a session, in the same atomic "
            "step as the change (docs/events.md)",
            SESSIOND_FIELD(bool, store.events)),
        opt("events-max-per-bucket",
            "events kept per bucket's stream at most (Redis keeps up to 100 more: it trims whole nodes)",
            SESSIOND_FIELD(std::size_t, store.events_max_per_bucket))
            .check(within<std::size_t>(1, 1'000'000, "must be in 1..1000000")),
        opt("events-retention", "how long events are kept at most", SESSIOND_FIELD(ms, store.events_retention))
            .check(at_least<ms>(ms(1000))),
        opt("instance-name", "this instance's name in the events it writes (empty = the host's name)",
            SESSIOND_FIELD(std::string, store.instance_name)),
        opt("events-poll-interval",
            "GET /v1/events: how often each I/O thread reads the events of every stream while it has subscribers "
            "(on a Redis Cluster a read is one command per stream: raise it there)",
            SESSIOND_FIELD(ms, store.events_poll_interval))
            .check(within<ms>(ms(10), ms(600'000), "must be in 10ms..10m")),
        opt("events-max-streams", "GET /v1/events: open event streams per instance at most (beyond: 503)",
            SESSIOND_FIELD(std::size_t, store.events_max_streams))
            .check(within<std::size_t>(1, 100'000, "must be in 1..100000")),
        opt("events-stream-queue",
            "GET /v1/events: events queued for one stream at most; a client that falls further behind is cut",
            SESSIOND_FIELD(std::size_t, store.events_stream_queue))
            .check(within<std::size_t>(1, 100'000, "must be in 1..100000")),
        opt("events-heartbeat", "GET /v1/events: a comment line this often on a stream with nothing to send",
            SESSIOND_FIELD(ms, store.events_heartbeat))
            .check(within<ms>(ms(100), ms(3'600'000), "must be in 100ms..1h")),
        opt("events-resume-margin",
            "GET /v1/events: a resume (Last-Event-ID) reads every stream from this long before the event it names",
            SESSIOND_FIELD(ms, store.events_resume_margin))
            .check(within<ms>(ms(0), ms(3'600'000), "must be in 0..1h")),
        opt("token-keys", "token keys kid:base64key[,kid:base64key...] (>= 32 bytes each); all accepted",
            SESSIOND_FIELD(std::string, token.keys))
            .secret()
            .reload(on_reload::token_keys),
        opt("token-keys-file", "file holding token-keys", SESSIOND_FIELD(std::string, token.keys_file))
            .reload(on_reload::token_keys),
        opt("token-signing-kid", "key id that signs new tokens (0 = the highest)",
            SESSIOND_FIELD(unsigned, token.signing_kid))
            .check(at_most<unsigned>(255, "at most 255"))
            .reload(on_reload::token_keys),
        opt("user-index-key", "base64 key (>= 32 bytes) hashing user ids; never change it",
            SESSIOND_FIELD(std::string, token.user_index_key))
            .secret()
            .reload(on_reload::token_keys),
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
            SESSIOND_FIELD(session_limit_policy, session.limit_policy)),
        opt("metadata-max-bytes",
            "largest session metadata (serialized) and caller-given session context (user agent, label, amr, "
            "tenant, provider and sid) together (beyond: 400)",
            SESSIOND_FIELD(std::size_t, session.metadata_max_bytes))
            .check(within<std::size_t>(2, 1024 * 1024, "must be in 2..1048576")),
        opt("device-address",
            "what a session keeps of its client's address (shown in its device context): full, truncated (IPv4 "
            "/24, IPv6 /48) or none",
            SESSIOND_FIELD(address_privacy, session.device_address)),
        opt("api-keys",
            "callers: name=sha256hex:scope[,scope...] entries separated by ';' (see sessiond keygen); scopes: "
            "sessions:read, sessions:write, sessions:admin, auth, assertions:mint, assertions:redeem, sessions:self, "
            "events:read; "
            "assertions:mint:<audience> and assertions:redeem:<audience> bind a caller to audiences",
            SESSIOND_FIELD(std::string, auth.api_keys))
            .secret()
            .reload(on_reload::callers),
        opt("api-keys-file", "file holding api-keys entries, one per line",
            SESSIOND_FIELD(std::string, auth.api_keys_file))
            .reload(on_reload::callers),
        opt("tls-callers",
            "mTLS callers: 'name kind:value scope[,scope...]' entries separated by ';' (kind: uri for a URI SAN "
            "such as a SPIFFE id, dns for a DNS SAN, cn for the subject CN)",
            SESSIOND_FIELD(std::string, auth.tls_callers))
            .reload(on_reload::callers),
        opt("api-key-header", "header carrying the caller's API key", SESSIOND_FIELD(std::string, auth.api_key_header))
            .check(header_name),
        opt("auth-user-header", "/v1/auth: header naming the session's user",
            SESSIOND_FIELD(std::string, auth.user_header))
            .check(header_name)
            .check(header_for_session_data),
        opt("auth-id-header", "/v1/auth: header naming the session's public id",
            SESSIOND_FIELD(std::string, auth.id_header))
            .check(header_name)
            .check(header_for_session_data),
        opt("auth-metadata-headers",
            "/v1/auth: session metadata fields sent as headers, field:Header[,field:Header...] (strings "
            "percent-encoded as the user header, numbers and booleans as JSON; empty for other values and missing "
            "fields)",
            SESSIOND_FIELD(metadata_header_list, auth.metadata_headers))
            .check(metadata_headers_for_session_data),
        opt("auth-login-url",
            "/v1/auth: absolute http(s) URL a browser (Accept: text/html) that would get 401 is redirected to (302), "
            "with the original URL as a query parameter (empty = never redirect)",
            SESSIOND_FIELD(std::string, auth.login_url))
            .check(login_url),
        opt("auth-redirect-hosts",
            "/v1/auth: hosts whose URLs may be sent to the login page, host[,*.domain...] (any other: plain 401)",
            SESSIOND_FIELD(host_list, auth.redirect_hosts)),
        opt("auth-redirect-param", "/v1/auth: the login URL's query parameter holding the original URL",
            SESSIOND_FIELD(std::string, auth.redirect_param))
            .check(query_parameter_name),
        opt("auth-original-headers",
            "/v1/auth: header families describing the original request, most trusted first: x-original "
            "(X-Original-URL, X-Original-Method: nginx) and x-forwarded (X-Forwarded-Method, -Proto, -Host, -Uri: "
            "Traefik, Caddy); the first one present is the only one read (empty = none; below /v1/auth the request "
            "line always is)",
            SESSIOND_FIELD(header_family_list, auth.original_headers)),
        opt("auth-assertion-audience",
            "/v1/auth: add a signed assertion for this audience to every 200 (empty = none; needs assertion-keys)",
            SESSIOND_FIELD(std::string, auth.assertion_audience)),
        opt("auth-assertion-header", "/v1/auth: the header carrying that assertion",
            SESSIOND_FIELD(std::string, auth.assertion_header))
            .check(header_name)
            .check(header_for_session_data),
        opt("assertion-keys",
            "signed assertions (JWT): kid:path[,kid:path...] of PEM private keys, Ed25519 (EdDSA) or P-256 (ES256), "
            "all published in /.well-known/jwks.json (empty = assertions off)",
            SESSIOND_FIELD(assertion_key_list, assertion.keys))
            .reload(on_reload::assertions),
        opt("assertion-signing-kid", "the kid of assertion-keys that signs (required with several keys)",
            SESSIOND_FIELD(std::string, assertion.signing_kid))
            .reload(on_reload::assertions),
        opt("assertion-issuer", "the iss claim of every assertion (required with assertion-keys)",
            SESSIOND_FIELD(std::string, assertion.issuer))
            .reload(on_reload::assertions),
        opt("assertion-audiences", "aud values callers may ask for, comma-separated (required with assertion-keys)",
            SESSIOND_FIELD(name_list, assertion.audiences))
            .reload(on_reload::assertions),
        opt("assertion-ttl", "lifetime of an assertion unless the caller asks for less or more",
            SESSIOND_FIELD(ms, assertion.ttl))
            .check(whole_seconds_from_1s)
            .reload(on_reload::assertions),
        opt("assertion-max-ttl", "the longest lifetime a caller may ask for (at most 1d)",
            SESSIOND_FIELD(ms, assertion.max_ttl))
            .check(whole_seconds_from_1s)
            .check(at_most(std::chrono::milliseconds(std::chrono::hours(24)), "must not exceed 1d"))
            .reload(on_reload::assertions),
        opt("assertion-claims", "top-level session metadata fields copied as claims, comma-separated",
            SESSIOND_FIELD(name_list, assertion.claims))
            .reload(on_reload::assertions),
        opt("assertion-jwks-max-age", "Cache-Control max-age of /.well-known/jwks.json",
            SESSIOND_FIELD(ms, assertion.jwks_max_age))
            .check(whole_seconds)
            .reload(on_reload::assertions),
        opt("oidc-providers",
            "OIDC back-channel logout: name=issuer|client_id|jwks-file[|alg,alg...] entries separated by ';' "
            "(algs: RS256, ES256, EdDSA; default all three); each JWKS file is read again on SIGHUP (empty = off)",
            SESSIOND_FIELD(oidc_provider_list, oidc.providers))
            .reload(on_reload::oidc),
        opt("oidc-logout-max-age", "the oldest iat a back-channel logout token may carry",
            SESSIOND_FIELD(ms, oidc.logout_max_age))
            .check(whole_seconds_from_1s)
            .check(at_most(std::chrono::milliseconds(std::chrono::hours(24)), "must not exceed 1d"))
            .reload(on_reload::oidc),
        opt("webhooks",
            "webhook endpoints for the session events: name=url|secret-file[|type,type...] entries separated by ';' "
            "(the file holds one or two whsec_ secrets, one a line; types: the event types it wants, default all); "
            "needs events = true (empty = off; docs/webhooks.md)",
            SESSIOND_FIELD(webhook_list, webhooks.endpoints)),
        opt("webhook-ca-file",
            "PEM CA certificates that https:// webhook endpoints are verified with (empty = the "
            "system's)",
            SESSIOND_FIELD(std::string, webhooks.ca_file)),
        opt("webhook-timeout", "one webhook delivery's deadline: connect, TLS, request and response together",
            SESSIOND_FIELD(ms, webhooks.timeout))
            .check(within<ms>(ms(100), ms(60'000), "must be in 100ms..60s")),
        opt("webhook-batch-size", "events per webhook request at most",
            SESSIOND_FIELD(std::size_t, webhooks.batch_size))
            .check(within<std::size_t>(1, 1000, "must be in 1..1000")),
        opt("webhook-retry-for",
            "how long a webhook batch is retried before its events are counted dead and delivery moves on",
            SESSIOND_FIELD(ms, webhooks.retry_for))
            .check(within<ms>(ms(1000), ms(3 * 24 * 3'600'000), "must be in 1s..3d")),
        opt("webhook-retry-delay", "the first webhook retry's delay ceiling (full jitter; doubles each retry)",
            SESSIOND_FIELD(ms, webhooks.retry_delay))
            .check(within<ms>(ms(10), ms(3'600'000), "must be in 10ms..1h")),
        opt("webhook-retry-max-delay", "the cap of the webhook retry delay's ceiling",
            SESSIOND_FIELD(ms, webhooks.retry_max_delay))
            .check(within<ms>(ms(10), ms(3'600'000), "must be in 10ms..1h")),
        opt("webhook-lease-ttl",
            "how long an instance holds an endpoint's delivery lease without renewing it (renewed every third)",
            SESSIOND_FIELD(ms, webhooks.lease_ttl))
            .check(within<ms>(ms(1000), ms(300'000), "must be in 1s..5min")),
        opt("webhook-poll-interval", "how often a webhook's deliverer reads the event streams when it is idle",
            SESSIOND_FIELD(ms, webhooks.poll_interval))
            .check(within<ms>(ms(50), ms(60'000), "must be in 50ms..60s")),
        opt("cookie-name", "session cookie name (read by /v1/auth, built in create/rotate replies)",
            SESSIOND_FIELD(std::string, cookie.name))
            .check(cookie_name),
        opt("cookie-path", "cookie Path", SESSIOND_FIELD(std::string, cookie.path)).check(attribute_value),
        opt("cookie-domain", "cookie Domain (empty = host-only)", SESSIOND_FIELD(std::string, cookie.domain))
            .check(attribute_value),
        opt("cookie-secure", "cookie Secure attribute", SESSIOND_FIELD(bool, cookie.secure)),
        opt("cookie-http-only", "cookie HttpOnly attribute", SESSIOND_FIELD(bool, cookie.http_only)),
        opt("cookie-same-site", "cookie SameSite: Strict, Lax or None",
            SESSIOND_FIELD(same_site_policy, cookie.same_site)),
        opt("development", "development mode: allows insecure settings, on loopback only",
            SESSIOND_FIELD(bool, development)),
    };
    return defs;
}

const option_def* find_option(std::string_view name) {
    for (const auto& o : options())
        if (o.name == name) return &o;
    return nullptr;
}

std::string env_name(std::string_view option) {
    std::string n = "SESSIOND_";
    for (char ch : option)
        n += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return n;
}

void wipe_secret_values(config& cfg) noexcept {
    for (const auto& o : options())
        if (o.wipe) o.wipe(cfg);
}

std::string_view to_string(log_level v) noexcept {
    return value_codec<log_level>::name_of(v);
}
std::string_view to_string(tls_version v) noexcept {
    return value_codec<tls_version>::name_of(v);
}
std::string_view to_string(client_auth_mode v) noexcept {
    return value_codec<client_auth_mode>::name_of(v);
}
std::string_view to_string(session_limit_policy v) noexcept {
    return value_codec<session_limit_policy>::name_of(v);
}
std::string_view to_string(same_site_policy v) noexcept {
    return value_codec<same_site_policy>::name_of(v);
}
std::string_view to_string(address_privacy v) noexcept {
    return value_codec<address_privacy>::name_of(v);
}

}  // namespace sessiond
