#include "api/health.hpp"

#include "common/metrics.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"

namespace sessiond::api {

void add_ops_routes(http::router& routes, const ops_probes& probes) {
    // Answered even at the connection limit: an orchestrator must not take
    // a busy instance for a dead one.
    const http::route_options probe{{}, true};
    routes.add(
        http::verb::get, "/healthz",
        [](http::request_context& ctx) -> boost::asio::awaitable<void> {
            http::set_json(ctx.res, http::status::ok, R"({"status":"ok"})");
            co_return;
        },
        probe);
    routes.add(
        http::verb::get, "/readyz",
        [probes](http::request_context& ctx) -> boost::asio::awaitable<void> {
            if (probes.store_ready())
                http::set_json(ctx.res, http::status::ok, R"({"status":"ready"})");
            else
                http::set_problem(ctx.res, sessiond::error::store_unavailable, "the session store cannot be reached",
                                  ctx.request_id);
            co_return;
        },
        probe);
    if (!probes.metrics) return;
    routes.add(http::verb::get, "/metrics", [probes](http::request_context& ctx) -> boost::asio::awaitable<void> {
        ctx.res.result(http::status::ok);
        ctx.res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        auto text = metrics::render(probes.open_connections(), probes.store_ready(),
                                    probes.extra_metrics ? probes.extra_metrics() : std::string());
        const auto lost = log::dropped();
        text +=
            "# HELP sessiond_log_lines_dropped_total Log lines lost: pushed out of a full queue, or not written.\n"
            "# TYPE sessiond_log_lines_dropped_total counter\n";
        text += "sessiond_log_lines_dropped_total{queue=\"access\",reason=\"queue_full\"} " +
                std::to_string(lost.access_queue) + "\n";
        text += "sessiond_log_lines_dropped_total{queue=\"events\",reason=\"queue_full\"} " +
                std::to_string(lost.events_queue) + "\n";
        text += "sessiond_log_lines_dropped_total{queue=\"any\",reason=\"write_failed\"} " +
                std::to_string(lost.write_failed) + "\n";
        ctx.res.body() = std::move(text);
        co_return;
    });
}

}  // namespace sessiond::api
