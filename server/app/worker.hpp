#pragma once
// One I/O thread's stack: its own io_context, store (with Redis: its own
// client and connections), service, APIs, routes and HTTP server, so that a
// request is served from accept to reply on one thread without waking
// another.

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "api/assertions.hpp"
#include "api/backchannel_logout.hpp"
#include "api/events.hpp"
#include "api/callers.hpp"
#include "api/health.hpp"
#include "api/sessions.hpp"
#include "api/settings.hpp"
#include "common/reloadable.hpp"
#include "config/config.hpp"
#include "http/client_counts.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "redis/client.hpp"
#include "redis/config.hpp"
#include "service/assertions.hpp"
#include "service/backchannel_logout.hpp"
#include "service/event_feed.hpp"
#include "service/session_service.hpp"
#include "session/keyring.hpp"
#include "session/rules.hpp"
#include "session/token_codec.hpp"
#include "store/memory_store.hpp"
#include "store/redis_store.hpp"

namespace sessiond::app {

struct worker {
    boost::asio::io_context ioc{1};
    std::unique_ptr<redis::client> redis_client;
    std::unique_ptr<store::redis_store> redis_sessions;
    std::unique_ptr<service::session_service> service;
    std::unique_ptr<api::session_api> sessions;
    std::unique_ptr<service::assertion_service> assertions;
    std::unique_ptr<api::assertion_api> assertion_routes;
    std::unique_ptr<service::logout_service> logouts;
    std::unique_ptr<api::backchannel_logout_api> logout_routes;
    std::shared_ptr<service::event_feed> event_feed;  // null: events are off
    std::unique_ptr<api::events_api> event_routes;
    http::router routes;
    std::unique_ptr<http::server> server;
};

// What every thread's stack is built over: shared by the threads (the
// embedded store, the write marks) or read by each through a view of its own
// (the reloadable keys, callers and assertion signer).
struct stack_parts {
    const config& cfg;
    const session::clock& clock;
    const session::token_codec& codec;
    const session::policy& policy;
    const api::api_settings& settings;
    const reloadable<session::keyring>& keys;
    const reloadable<api::callers>& callers;
    const reloadable<service::assertion_signer>& assertion_signer;
    const reloadable<service::oidc_providers>& oidc;
    store::memory_store* memory;                // null: Redis
    const std::optional<redis::config>& redis;  // none: the embedded store
    store::record_format_options record_options;
    // The validation cache (with Redis): each thread's share, and the marks
    // of this instance's writes, shared (null: no cache).
    store::cache_limits cache_limits;
    std::shared_ptr<store::write_marks> write_marks;
    // The event streams open on every thread (events-max-streams is for the process).
    std::shared_ptr<std::atomic<std::size_t>> open_event_streams = std::make_shared<std::atomic<std::size_t>>(0);
};

// Builds a thread's store, service and APIs (with Redis, the client is
// started); false, the error logged, when the Redis client cannot be set up.
bool build_stack(worker& w, const stack_parts& parts);

// Where a thread's HTTP server listens and what it shares with the others.
struct server_parts {
    const http_config& http;
    bool access_log;
    std::atomic<std::size_t>& open_connections;
    http::client_counts& per_client;
    std::shared_ptr<http::tls_provider> tls;  // null: plain HTTP
};

// Adds the routes (probes, sessions, assertions) and the HTTP server.
void add_server(worker& w, const api::ops_probes& probes, const server_parts& parts);

// Runs an I/O thread's io_context until it is stopped. A handler that
// throws ends run() with its exception, which would end the thread and, in
// std::thread, the process (std::terminate, with no word in the log): it is
// logged and counted, and run() goes on with the next handler, as
// io_context allows.
void run_contained(boost::asio::io_context& ioc);

}  // namespace sessiond::app
