// GET and POST /v1/not-before: the instants before which sessions are
// ended, for everyone or for a tenant (session/not_before.hpp).

#include <boost/json/monotonic_resource.hpp>

#include "api/authorization.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/session_json.hpp"
#include "api/sessions.hpp"
#include "common/json_text.hpp"
#include "http/problem.hpp"

namespace sessiond::api {

namespace asio = boost::asio;

namespace {

void append_instant(std::string& out, session::timestamp at) {
    if (at == session::min_timestamp) {
        out += "null";
        return;
    }
    out += '"';
    out += format_rfc3339(at);
    out += '"';
}

}  // namespace

asio::awaitable<void> session_api::get_not_before(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    auto read = co_await sessions_.not_before();
    if (!read) co_return set_failure(ctx, read.error());
    const auto& instants = **read;
    std::string out = R"({"all":)";
    append_instant(out, instants.all);
    out += R"(,"tenants":{)";
    bool first = true;
    for (const auto& [tenant, at] : instants.tenants) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, tenant);
        out += ':';
        append_instant(out, at);
    }
    out += "}}";
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

asio::awaitable<void> session_api::set_not_before(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_admin);
    if (!who) co_return;
    unsigned char buffer[1024];
    boost::json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"tenant"})) co_return;
    auto tenant = get_string(ctx, *body, "tenant", false);
    if (!tenant) co_return;
    if (!tenant->empty() && !session::valid_name(*tenant, session::max_tenant_size)) {
        malformed(ctx, "tenant must be 1.." + std::to_string(session::max_tenant_size) +
                           " letters, digits, '-', '_', '.' or ':'");
        co_return;
    }
    const auto at = sessions_.clock().now();
    auto set = co_await sessions_.set_not_before(*tenant, at, {who->name, ctx.request_id});
    if (!set)
        co_return set_failure(ctx, set.error(),
                              set.error() == sessiond::error::session_limit
                                  ? "at most 10000 tenants may have an instant of their own"
                                  : "");
    std::string out = R"({"tenant":)";
    if (tenant->empty())
        out += "null";
    else
        append_json_string(out, *tenant);
    out += R"(,"not_before":)";
    append_instant(out, at);
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

}  // namespace sessiond::api
