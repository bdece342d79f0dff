#pragma once
// SIGHUP: the configuration is read again from where it came (the files'
// current content; flags and environment as at start) and checked in full
// as at start, the TLS certificate loaded. Only then do the token keys, the
// callers, the assertion keys, the log level and the certificate change;
// anything wrong, and all of it stays as it was: nothing is applied before
// the last check has passed. Requests in flight keep the keys and callers
// they started with. The options a reload does not apply are named in a
// warning (needs_restart).

#include <span>
#include <string>

#include "api/callers.hpp"
#include "app/application.hpp"
#include "common/reloadable.hpp"
#include "config/options.hpp"
#include "http/tls.hpp"
#include "service/assertions.hpp"
#include "service/oidc_providers.hpp"
#include "session/keyring.hpp"

namespace sessiond::app {

// What a reload replaces, and what it compares the new configuration with.
struct reload_target {
    const config_source& reread;  // empty: this process cannot reload
    std::string started_with;     // describe() of the configuration at start
    bool assertion_audience;      // auth-assertion-audience is set: assertion keys stay required
    reloadable<session::keyring>& keys;
    reloadable<api::callers>& callers;
    reloadable<service::assertion_signer>& assertion_signer;
    http::tls_provider* tls;  // null: plain HTTP
    reloadable<service::oidc_providers>& oidc;
};

// Reloads, logs what changed, and counts the reload in the metrics; a
// reload that fails changes nothing and is logged.
void reload_on_signal(const reload_target& target);

// The options that differ between two describe() texts, but for those a
// reload applies (their row in the options table names the part it
// rebuilds) and the secret ones (whose text the daemon wiped).
std::string needs_restart(const std::string& before, const std::string& after);

// The parts of the running server a reload rebuilds (on_reload), for the
// test that holds them to the options table.
std::span<const on_reload> parts_a_reload_applies();

}  // namespace sessiond::app
