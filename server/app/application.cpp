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
#include "app/settings.hpp"
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

using app::startup;
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
    if (!app::prepare(cfg, s)) return 2;
    for (const auto& w : s.sec.warnings)
        if (!w.file.empty())
            std::fprintf(stderr, "sessiond: warning: %s: '%s' (%s)\n", w.message.c_str(), w.option.c_str(),
                         w.file.c_str());
    return 0;
}

int run(config& cfg, const config_source& reread) {
    startup prepared;
    const bool prepared_ok = app::prepare(cfg, prepared);
    // What a reload compares the new configuration with (secrets redacted).
    const std::string started_with = describe(cfg);
    // Parsed into the keyring and the Redis config (on key-material pages):
    // the configuration's text copies are no longer needed.
    app::wipe_secrets(cfg);
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
    const api::api_settings settings = app::api_settings_of(cfg);
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
        app::prepare_checked(next, fresh);
        const auto now = keys.current();
        // Ephemeral keys (development mode without keys) stay: new ones
        // would end every session.
        const bool ephemeral = next.token.keys.empty() && next.token.keys_file.empty();
        if (!ephemeral && fresh.sec.keys->user_index_fingerprint() != now->user_index_fingerprint())
            throw config_error(
                "user-index-key differs from the one in use: it cannot change while running (every user's "
                "index would be missed); restart with it, see docs/data-model.md");
        const std::string restart = needs_restart(started_with, describe(next));
        app::wipe_secrets(next);
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
        log::info("configuration reloaded",
                  {{"signing_kid", static_cast<std::int64_t>(kept->signing_kid())},
                   {"accepted_kids", kids},
                   {"assertion_signing_kid", fresh.assertions ? fresh.assertions->signing_kid() : std::string_view()},
                   {"assertion_kids", app::assertion_kids(fresh.assertions.get())},
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
        log::info("signed assertions", {{"signing_kid", prepared.assertions->signing_kid()},
                                        {"kids", app::assertion_kids(prepared.assertions.get())},
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
