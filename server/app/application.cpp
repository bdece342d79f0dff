#include "app/application.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "app/listeners.hpp"
#include "app/ops_metrics.hpp"
#include "app/reload.hpp"
#include "app/settings.hpp"
#include "app/signals.hpp"
#include "app/threads.hpp"
#include "common/cpus.hpp"
#include "common/secure_memory.hpp"
#include "config/options.hpp"
#include "log/log.hpp"

namespace sessiond {

namespace {

// The warnings about how the daemon was started, once logging is set up.
void log_start_warnings(const config& cfg, const app::security& sec) {
    if (cfg.development) log::warn("development mode: insecure settings are allowed; never use it in production");
    if (is_dumpable()) log::warn("the process could not be made non-dumpable: a core dump would hold its keys");
    for (const auto& w : sec.warnings)
        if (w.file.empty())
            log::warn(w.message);
        else
            log::warn(w.message, {{"option", w.option}, {"file", w.file}});
}

// Logged once the signals are handled: whoever waits for the "listening"
// line may signal sessiond at once (SIGHUP must not kill it then).
void log_started(const app::io_threads& io, const app::startup& prepared, const app::ports& ports) {
    const config& cfg = io.cfg;
    // Key material is on its pages by now; once, not per allocation.
    if (const int e = secure_memory_lock_error(); e != 0)
        log::warn(
            "key material could not be locked in memory and may be swapped out; raise RLIMIT_MEMLOCK "
            "(systemd: LimitMEMLOCK=) or grant CAP_IPC_LOCK",
            {{"error", std::string_view(std::strerror(e))}});
    if (prepared.assertions)
        log::info("signed assertions", {{"signing_kid", prepared.assertions->signing_kid()},
                                        {"kids", app::assertion_kids(prepared.assertions.get())},
                                        {"issuer", prepared.assertions->settings().issuer}});
    if (prepared.oidc) log::info("OIDC back-channel logout", {{"providers", app::oidc_kids(prepared.oidc.get())}});
    if (io.ops.server) log::info("operations listener", {{"address", cfg.http.ops_address}, {"port", ports.ops}});
    log::info("listening", {{"address", cfg.http.address},
                            {"port", ports.main},
                            {"tls", io.tls != nullptr},
                            {"io_threads", io.workers.size()},
                            {"store", prepared.redis_cfg ? "redis" : "memory"},
                            {"dumpable", is_dumpable()},
                            {"version", SESSIOND_VERSION}});
}

}  // namespace

int check_startup(const config& cfg) {
    app::startup s;
    if (!app::prepare(cfg, s)) return 2;
    for (const auto& w : s.sec.warnings)
        if (!w.file.empty())
            std::fprintf(stderr, "sessiond: warning: %s: '%s' (%s)\n", w.message.c_str(), w.option.c_str(),
                         w.file.c_str());
    return 0;
}

int run(config& cfg, const config_source& reread) {
    app::startup prepared;
    const bool prepared_ok = app::prepare(cfg, prepared);
    // What a reload compares the new configuration with (secrets redacted).
    const std::string started_with = describe(cfg);
    wipe_secret_values(cfg);
    if (!prepared_ok) return 2;
    // A reader of stdout that goes away must not kill the daemon: writes
    // then fail with EPIPE, and the logger counts the lines it drops.
    std::signal(SIGPIPE, SIG_IGN);

    log::init(cfg.log);
    const std::size_t threads = cfg.http.io_threads ? cfg.http.io_threads : cpus::available();
    log_start_warnings(cfg, prepared.sec);
    const session::wall_clock clock{};
    const api::api_settings settings = app::api_settings_of(cfg);
    app::io_threads io(cfg, prepared, threads);
    if (!app::build_stacks(io, prepared, clock, settings)) {
        log::shutdown();
        return 2;
    }
    io.http_cfg = app::connection_limits(cfg, prepared.redis_cfg, threads);
    app::add_servers(io);
    const app::ops_metrics scraped(io);
    const auto ports = app::listen(io);
    if (!ports) {
        log::shutdown();
        return 1;
    }
    const app::signal_handlers signals(io, {reread, started_with, !cfg.auth.assertion_audience.empty(), io.keys,
                                            io.callers, io.assertion_signer, io.tls.get(), io.oidc});
    if (!io.memory) app::check_index_key(io);
    app::start_webhooks(io, prepared, clock);
    log_started(io, prepared, *ports);

    io.join();
    log::info("stopped");
    log::shutdown();
    return io.exit_code;
}

}  // namespace sessiond
