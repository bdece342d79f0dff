#include "app/worker.hpp"

#include <exception>

#include "app/settings.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"

namespace sessiond::app {

bool build_stack(worker& w, const stack_parts& parts) {
    const config& cfg = parts.cfg;
    store::session_store* sessions = parts.memory;
    if (parts.redis) {
        try {
            w.redis_client = std::make_unique<redis::client>(w.ioc, *parts.redis, 1);
        } catch (const std::exception& e) {
            log::error("cannot set up the Redis client", {{"error", e.what()}});
            return false;
        }
        if (parts.write_marks) w.redis_client->enable_tracking(cfg.store.redis_key_prefix);
        w.redis_sessions =
            std::make_unique<store::redis_store>(*w.redis_client, parts.clock, cfg.store.redis_key_prefix,
                                                 store::record_sealer(parts.keys, parts.record_options));
        if (parts.write_marks) w.redis_sessions->enable_cache(parts.cache_limits, parts.write_marks);
        w.redis_sessions->enable_events(event_settings_of(cfg));
        w.redis_client->start();
        sessions = w.redis_sessions.get();
    }
    w.service =
        std::make_unique<service::session_service>(*sessions, parts.keys, parts.codec, parts.clock, parts.policy);
    w.sessions = std::make_unique<api::session_api>(*w.service, parts.callers, parts.settings);
    w.assertions = std::make_unique<service::assertion_service>(*w.service, *sessions, parts.assertion_signer);
    w.assertion_routes = std::make_unique<api::assertion_api>(*w.assertions, parts.callers, cfg.auth.api_key_header);
    w.service->use_providers(parts.oidc);
    w.logouts = std::make_unique<service::logout_service>(*w.service, *sessions, parts.oidc);
    w.logout_routes = std::make_unique<api::backchannel_logout_api>(*w.logouts);
    if (cfg.store.events) {
        const service::event_feed_settings feed{cfg.store.events_poll_interval, cfg.store.events_stream_queue,
                                                cfg.store.events_stream_queue * 1024, cfg.store.events_resume_margin,
                                                cfg.store.events_max_streams};
        w.event_feed = std::make_shared<service::event_feed>(w.ioc.get_executor(), *sessions, parts.clock, feed,
                                                             parts.open_event_streams);
    }
    w.event_routes = std::make_unique<api::events_api>(w.event_feed, parts.callers, cfg.auth.api_key_header,
                                                       cfg.store.events_heartbeat);
    if (!cfg.auth.assertion_audience.empty())
        w.sessions->add_assertions(*w.assertions, cfg.auth.assertion_audience, cfg.auth.assertion_header);
    return true;
}

void add_server(worker& w, const api::ops_probes& probes, const server_parts& parts) {
    api::add_ops_routes(w.routes, probes);
    w.sessions->add_routes(w.routes);
    w.assertion_routes->add_routes(w.routes);
    w.logout_routes->add_routes(w.routes);
    w.event_routes->add_routes(w.routes);
    w.server = std::make_unique<http::server>(w.ioc, parts.http, w.routes, parts.access_log, parts.open_connections,
                                              parts.per_client);
    if (parts.tls) w.server->use_tls(parts.tls);
}

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

}  // namespace sessiond::app
