#include "api/health.hpp"

#include "common/metrics.hpp"
#include "http/problem.hpp"

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
    routes.add(http::verb::get, "/metrics", [](http::request_context& ctx) -> boost::asio::awaitable<void> {
        ctx.res.result(http::status::ok);
        ctx.res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        ctx.res.body() = metrics::render();
        co_return;
    });
}

}  // namespace sessiond::api
