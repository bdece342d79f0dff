#include "app/application.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <cstdio>
#include <cstring>
#include <span>
#include <thread>
#include <variant>
#include <vector>

#include "api/callers.hpp"
#include "api/assertions.hpp"
#include "api/health.hpp"
#include "api/sessions.hpp"
#include "common/cpus.hpp"
#include "common/fd_limit.hpp"
#include "common/metrics.hpp"
#include "common/reloadable.hpp"
#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"
#include "redis/client.hpp"
#include "redis/config.hpp"
#include "service/assertions.hpp"
#include "service/session_service.hpp"
#include "session/keyring.hpp"
#include "store/memory_store.hpp"
#include "store/redis_store.hpp"

namespace sessiond {

namespace {

// A secret file's content (the caller wipes it); an unreadable file (not a
// regular file, larger than `max_bytes`) stops start-up, or fails a reload,
// naming its option and path, never its content.
std::string secret_file(const std::string& path, const char* option, std::size_t max_bytes = secret_file_max_bytes) {
    auto content = read_secret_file(path, max_bytes);
    if (!content) throw config_error(file_error_text(option, path, content.error(), max_bytes));
    return std::move(*content);
}

// A warning to log once logging is set up; `option` and `file` name a
// secret file (never its content) when it is about one.
struct startup_warning {
    std::string message;
    std::string option;
    std::string file;
};

// What the security settings resolve to; refuses to run insecurely unless
// in development mode (which config validation limits to loopback).
struct security {
    std::shared_ptr<const session::keyring> keys;
    api::shared_callers callers;
    std::vector<startup_warning> warnings;
};

// The files that hold secrets, by option: each should be readable by
// sessiond's user alone.
std::vector<startup_warning> exposed_secret_files(const config& cfg) {
    const std::pair<const char*, const std::string*> files[] = {
        {"token-keys-file", &cfg.token.keys_file},
        {"user-index-key-file", &cfg.token.user_index_key_file},
        {"api-keys-file", &cfg.auth.api_keys_file},
        {"redis-password-file", &cfg.store.redis_password_file},
        {"redis-sentinel-password-file", &cfg.store.redis_sentinel_password_file},
        {"redis-tls-key-file", &cfg.store.redis_tls_key_file},
        {"tls-key-file", &cfg.http.tls_key_file},
    };
    std::vector<startup_warning> out;
    auto check = [&out](const char* option, const std::string& path) {
        if (!path.empty() && readable_by_others(path))
            out.push_back(
                {"a secret file is readable by group or others: make it readable by sessiond's user only "
                 "(chmod 600, or defaultMode 0400 for a Kubernetes secret)",
                 option, path});
    };
    for (const auto& [option, path] : files)
        check(option, *path);
    for (const auto& [kid, path] : parse_assertion_keys(cfg.assertion.keys))
        check("assertion-keys", path);
    return out;
}

// Wipes the strings it was given on every way out, thrown or returned.
struct wipe_on_exit {
    std::vector<std::string*> secrets;
    ~wipe_on_exit() {
        for (auto* s : secrets)
            secure_wipe(*s);
    }
};

security load_security(const config& cfg) {
    security out;
    std::string token_keys = cfg.token.keys, index_key = cfg.token.user_index_key;
    std::string callers = cfg.auth.api_keys;
    const wipe_on_exit wipe{{&token_keys, &index_key, &callers}};
    if (!cfg.token.keys_file.empty()) {
        secure_wipe(token_keys);
        token_keys = secret_file(cfg.token.keys_file, "token-keys-file");
    }
    if (!cfg.token.user_index_key_file.empty()) {
        secure_wipe(index_key);
        index_key = secret_file(cfg.token.user_index_key_file, "user-index-key-file");
    }
    if (token_keys.empty() && index_key.empty()) {
        if (!cfg.development)
            throw config_error(
                "invalid value for 'token-keys': required (with user-index-key) outside development mode");
        out.keys = std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
        out.warnings.push_back(
            {"no token keys configured: using an ephemeral key, every token dies with this process", {}, {}});
    } else if (token_keys.empty() || index_key.empty()) {
        throw config_error(std::string("invalid value for '") + (token_keys.empty() ? "token-keys" : "user-index-key") +
                           "': token-keys and user-index-key are set together");
    } else {
        try {
            std::optional<std::uint8_t> kid;
            if (cfg.token.signing_kid) kid = static_cast<std::uint8_t>(cfg.token.signing_kid);
            out.keys = std::make_shared<const session::keyring>(session::keyring::parse(token_keys, index_key, kid));
        } catch (const session::keyring_error& e) {
            throw config_error(std::string("invalid value for 'token-keys': ") + e.what());
        }
    }

    if (!cfg.auth.api_keys_file.empty()) {
        std::string file = secret_file(cfg.auth.api_keys_file, "api-keys-file", list_file_max_bytes);
        callers.reserve(callers.size() + 1 + file.size());
        callers += '\n';
        callers += file;
        secure_wipe(file);
    }
    api::callers parsed;
    try {
        parsed = api::callers::parse(callers);
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("invalid value for 'api-keys': ") + e.what());
    }
    try {
        parsed.add_tls_callers(cfg.auth.tls_callers);
    } catch (const std::invalid_argument& e) {
        throw config_error(std::string("invalid value for 'tls-callers': ") + e.what());
    }
    if (parsed.tls_callers() > 0 && cfg.http.tls_client_auth == "none")
        throw config_error(
            "invalid value for 'tls-callers': callers by certificate need tls-client-auth = optional "
            "or require");
    // With several audiences, a redeem caller bound to none can burn any
    // audience's assertions; it keeps working as before, with a warning.
    if (parse_list(cfg.assertion.audiences).size() > 1)
        for (const auto& name : parsed.unbound_redeemers())
            out.warnings.push_back({"caller '" + name +
                                        "' may redeem assertions for every audience: bind it to its own with the "
                                        "scope assertions:redeem:<audience>",
                                    "api-keys",
                                    {}});
    if (parsed.empty()) {
        if (!cfg.development)
            throw config_error(
                "invalid value for 'api-keys': at least one caller key is required outside "
                "development mode (see: sessiond keygen)");
        parsed = api::callers::allow_all();
        out.warnings.push_back({"no API keys configured: every request is allowed every scope", {}, {}});
    }
    out.callers = std::make_shared<const api::callers>(std::move(parsed));
    return out;
}

// The signed assertions' keys and rules (null when assertion-keys is empty).
// The private keys are read from their files and wiped once parsed.
std::shared_ptr<const service::assertion_signer> load_assertions(const assertion_config& a) {
    const auto files = parse_assertion_keys(a.keys);
    if (files.empty()) return nullptr;
    service::assertion_settings settings;
    settings.issuer = a.issuer;
    settings.audiences = parse_list(a.audiences);
    settings.ttl = std::chrono::duration_cast<std::chrono::seconds>(a.ttl);
    settings.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(a.max_ttl);
    settings.claims = parse_list(a.claims);
    settings.jwks_max_age = std::chrono::duration_cast<std::chrono::seconds>(a.jwks_max_age);
    std::vector<std::string> pems;
    pems.reserve(files.size());  // no reallocation leaves an unwiped copy
    wipe_on_exit wipe;
    std::vector<service::assertion_key_source> sources;
    for (const auto& [kid, path] : files) {
        pems.push_back(secret_file(path, "assertion-keys"));
        wipe.secrets.push_back(&pems.back());
        sources.push_back({kid, pems.back()});
    }
    try {
        return service::assertion_signer::make(std::move(settings), sources, a.signing_kid);
    } catch (const service::assertion_config_error& e) {
        throw config_error(std::string("invalid value for 'assertion-keys': ") + e.what());
    }
}

// The Redis client's connection events, as lines of sessiond's structured log.
redis::logger make_redis_logger() {
    return [](redis::log_level level, std::string_view message, std::span<const redis::log_field> fields) {
        auto severity = spdlog::level::debug;
        switch (level) {
            case redis::log_level::debug:
                break;
            case redis::log_level::info:
                severity = spdlog::level::info;
                break;
            case redis::log_level::warn:
                severity = spdlog::level::warn;
                break;
            case redis::log_level::error:
                severity = spdlog::level::err;
                break;
        }
        if (!log::enabled(severity)) return;
        std::vector<log::field> out;
        out.reserve(fields.size());
        for (const auto& f : fields)
            std::visit([&](auto v) { out.emplace_back(f.key, v); }, f.value);
        log::write(severity, message, out);
    };
}

redis::config make_redis_config(const store_config& s) {
    auto parsed = redis::parse_url(s.redis_url);
    if (!parsed) throw config_error("invalid value for 'redis-url': " + parsed.error().message());
    redis::config c = *parsed;
    if (!s.redis_password_file.empty()) {
        // Read by each Redis client as it starts; read here as well so that
        // a file that cannot be read stops --check-config and a reload.
        std::string file = secret_file(s.redis_password_file, "redis-password-file");
        secure_wipe(file);
        c.password_file = s.redis_password_file;
    }
    c.tls_ca_file = s.redis_tls_ca_file;
    c.tls_cert_file = s.redis_tls_cert_file;
    c.tls_key_file = s.redis_tls_key_file;
    if (!s.redis_tls_server_name.empty()) c.tls_server_name = s.redis_tls_server_name;
    c.tls_verify = s.redis_tls_verify;
    c.connections = s.redis_connections;
    c.connect_timeout = s.redis_connect_timeout;
    c.command_timeout = s.redis_command_timeout;
    c.max_in_flight = s.redis_max_in_flight;
    c.topology_refresh = s.redis_topology_refresh;
    c.wait_replicas = s.redis_wait_replicas;
    c.wait_timeout = s.redis_wait_timeout;
    if (c.mode == redis::topology::sentinel) {
        c.sentinel_user = s.redis_sentinel_user;
        c.sentinel_password = s.redis_sentinel_password;
        if (!s.redis_sentinel_password_file.empty()) {
            std::string file = secret_file(s.redis_sentinel_password_file, "redis-sentinel-password-file");
            c.sentinel_password = file;
            secure_wipe(file);
        }
    }
    c.log = make_redis_logger();
    return c;
}

session::policy make_policy(const session_config& s) {
    session::policy p;
    p.idle_timeout = s.idle_timeout;
    p.absolute_timeout = s.absolute_timeout;
    p.max_idle_timeout = s.max_idle_timeout;
    p.max_absolute_timeout = s.max_absolute_timeout;
    p.touch_fraction = s.touch_fraction;
    p.rotation_grace = s.rotation_grace;
    p.max_sessions_per_user = s.max_per_user;
    p.on_limit = s.limit_policy == "reject" ? session::limit_policy::reject : session::limit_policy::evict_lru;
    return p;
}

// The Redis topology as the I/O threads see it, in the Prometheus text
// format: the mode, and per thread (each keeps its own view) the primary in
// use (Sentinel) or the slot map's coverage (Cluster).
template <class Workers>
std::string topology_metrics(const Workers& workers) {
    if (workers.empty() || !workers.front()->redis_client) return {};
    std::string out;
    const auto mode = workers.front()->redis_client->status().mode;
    out += "# HELP sessiond_redis_topology The Redis deployment sessiond is configured for.\n";
    out += "# TYPE sessiond_redis_topology gauge\n";
    out += "sessiond_redis_topology{mode=\"" + std::string(redis::to_string(mode)) + "\"} 1\n";
    if (mode == redis::topology::sentinel) {
        out += "# HELP sessiond_redis_primary The primary an I/O thread sends commands to (Sentinel).\n";
        out += "# TYPE sessiond_redis_primary gauge\n";
        for (std::size_t i = 0; i < workers.size(); ++i) {
            const auto st = workers[i]->redis_client->status();
            if (!st.primary.empty())
                out +=
                    "sessiond_redis_primary{thread=\"" + std::to_string(i) + "\",address=\"" + st.primary + "\"} 1\n";
        }
    } else if (mode == redis::topology::cluster) {
        out +=
            "# HELP sessiond_redis_cluster_slots_covered Slots with a known primary in an I/O thread's map (16384 when "
            "whole).\n";
        out += "# TYPE sessiond_redis_cluster_slots_covered gauge\n";
        std::string primaries =
            "# HELP sessiond_redis_cluster_primaries Primaries in an I/O thread's slot map.\n"
            "# TYPE sessiond_redis_cluster_primaries gauge\n";
        for (std::size_t i = 0; i < workers.size(); ++i) {
            const auto st = workers[i]->redis_client->status();
            const std::string label = "{thread=\"" + std::to_string(i) + "\"} ";
            out += "sessiond_redis_cluster_slots_covered" + label + std::to_string(st.slots_covered) + "\n";
            primaries += "sessiond_redis_cluster_primaries" + label + std::to_string(st.primaries) + "\n";
        }
        out += primaries;
    }
    return out;
}

// The HTTPS certificate's end of validity, for an alert before it comes.
std::string certificate_metrics(const http::tls_provider* tls) {
    if (!tls) return {};
    const auto not_after = tls->certificate().not_after;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count();
    return "# HELP sessiond_tls_certificate_not_after_seconds When the HTTPS certificate in use expires (Unix time).\n"
           "# TYPE sessiond_tls_certificate_not_after_seconds gauge\n"
           "sessiond_tls_certificate_not_after_seconds " +
           std::to_string(seconds) + "\n";
}

http::tls_settings tls_settings_of(const http_config& h) {
    http::tls_settings s;
    s.cert_file = h.tls_cert_file;
    s.key_file = h.tls_key_file;
    s.min_version = h.tls_min_version;
    s.client_ca_file = h.tls_client_ca_file;
    s.client_auth_mode = h.tls_client_auth == "require"    ? http::client_auth::require
                         : h.tls_client_auth == "optional" ? http::client_auth::optional
                                                           : http::client_auth::none;
    return s;
}

// One I/O thread's share of the daemon: its own io_context, HTTP server and,
// with Redis, its own Redis connection(s), so that a request is served from
// accept to reply on one thread without waking another.
struct worker {
    boost::asio::io_context ioc{1};
    std::unique_ptr<redis::client> redis_client;
    std::unique_ptr<store::redis_store> redis_sessions;
    std::unique_ptr<service::session_service> service;
    std::unique_ptr<api::session_api> sessions;
    std::unique_ptr<service::assertion_service> assertions;
    std::unique_ptr<api::assertion_api> assertion_routes;
    http::router routes;
    std::unique_ptr<http::server> server;
};

// Everything run() needs that config validation alone cannot tell.
struct startup {
    security sec;
    session::policy policy;
    std::optional<session::token_codec> codec;
    std::optional<redis::config> redis_cfg;
    std::shared_ptr<http::tls_provider> tls;                      // HTTPS: the certificate, loaded
    std::shared_ptr<const service::assertion_signer> assertions;  // null: off
};

// The option that sets a field of session::policy.
const char* policy_option(std::string_view field) {
    if (field == "idle_timeout") return "session-idle-timeout";
    if (field == "absolute_timeout") return "session-absolute-timeout";
    if (field == "max_idle_timeout") return "session-max-idle-timeout";
    if (field == "max_absolute_timeout") return "session-max-absolute-timeout";
    if (field == "touch_fraction") return "touch-fraction";
    return "rotation-grace";
}

// Runs an I/O thread's io_context until it is stopped. A handler that
// throws ends run() with its exception, which would end the thread and, in
// std::thread, the process (std::terminate, with no word in the log): it is
// logged and counted, and run() goes on with the next handler, as
// io_context allows.
void run_contained(boost::asio::io_context& ioc) {
    for (;;) {
        try {
            ioc.run();
            return;
        } catch (...) {
            log::contained_exception("I/O thread handler", std::current_exception());
        }
    }
}

// Fills `out`; throws config_error naming the first problem.
void prepare_checked(const config& cfg, startup& out) {
    {
        if (!cfg.store.redis_url.empty()) out.redis_cfg = make_redis_config(cfg.store);
        out.sec = load_security(cfg);
        for (auto& w : exposed_secret_files(cfg))
            out.sec.warnings.push_back(std::move(w));
        out.policy = make_policy(cfg.session);
        try {
            session::validate(out.policy);
        } catch (const session::policy_error& e) {
            throw config_error(std::string("invalid value for '") + policy_option(e.field()) + "': " + e.why());
        }
        try {
            out.codec.emplace(cfg.token.prefix);
        } catch (const std::invalid_argument& e) {
            throw config_error(std::string("invalid value for 'token-prefix': ") + e.what());
        }
        out.assertions = load_assertions(cfg.assertion);
        // The certificate and key load now (and so with --check-config,
        // which an operator runs before sending SIGHUP).
        if (!cfg.http.tls_cert_file.empty()) {
            try {
                out.tls = std::make_shared<http::tls_provider>(tls_settings_of(cfg.http));
            } catch (const std::exception& e) {
                throw config_error(std::string("cannot load the TLS certificate: ") + e.what());
            }
        }
    }
}

// Fills `out`; prints the first problem and returns false.
bool prepare(const config& cfg, startup& out) {
    try {
        prepare_checked(cfg, out);
    } catch (const config_error& e) {
        std::fprintf(stderr, "sessiond: %s\n", e.what());
        return false;
    }
    return true;
}

// The options that differ between two describe() texts, but for those a
// reload applies (keys, callers, the log level, the certificate's files,
// which are read again) and the secret ones (whose text the daemon wiped).
std::string needs_restart(const std::string& before, const std::string& after) {
    static const std::set<std::string, std::less<>> live = {"token-keys",        "token-keys-file",
                                                            "token-signing-kid", "api-keys",
                                                            "api-keys-file",     "tls-callers",
                                                            "log-level",         "user-index-key",
                                                            "redis-url",         "redis-sentinel-password",
                                                            "assertion-keys",    "assertion-signing-kid",
                                                            "assertion-issuer",  "assertion-audiences",
                                                            "assertion-ttl",     "assertion-max-ttl",
                                                            "assertion-claims",  "assertion-jwks-max-age"};
    auto values = [](const std::string& text) {
        std::map<std::string, std::string, std::less<>> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            const auto eq = line.find(" = ");
            if (!line.starts_with('#') && eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 3);
        }
        return out;
    };
    const auto a = values(before), b = values(after);
    std::string out;
    for (const auto& [name, value] : b) {
        if (live.contains(name)) continue;
        const auto it = a.find(name);
        if (it == a.end() || it->second != value) out += (out.empty() ? "" : ", ") + name;
    }
    return out;
}

}  // namespace

int check_startup(const config& cfg) {
    startup s;
    if (!prepare(cfg, s)) return 2;
    for (const auto& w : s.sec.warnings)
        if (!w.file.empty())
            std::fprintf(stderr, "sessiond: warning: %s: '%s' (%s)\n", w.message.c_str(), w.option.c_str(),
                         w.file.c_str());
    return 0;
}

int run(config& cfg, const config_source& reread) {
    startup prepared;
    const bool prepared_ok = prepare(cfg, prepared);
    // What a reload compares the new configuration with (secrets redacted).
    const std::string started_with = describe(cfg);
    // Parsed into the keyring and the Redis config (on key-material pages):
    // the configuration's text copies are no longer needed.
    secure_wipe(cfg.token.keys);
    secure_wipe(cfg.token.user_index_key);
    secure_wipe(cfg.store.redis_url);
    secure_wipe(cfg.store.redis_sentinel_password);
    if (!prepared_ok) return 2;
    // A reader of stdout that goes away must not kill the daemon: writes
    // then fail with EPIPE, and the logger counts the lines it drops.
    std::signal(SIGPIPE, SIG_IGN);
    auto& sec = prepared.sec;
    const auto& policy = prepared.policy;
    const auto& redis_cfg = prepared.redis_cfg;

    log::init(cfg.log);
    const std::size_t threads = cfg.http.io_threads ? cfg.http.io_threads : cpus::available();
    if (cfg.development) log::warn("development mode: insecure settings are allowed; never use it in production");
    if (is_dumpable()) log::warn("the process could not be made non-dumpable: a core dump would hold its keys");
    for (const auto& w : sec.warnings)
        if (w.file.empty())
            log::warn(w.message);
        else
            log::warn(w.message, {{"option", w.option}, {"file", w.file}});

    session::wall_clock clock;
    api::api_settings settings;
    settings.metadata_max_bytes = cfg.session.metadata_max_bytes;
    settings.cookie = cfg.cookie;
    settings.api_key_header = cfg.auth.api_key_header;
    settings.user_header = cfg.auth.user_header;
    settings.id_header = cfg.auth.id_header;
    settings.metadata_headers = parse_metadata_headers(cfg.auth.metadata_headers);
    settings.login_url = cfg.auth.login_url;
    settings.redirect_hosts = parse_host_list(cfg.auth.redirect_hosts);
    settings.redirect_param = cfg.auth.redirect_param;
    settings.original_headers = parse_original_headers(cfg.auth.original_headers);
    const session::token_codec& codec = *prepared.codec;

    std::vector<std::unique_ptr<worker>> workers;
    for (std::size_t i = 0; i < threads; ++i)
        workers.push_back(std::make_unique<worker>());

    // The embedded store is shared by all threads (it locks per shard); a
    // Redis store is per thread, over that thread's connections.
    std::unique_ptr<store::memory_store> memory;
    if (!redis_cfg) {
        memory = std::make_unique<store::memory_store>(workers[0]->ioc, clock, cfg.store.memory_max_sessions);
        memory->start();
        log::info("embedded store: sessions live in this process only, not shared, lost on restart");
    }
    const store::record_format_options record_options{static_cast<std::uint8_t>(cfg.store.record_format),
                                                      cfg.store.record_accept_unsigned};
    if (redis_cfg && record_options.accept_unsigned)
        log::warn(
            "unsealed (format 2) records are read: set record-accept-unsigned = false once no instance "
            "writes them",
            {{"record_format", cfg.store.record_format}});
    // Token keys and callers: replaced whole by a reload, read per thread.
    reloadable<session::keyring> keys(sec.keys);
    reloadable<api::callers> callers(sec.callers);
    reloadable<service::assertion_signer> assertion_signer(prepared.assertions);
    // The validation cache: each I/O thread keeps its share, and its own
    // invalidation links; the marks of this instance's writes are shared.
    const bool cache = redis_cfg && cfg.store.cache;
    const store::cache_limits cache_limits{std::max<std::size_t>(1, cfg.store.cache_max_entries / workers.size()),
                                           cfg.store.cache_max_age};
    auto write_marks = cache ? std::make_shared<store::write_marks>() : nullptr;
    for (auto& w : workers) {
        store::session_store* sessions = memory.get();
        if (redis_cfg) {
            try {
                w->redis_client = std::make_unique<redis::client>(w->ioc, *redis_cfg, 1);
            } catch (const std::exception& e) {
                log::error("cannot set up the Redis client", {{"error", e.what()}});
                log::shutdown();
                return 2;
            }
            if (cache) w->redis_client->enable_tracking(cfg.store.redis_key_prefix);
            w->redis_sessions = std::make_unique<store::redis_store>(
                *w->redis_client, clock, cfg.store.redis_key_prefix, store::record_sealer(keys, record_options));
            if (cache) w->redis_sessions->enable_cache(cache_limits, write_marks);
            w->redis_client->start();
            sessions = w->redis_sessions.get();
        }
        w->service = std::make_unique<service::session_service>(*sessions, keys, codec, clock, policy);
        w->sessions = std::make_unique<api::session_api>(*w->service, callers, settings);
        w->assertions = std::make_unique<service::assertion_service>(*w->service, *sessions, assertion_signer);
        w->assertion_routes = std::make_unique<api::assertion_api>(*w->assertions, callers, cfg.auth.api_key_header);
        if (!cfg.auth.assertion_audience.empty())
            w->sessions->add_assertions(*w->assertions, cfg.auth.assertion_audience, cfg.auth.assertion_header);
    }

    // Every connection holds a descriptor: max-connections must fit in the
    // limit, or new clients would hang on EMFILE instead of getting a 503.
    http_config http_cfg = cfg.http;
    {
        auto fds = raise_fd_limit();
        // Per I/O thread: the connections to each node (a cluster's primaries,
        // at least three), and a Sentinel's two links to a sentinel.
        std::size_t redis_fds = 0;
        if (redis_cfg) {
            const std::size_t per_node = std::max<std::size_t>(1, cfg.store.redis_connections);
            const bool cluster = redis_cfg->mode == redis::topology::cluster;
            const std::size_t nodes = cluster ? std::max<std::size_t>(3, redis_cfg->seeds.size()) : 1;
            redis_fds = per_node * nodes + (redis_cfg->mode == redis::topology::sentinel ? 2 : 0);
        }
        const std::size_t reserved = 16 + threads * (8 + redis_fds + http::server::spare_descriptors);
        http_cfg.max_connections = connections_within(cfg.http.max_connections, fds.soft, reserved);
        if (http_cfg.max_connections < cfg.http.max_connections)
            log::warn("the file descriptor limit is too low for max-connections: connections capped",
                      {{"fd_limit", fds.soft},
                       {"fd_hard_limit", fds.hard},
                       {"max_connections", cfg.http.max_connections},
                       {"effective_max_connections", http_cfg.max_connections}});
    }
    http::client_counts per_client(cfg.http.max_connections_per_client);
    std::atomic<std::size_t> open_connections{0};
    // With Redis, ready only once the index key is known to be this
    // deployment's (see below).
    std::atomic<bool> index_key_checked{memory != nullptr};
    auto store_ready = [&workers, &memory, &index_key_checked] {
        if (memory) return true;
        if (!index_key_checked.load()) return false;
        // Each thread's store: connected, and not refused for lack of a
        // permission lately.
        for (const auto& w : workers)
            if (!w->redis_sessions->ready()) return false;
        return true;
    };
    // HTTPS: the certificate loaded by prepare(), and again on SIGHUP.
    std::shared_ptr<http::tls_provider> tls = prepared.tls;
    const bool ops_listener = cfg.http.ops_port != 0;
    const api::ops_probes probes{
        store_ready, [&open_connections] { return static_cast<std::uint64_t>(open_connections.load()); },
        [&workers, &tls] {
            return topology_metrics(workers) + certificate_metrics(tls.get()) + metrics::process_metrics() +
                   "# HELP sessiond_build_info The running version.\n# TYPE sessiond_build_info gauge\n"
                   "sessiond_build_info{version=\"" SESSIOND_VERSION "\"} 1\n";
        },
        !ops_listener};
    for (auto& w : workers) {
        api::add_ops_routes(w->routes, probes);
        w->sessions->add_routes(w->routes);
        w->assertion_routes->add_routes(w->routes);
        w->server = std::make_unique<http::server>(w->ioc, http_cfg, w->routes, cfg.log.access_log, open_connections,
                                                   per_client);
        if (tls) w->server->use_tls(tls);
    }
    // The operations listener: plain HTTP on thread 0, with connection
    // counts of its own, so that probes and scrapes get through while the
    // main listener is at its limits.
    http::router ops_routes;
    http_config ops_cfg = http_cfg;
    ops_cfg.address = cfg.http.ops_address;
    ops_cfg.max_connections = 64;
    http::client_counts ops_per_client(0);
    std::atomic<std::size_t> ops_open{0};
    std::unique_ptr<http::server> ops;
    if (ops_listener) {
        auto ops_probes = probes;
        ops_probes.metrics = true;
        api::add_ops_routes(ops_routes, ops_probes);
        ops = std::make_unique<http::server>(workers[0]->ioc, ops_cfg, ops_routes, false, ops_open, ops_per_client);
    }

    unsigned short port = 0;
    try {
        for (auto& w : workers) {
            if (port == 0) {
                w->server->start(std::nullopt, threads > 1);
                port = w->server->port();
            } else {
                w->server->start(port, true);
            }
        }
    } catch (const std::exception& e) {
        log::error("cannot listen", {{"address", cfg.http.address}, {"port", cfg.http.port}, {"error", e.what()}});
        log::shutdown();
        return 1;
    }
    unsigned short ops_port = 0;
    if (ops) {
        try {
            ops->start(cfg.http.ops_port);
            ops_port = ops->port();
        } catch (const std::exception& e) {
            log::error("cannot listen",
                       {{"address", cfg.http.ops_address}, {"port", cfg.http.ops_port}, {"error", e.what()}});
            log::shutdown();
            return 1;
        }
    }

    auto stop_all = [&] {
        if (memory) memory->stop();
        for (auto& w : workers) {
            if (w->redis_client) w->redis_client->stop();
            w->ioc.stop();
        }
    };
    boost::asio::signal_set signals(workers[0]->ioc, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    bool draining = false;
    std::atomic<std::size_t> drained{0};
    on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (draining) {
            log::warn("second signal, stopping now", {{"signal", sig}});
            stop_all();
            return;
        }
        draining = true;
        log::info("shutting down", {{"signal", sig},
                                    {"connections", open_connections.load()},
                                    {"drain_timeout_ms", static_cast<std::int64_t>(cfg.http.drain_timeout.count())}});
        if (ops) ops->shutdown([] {});
        for (auto& w : workers)
            w->server->shutdown([&] {
                if (drained.fetch_add(1) + 1 == workers.size()) stop_all();
            });
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    // SIGHUP: the configuration is read again from where it came (the
    // files' current content; flags and environment as at start) and
    // checked in full as at start, the TLS certificate loaded. Only then
    // do the token keys, the callers, the log level and the certificate
    // change; anything wrong, and all of it stays as it was: nothing is
    // applied before the last check has passed. Requests in
    // flight keep the keys and callers they started with. Runs on thread 0:
    // a few small local files, once per operator signal.
    boost::asio::signal_set hangup(workers[0]->ioc, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hangup;
    auto reload = [&] {
        if (!reread) throw config_error("this process cannot read its configuration again");
        config next = reread();
        startup fresh;
        prepare_checked(next, fresh);
        const auto now = keys.current();
        // Ephemeral keys (development mode without keys) stay: new ones
        // would end every session.
        const bool ephemeral = next.token.keys.empty() && next.token.keys_file.empty();
        if (!ephemeral && fresh.sec.keys->user_index_fingerprint() != now->user_index_fingerprint())
            throw config_error(
                "user-index-key differs from the one in use: it cannot change while running (every user's "
                "index would be missed); restart with it, see docs/data-model.md");
        const std::string restart = needs_restart(started_with, describe(next));
        secure_wipe(next.token.keys);
        secure_wipe(next.token.user_index_key);
        secure_wipe(next.store.redis_url);
        secure_wipe(next.store.redis_sentinel_password);
        std::optional<http::tls_provider::loaded> next_tls;
        if (tls) next_tls = tls->load();
        if (!cfg.auth.assertion_audience.empty() && !fresh.assertions)
            throw config_error("assertion-keys cannot be emptied while auth-assertion-audience is set");
        // Checked: from here on nothing throws before all of it is applied.
        std::optional<http::certificate_info> certificate;
        if (next_tls) certificate = tls->use(std::move(*next_tls));
        if (!ephemeral) keys.publish(fresh.sec.keys);
        callers.publish(fresh.sec.callers);
        assertion_signer.publish(fresh.assertions);
        const auto kept = keys.current();
        std::string kids;
        for (auto kid : kept->kids())
            kids += (kids.empty() ? "" : ",") + std::to_string(kid);
        std::string assertion_kids;
        if (fresh.assertions)
            for (const auto& kid : fresh.assertions->kids())
                assertion_kids += (assertion_kids.empty() ? "" : ",") + kid;
        log::info("configuration reloaded",
                  {{"signing_kid", static_cast<std::int64_t>(kept->signing_kid())},
                   {"accepted_kids", kids},
                   {"assertion_signing_kid", fresh.assertions ? fresh.assertions->signing_kid() : std::string_view()},
                   {"assertion_kids", assertion_kids},
                   {"log_level", next.log.level}});
        if (certificate) {
            metrics::get().tls_reloads.inc();
            log::info("TLS certificate reloaded",
                      {{"subject", certificate->subject},
                       {"not_after_unix", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                                        certificate->not_after.time_since_epoch())
                                                                        .count())}});
        }
        if (!restart.empty())
            log::warn("options that only a restart applies differ from those in use; they were not changed",
                      {{"options", restart}});
        log::set_level(next.log.level);  // last: the lines above are written at the level in use
    };
    on_hangup = [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        try {
            reload();
            metrics::get().config_reloads.inc();
        } catch (const std::exception& e) {
            metrics::get().config_reloads_failed.inc();
            if (tls) metrics::get().tls_reloads_failed.inc();
            log::error("SIGHUP received: reload failed, the configuration in use stays",
                       {{"error", std::string_view(e.what())}});
        }
        hangup.async_wait(on_hangup);
    };
    hangup.async_wait(on_hangup);
    // SIGUSR1 and SIGUSR2 mean nothing to sessiond; by default either
    // would end the process (a stray `kill -USR1`, a supervisor's habit).
    boost::asio::signal_set ignored(workers[0]->ioc, SIGUSR1, SIGUSR2);
    std::function<void(const boost::system::error_code&, int)> on_ignored;
    on_ignored = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::warn("signal ignored: sessiond has no use for it (SIGHUP reloads, SIGTERM stops)", {{"signal", sig}});
        ignored.async_wait(on_ignored);
    };
    ignored.async_wait(on_ignored);

    // The user index key must be the one this Redis's sessions are indexed
    // with: with another, every list and revoke-all would silently miss the
    // sessions, which would go on validating. Checked once Redis answers.
    int exit_code = 0;
    if (!memory) {
        boost::asio::co_spawn(
            workers[0]->ioc,
            [&]() -> boost::asio::awaitable<void> {
                auto& w = *workers[0];
                boost::asio::steady_timer pause(w.ioc);
                for (;;) {
                    if (w.redis_client->ready()) {
                        auto same = co_await w.redis_sessions->check_index_key(cfg.development);
                        if (same && *same) {
                            index_key_checked = true;
                            co_return;
                        }
                        if (same) {
                            log::error(
                                "user-index-key is not the one this Redis's sessions are indexed with: "
                                "refusing to serve, as lists and revoke-all would miss every session. Start "
                                "with the deployment's index key; or, to index with this one from now on "
                                "(existing sessions are then missed by lists and revoke-all), delete the key",
                                {{"key", w.redis_sessions->index_key_name()}});
                            exit_code = 2;
                            stop_all();
                            co_return;
                        }
                    }
                    pause.expires_after(std::chrono::milliseconds(100));
                    co_await pause.async_wait(boost::asio::use_awaitable);
                }
            },
            log::contained{"index key check"});
    }

    // Key material is on its pages by now; once, not per allocation.
    if (const int e = secure_memory_lock_error(); e != 0)
        log::warn(
            "key material could not be locked in memory and may be swapped out; raise RLIMIT_MEMLOCK "
            "(systemd: LimitMEMLOCK=) or grant CAP_IPC_LOCK",
            {{"error", std::string_view(std::strerror(e))}});
    // Logged once the signals are handled: whoever waits for this line may
    // signal sessiond at once (SIGHUP must not kill it then).
    if (prepared.assertions) {
        std::string kids;
        for (const auto& kid : prepared.assertions->kids())
            kids += (kids.empty() ? "" : ",") + kid;
        log::info("signed assertions", {{"signing_kid", prepared.assertions->signing_kid()},
                                        {"kids", kids},
                                        {"issuer", prepared.assertions->settings().issuer}});
    }
    if (ops) log::info("operations listener", {{"address", cfg.http.ops_address}, {"port", ops_port}});
    log::info("listening", {{"address", cfg.http.address},
                            {"port", port},
                            {"tls", tls != nullptr},
                            {"io_threads", threads},
                            {"store", redis_cfg ? "redis" : "memory"},
                            {"dumpable", is_dumpable()},
                            {"version", SESSIOND_VERSION}});
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < workers.size(); ++i)
        pool.emplace_back([w = workers[i].get()] { run_contained(w->ioc); });
    run_contained(workers[0]->ioc);
    for (auto& t : pool)
        t.join();

    log::info("stopped");
    log::shutdown();
    return exit_code;
}

}  // namespace sessiond
