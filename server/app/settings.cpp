#include "app/settings.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "common/secure_memory.hpp"
#include "log/log.hpp"

namespace sessiond::app {

namespace {

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
    if (!parsed) throw invalid_value("redis-url", parsed.error().message());
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

// The option that sets a field of session::policy.
const char* policy_option(std::string_view field) {
    if (field == "idle_timeout") return "session-idle-timeout";
    if (field == "absolute_timeout") return "session-absolute-timeout";
    if (field == "max_idle_timeout") return "session-max-idle-timeout";
    if (field == "max_absolute_timeout") return "session-max-absolute-timeout";
    if (field == "touch_fraction") return "touch-fraction";
    return "rotation-grace";
}

// The session policy, checked.
session::policy make_policy(const session_config& s) {
    session::policy p;
    p.idle_timeout = s.idle_timeout;
    p.absolute_timeout = s.absolute_timeout;
    p.max_idle_timeout = s.max_idle_timeout;
    p.max_absolute_timeout = s.max_absolute_timeout;
    p.touch_fraction = s.touch_fraction;
    p.rotation_grace = s.rotation_grace;
    p.max_sessions_per_user = s.max_per_user;
    p.on_limit = s.limit_policy == session_limit_policy::reject ? session::limit_policy::reject
                                                                : session::limit_policy::evict_lru;
    try {
        session::validate(p);
    } catch (const session::policy_error& e) {
        throw invalid_value(policy_option(e.field()), e.why());
    }
    return p;
}

http::tls_settings tls_settings_of(const http_config& h) {
    http::tls_settings s;
    s.cert_file = h.tls_cert_file;
    s.key_file = h.tls_key_file;
    s.min_version = std::string(to_string(h.tls_min_version));
    s.client_ca_file = h.tls_client_ca_file;
    switch (h.tls_client_auth) {
        case client_auth_mode::none:
            s.client_auth_mode = http::client_auth::none;
            break;
        case client_auth_mode::optional:
            s.client_auth_mode = http::client_auth::optional;
            break;
        case client_auth_mode::require:
            s.client_auth_mode = http::client_auth::require;
            break;
    }
    return s;
}

}  // namespace

config_error invalid_value(std::string_view option, std::string_view why) {
    std::string text = "invalid value for '";
    text += option;
    text += "': ";
    text += why;
    return config_error(text);
}

void prepare_checked(const config& cfg, startup& out) {
    if (!cfg.store.redis_url.empty()) out.redis_cfg = make_redis_config(cfg.store);
    out.sec = load_security(cfg);
    for (auto& w : exposed_secret_files(cfg))
        out.sec.warnings.push_back(std::move(w));
    out.policy = make_policy(cfg.session);
    try {
        out.codec.emplace(cfg.token.prefix);
    } catch (const std::invalid_argument& e) {
        throw invalid_value("token-prefix", e.what());
    }
    out.assertions = load_assertions(cfg.assertion);
    out.oidc = load_oidc(cfg.oidc);
    out.webhooks = load_webhooks(cfg);
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

bool prepare(const config& cfg, startup& out) {
    try {
        prepare_checked(cfg, out);
    } catch (const config_error& e) {
        std::fprintf(stderr, "sessiond: %s\n", e.what());
        return false;
    }
    return true;
}

api::api_settings api_settings_of(const config& cfg) {
    api::api_settings settings;
    settings.metadata_max_bytes = cfg.session.metadata_max_bytes;
    settings.cookie = cfg.cookie;
    settings.api_key_header = cfg.auth.api_key_header;
    settings.user_header = cfg.auth.user_header;
    settings.id_header = cfg.auth.id_header;
    settings.metadata_headers = cfg.auth.metadata_headers.entries();
    settings.login_url = cfg.auth.login_url;
    settings.redirect_hosts = cfg.auth.redirect_hosts.entries();
    settings.redirect_param = cfg.auth.redirect_param;
    settings.original_headers = cfg.auth.original_headers.entries();
    settings.client_addresses = {cfg.session.device_address, cfg.http.trusted_proxies.entries()};
    return settings;
}

store::event_settings event_settings_of(const config& cfg) {
    store::event_settings out;
    out.enabled = cfg.store.events;
    out.max_per_stream = cfg.store.events_max_per_bucket;
    out.retention = cfg.store.events_retention;
    out.instance = cfg.store.instance_name;
    if (out.instance.empty()) {
        std::array<char, 256> host{};
        if (::gethostname(host.data(), host.size() - 1) == 0) out.instance = host.data();
    }
    return out;
}

}  // namespace sessiond::app
