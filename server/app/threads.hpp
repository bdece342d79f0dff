#pragma once
// The I/O threads: each one's stack (app/worker.hpp) and what they share:
// the embedded store, the reloadable keys and callers, the certificate, the
// connection counts, the operations listener. Built by run(), read by the
// probes, the signal handlers and the index key check.

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "api/callers.hpp"
#include "api/settings.hpp"
#include "app/settings.hpp"
#include "app/webhooks.hpp"
#include "app/worker.hpp"
#include "common/reloadable.hpp"
#include "config/config.hpp"
#include "http/client_counts.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "service/assertions.hpp"
#include "session/keyring.hpp"
#include "session/rules.hpp"
#include "store/memory_store.hpp"

namespace sessiond::app {

// The operations listener: plain HTTP on thread 0, with connection counts
// of its own, so that probes and scrapes get through while the main
// listener is at its limits.
struct ops_listener {
    http_config cfg;
    http::router routes;
    http::client_counts per_client{0};
    std::atomic<std::size_t> open{0};
    std::unique_ptr<http::server> server;  // null: none (ops-port = 0)
};

struct io_threads {
    io_threads(const config& cfg, const startup& prepared, std::size_t count);

    const config& cfg;
    // What the threads' servers share; they hold references to these, which
    // therefore outlive them.
    http_config http_cfg;  // cfg.http, max-connections within the descriptor limit
    http::client_counts per_client;
    std::atomic<std::size_t> open_connections{0};
    // Token keys and callers: replaced whole by a reload, read per thread.
    reloadable<session::keyring> keys;
    reloadable<api::callers> callers;
    reloadable<service::assertion_signer> assertion_signer;
    reloadable<service::oidc_providers> oidc;
    // HTTPS: the certificate loaded by prepare(), and again on SIGHUP.
    std::shared_ptr<http::tls_provider> tls;
    std::vector<std::unique_ptr<worker>> workers;
    // The embedded store is shared by all threads (it locks per shard); a
    // Redis store is per thread, over that thread's connections. Null with
    // Redis.
    std::unique_ptr<store::memory_store> memory;
    // With Redis, ready only once the index key is known to be this
    // deployment's (check_index_key).
    std::atomic<bool> index_key_checked;
    ops_listener ops;
    // The webhook deliverers, on thread 0 (null: none); destroyed before the threads' stacks.
    std::unique_ptr<app::webhooks> hooks;
    int exit_code = 0;

    // Connected (with Redis: every thread's store, not refused for lack of
    // a permission lately) and the index key checked.
    bool store_ready() const;
    // Stops the stores' work and every thread's io_context.
    void stop();
    // Runs thread 0 here and the others on threads of their own until all
    // are stopped.
    void join();
};

// Each thread's store, service and APIs; false, the error logged, when a
// Redis client cannot be set up.
bool build_stacks(io_threads& io, const startup& prepared, const session::clock& clock,
                  const api::api_settings& settings);

// Starts the webhook deliverers on thread 0, over its store (none without webhooks).
void start_webhooks(io_threads& io, startup& prepared, const session::clock& clock);

// The user index key must be the one this Redis's sessions are indexed
// with: with another, every list and revoke-all would silently miss the
// sessions, which would go on validating. Checked on thread 0 once Redis
// answers; a mismatch stops the daemon with exit status 2.
void check_index_key(io_threads& io);

}  // namespace sessiond::app
