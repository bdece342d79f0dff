#include "app/reload.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "app/settings.hpp"
#include "common/metrics.hpp"
#include "config/options.hpp"
#include "log/log.hpp"

namespace sessiond::app {

namespace {

// The reload outcomes, by result.
constexpr std::array<std::string_view, 2> outcomes = {"ok", "failed"};
constexpr std::size_t ok = 0, failed = 1;
const metrics::counter_family config_reloads{
    "sessiond_config_reloads_total",
    "Configuration reloads (SIGHUP), by result: a failed one keeps the configuration in use.", metrics::type::counter,
    "result", outcomes};
const metrics::counter_family tls_reloads{
    "sessiond_tls_reloads_total", "Certificate reloads (SIGHUP), by result: a failed one keeps the old certificate.",
    metrics::type::counter, "result", outcomes};

const metrics::counter_family jwks_reloads{
    "sessiond_oidc_jwks_reloads_total",
    "OIDC providers' JWKS files read again (SIGHUP), by result: a failed one keeps the keys in use.",
    metrics::type::counter, "result", outcomes};

// A configuration read again and checked in full, not yet applied.
struct checked_reload {
    config next;
    startup fresh;
    bool ephemeral = false;  // development mode without keys: the keys in use stay
    std::string restart;     // the options only a restart applies that differ
    std::optional<http::tls_provider::loaded> tls;
};

// Throws config_error (or what loading the certificate throws) for the
// first problem; changes nothing.
checked_reload check(const reload_target& t) {
    if (!t.reread) throw config_error("this process cannot read its configuration again");
    checked_reload c{t.reread(), {}, false, {}, {}};
    try {
        prepare_checked(c.next, c.fresh);
    } catch (const jwks_load_error&) {
        jwks_reloads.local(failed).inc();  // counted apart, like the certificate
        throw;
    }
    const auto now = t.keys.current();
    // Ephemeral keys (development mode without keys) stay: new ones
    // would end every session.
    c.ephemeral = c.next.token.keys.empty() && c.next.token.keys_file.empty();
    if (!c.ephemeral && c.fresh.sec.keys->user_index_fingerprint() != now->user_index_fingerprint())
        throw config_error(
            "user-index-key differs from the one in use: it cannot change while running (every user's "
            "index would be missed); restart with it, see docs/data-model.md");
    c.restart = needs_restart(t.started_with, describe(c.next));
    wipe_secret_values(c.next);
    if (t.tls) c.tls = t.tls->load();
    if (t.assertion_audience && !c.fresh.assertions)
        throw config_error("assertion-keys cannot be emptied while auth-assertion-audience is set");
    return c;
}

void log_reloaded(const reload_target& t, const checked_reload& c,
                  const std::optional<http::certificate_info>& certificate) {
    const auto kept = t.keys.current();
    std::string kids;
    for (auto kid : kept->kids())
        kids += (kids.empty() ? "" : ",") + std::to_string(kid);
    log::info("configuration reloaded",
              {{"signing_kid", static_cast<std::int64_t>(kept->signing_kid())},
               {"accepted_kids", kids},
               {"assertion_signing_kid", c.fresh.assertions ? c.fresh.assertions->signing_kid() : std::string_view()},
               {"assertion_kids", assertion_kids(c.fresh.assertions.get())},
               {"oidc_providers", oidc_kids(c.fresh.oidc.get())},
               {"log_level", to_string(c.next.log.level)}});
    if (certificate) {
        tls_reloads.local(ok).inc();
        log::info("TLS certificate reloaded",
                  {{"subject", certificate->subject},
                   {"not_after_unix", static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                                    certificate->not_after.time_since_epoch())
                                                                    .count())}});
    }
    if (!c.restart.empty())
        log::warn("options that only a restart applies differ from those in use; they were not changed",
                  {{"options", c.restart}});
}

// The parts a reload rebuilds, in the order applied: the log level last, so
// that what the reload logs is written at the level in use.
constexpr std::array<on_reload, 5> applied_parts = {on_reload::token_keys, on_reload::callers, on_reload::assertions,
                                                    on_reload::oidc, on_reload::log_level};

// Replaces one part of the running server with the one built from the new
// configuration: what an option whose row names `part` changes.
void apply(on_reload part, const reload_target& t, const checked_reload& c) {
    switch (part) {
        case on_reload::restart:
            return;
        case on_reload::token_keys:
            if (!c.ephemeral) t.keys.publish(c.fresh.sec.keys);
            return;
        case on_reload::callers:
            t.callers.publish(c.fresh.sec.callers);
            return;
        case on_reload::assertions:
            t.assertion_signer.publish(c.fresh.assertions);
            return;
        case on_reload::oidc:
            if (c.fresh.oidc) jwks_reloads.local(ok).inc();
            t.oidc.publish(c.fresh.oidc);
            return;
        case on_reload::log_level:
            log::set_level(to_string(c.next.log.level));
            return;
    }
}

void reload(const reload_target& t) {
    checked_reload c = check(t);
    // Checked: from here on nothing throws before all of it is applied.
    std::optional<http::certificate_info> certificate;
    // The certificate's files are read again whatever their options say.
    if (c.tls) certificate = t.tls->use(std::move(*c.tls));
    for (const auto part : applied_parts) {
        if (part == on_reload::log_level) log_reloaded(t, c, certificate);
        apply(part, t, c);
    }
}

}  // namespace

void reload_on_signal(const reload_target& target) {
    try {
        reload(target);
        config_reloads.local(ok).inc();
    } catch (const std::exception& e) {
        config_reloads.local(failed).inc();
        if (target.tls) tls_reloads.local(failed).inc();
        log::error("SIGHUP received: reload failed, the configuration in use stays",
                   {{"error", std::string_view(e.what())}});
    }
}

std::span<const on_reload> parts_a_reload_applies() {
    return applied_parts;
}

std::string needs_restart(const std::string& before, const std::string& after) {
    // A secret's text is wiped once parsed: there is nothing to compare.
    auto compared = [](std::string_view name) {
        const option_def* o = find_option(name);
        return o && o->reload == on_reload::restart && !o->secret;
    };
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
        if (!compared(name)) continue;
        const auto it = a.find(name);
        if (it == a.end() || it->second != value) out += (out.empty() ? "" : ", ") + name;
    }
    return out;
}

}  // namespace sessiond::app
