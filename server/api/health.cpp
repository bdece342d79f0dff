#include "api/health.hpp"

#include "http/problem.hpp"

namespace sessiond::api {

void add_health_routes(http::router& routes, std::function<bool()> store_ready) {
    routes.add(http::verb::get, "/healthz", [](http::request_context& ctx) -> boost::asio::awaitable<void> {
        http::set_json(ctx.res, http::status::ok, R"({"status":"ok"})");
        co_return;
    });
    routes.add(http::verb::get, "/readyz",
               [ready = std::move(store_ready)](http::request_context& ctx) -> boost::asio::awaitable<void> {
                   if (ready())
                       http::set_json(ctx.res, http::status::ok, R"({"status":"ready"})");
                   else
                       http::set_problem(ctx.res, sessiond::error::store_unavailable,
                                         "the session store cannot be reached", ctx.request_id);
                   co_return;
               });
}

}  // namespace sessiond::api
