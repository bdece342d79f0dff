#include "app/security.hpp"

#include <fstream>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include "app/settings.hpp"
#include "common/secure_memory.hpp"

namespace sessiond::app {

namespace {

// Wipes the strings it was given on every way out, thrown or returned.
struct wipe_on_exit {
    std::vector<std::string*> secrets;
    ~wipe_on_exit() {
        for (auto* s : secrets)
            secure_wipe(*s);
    }
};

// The token keys and the user index key, from the options or their files.
std::shared_ptr<const session::keyring> load_keys(const config& cfg, std::vector<startup_warning>& warnings) {
    std::string token_keys = cfg.token.keys, index_key = cfg.token.user_index_key;
    const wipe_on_exit wipe{{&token_keys, &index_key}};
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
            throw invalid_value("token-keys", "required (with user-index-key) outside development mode");
        warnings.push_back(
            {"no token keys configured: using an ephemeral key, every token dies with this process", {}, {}});
        return std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
    }
    if (token_keys.empty() || index_key.empty())
        throw invalid_value(token_keys.empty() ? "token-keys" : "user-index-key",
                            "token-keys and user-index-key are set together");
    try {
        std::optional<std::uint8_t> kid;
        if (cfg.token.signing_kid) kid = static_cast<std::uint8_t>(cfg.token.signing_kid);
        return std::make_shared<const session::keyring>(session::keyring::parse(token_keys, index_key, kid));
    } catch (const session::keyring_error& e) {
        throw invalid_value("token-keys", e.what());
    }
}

// The callers: by API key (the option, then its file) and by certificate.
api::callers load_callers(const config& cfg) {
    std::string callers = cfg.auth.api_keys;
    const wipe_on_exit wipe{{&callers}};
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
        throw invalid_value("api-keys", e.what());
    }
    try {
        parsed.add_tls_callers(cfg.auth.tls_callers);
    } catch (const std::invalid_argument& e) {
        throw invalid_value("tls-callers", e.what());
    }
    if (parsed.tls_callers() > 0 && cfg.http.tls_client_auth == client_auth_mode::none)
        throw invalid_value("tls-callers", "callers by certificate need tls-client-auth = optional or require");
    return parsed;
}

}  // namespace

std::string secret_file(const std::string& path, const char* option, std::size_t max_bytes) {
    auto content = read_secret_file(path, max_bytes);
    if (!content) throw config_error(file_error_text(option, path, content.error(), max_bytes));
    return std::move(*content);
}

std::string assertion_kids(const service::assertion_signer* signer) {
    std::string kids;
    if (signer)
        for (const auto& kid : signer->kids())
            kids += (kids.empty() ? "" : ",") + kid;
    return kids;
}

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
    for (const auto& [kid, path] : cfg.assertion.keys.entries())
        check("assertion-keys", path);
    return out;
}

security load_security(const config& cfg) {
    security out;
    out.keys = load_keys(cfg, out.warnings);
    api::callers parsed = load_callers(cfg);
    // With several audiences, a redeem caller bound to none can burn any
    // audience's assertions; it keeps working as before, with a warning.
    if (cfg.assertion.audiences.entries().size() > 1)
        for (const auto& name : parsed.unbound_redeemers())
            out.warnings.push_back({"caller '" + name +
                                        "' may redeem assertions for every audience: bind it to its own with the "
                                        "scope assertions:redeem:<audience>",
                                    "api-keys",
                                    {}});
    if (parsed.empty()) {
        if (!cfg.development)
            throw invalid_value("api-keys",
                                "at least one caller key is required outside development mode (see: sessiond keygen)");
        parsed = api::callers::allow_all();
        out.warnings.push_back({"no API keys configured: every request is allowed every scope", {}, {}});
    }
    out.callers = std::make_shared<const api::callers>(std::move(parsed));
    return out;
}

std::shared_ptr<const service::assertion_signer> load_assertions(const assertion_config& a) {
    const auto& files = a.keys.entries();
    if (files.empty()) return nullptr;
    service::assertion_settings settings;
    settings.issuer = a.issuer;
    settings.audiences = a.audiences.entries();
    settings.ttl = std::chrono::duration_cast<std::chrono::seconds>(a.ttl);
    settings.max_ttl = std::chrono::duration_cast<std::chrono::seconds>(a.max_ttl);
    settings.claims = a.claims.entries();
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
        throw invalid_value("assertion-keys", e.what());
    }
}

std::shared_ptr<const service::oidc_providers> load_oidc(const oidc_config& o) {
    const auto& entries = o.providers.entries();
    if (entries.empty()) return nullptr;
    auto out = std::make_shared<service::oidc_providers>();
    out->max_age = std::chrono::duration_cast<std::chrono::seconds>(o.logout_max_age);
    for (const auto& e : entries) {
        service::oidc_provider p{e.name, e.issuer, e.client_id, {}, nullptr};
        for (const auto& alg : e.algs)
            p.algs.push_back(*service::parse_jws_alg(alg));  // checked when the option was parsed
        std::ifstream in(e.jwks_file, std::ios::binary);
        if (!in)
            throw jwks_load_error(
                invalid_value("oidc-providers", "provider " + e.name + ": cannot read its JWKS file " + e.jwks_file)
                    .what());
        std::string text;
        // One byte past the bound is enough for parse() to refuse the file.
        text.resize(service::jwk_set::max_text + 1);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(in.gcount()));
        try {
            p.keys = service::jwk_set::parse(text);
        } catch (const service::jwks_error& err) {
            throw jwks_load_error(invalid_value("oidc-providers", "provider " + e.name + ": its JWKS file " +
                                                                      e.jwks_file + ": " + err.what())
                                      .what());
        }
        out->providers.push_back(std::move(p));
    }
    return out;
}

std::string oidc_kids(const service::oidc_providers* providers) {
    std::string out;
    if (providers)
        for (const auto& p : providers->providers) {
            out += (out.empty() ? "" : ";") + p.name + ":";
            std::string kids;
            for (const auto& kid : p.keys->kids())
                kids += (kids.empty() ? "" : ",") + (kid.empty() ? std::string("-") : kid);
            out += kids;
        }
    return out;
}

}  // namespace sessiond::app
