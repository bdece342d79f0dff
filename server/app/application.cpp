#include "app/application.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <thread>
#include <vector>

#include "api/health.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace sessiond {

int run(const config& cfg) {
    log::init(cfg.log);
    std::size_t threads = cfg.http.io_threads ? cfg.http.io_threads : std::max(1u, std::thread::hardware_concurrency());
    if (cfg.development) log::warn("development mode: insecure settings are allowed; never use it in production");

    boost::asio::io_context ioc(static_cast<int>(threads));

    http::router routes;
    api::add_health_routes(routes, [] { return true; });

    http::server server(ioc, cfg.http, routes, cfg.log.access_log);
    try {
        server.start();
    } catch (const std::exception& e) {
        log::error("cannot listen", {{"address", cfg.http.address}, {"port", cfg.http.port}, {"error", e.what()}});
        log::shutdown();
        return 1;
    }
    log::info("listening", {{"address", cfg.http.address},
                            {"port", server.port()},
                            {"io_threads", threads},
                            {"store", cfg.store.redis_url.empty() ? "memory" : "redis"},
                            {"version", SESSIOND_VERSION}});

    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    bool draining = false;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (draining) {
            log::warn("second signal, stopping now", {{"signal", sig}});
            ioc.stop();
            return;
        }
        draining = true;
        log::info("shutting down", {{"signal", sig},
                                    {"connections", server.active_connections()},
                                    {"drain_timeout_ms", static_cast<std::int64_t>(cfg.http.drain_timeout.count())}});
        server.shutdown([&ioc] { ioc.stop(); });
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < threads; ++i)
        pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool)
        t.join();

    log::info("stopped");
    log::shutdown();
    return 0;
}

}  // namespace sessiond
