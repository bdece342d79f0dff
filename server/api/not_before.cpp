// GET and POST /v1/not-before: the instants before which sessions are
// ended, for everyone or for a tenant (session/not_before.hpp), and the
// instant at which all of one user's sessions were last ended.

#include <boost/json/monotonic_resource.hpp>

#include "api/authorization.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "api/query_params.hpp"
#include "api/revocations.hpp"
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

constexpr std::string_view user_id_rule = "user must be 1..256 bytes of UTF-8 without control characters";

}  // namespace

asio::awaitable<void> session_api::get_not_before(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    std::optional<std::string> user_id;
    if (!only_params(ctx, {"user"}) || !read_param(ctx, "user", user_id)) co_return;
    if (user_id && !session::valid_user_id(*user_id)) {
        malformed(ctx, std::string(user_id_rule));
        co_return;
    }
    std::optional<session::timestamp> user_at;
    if (user_id) {
        auto user_read = co_await sessions_.user_not_before(*user_id);
        if (!user_read) co_return set_failure(ctx, user_read.error());
        user_at = user_read->value_or(session::min_timestamp);
    }
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
    out += '}';
    if (user_id) {
        out += R"(,"user":{"id":)";
        append_json_string(out, *user_id);
        out += R"(,"not_before":)";
        append_instant(out, *user_at);
        out += '}';
    }
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

asio::awaitable<void> session_api::set_not_before(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_admin);
    if (!who) co_return;
    unsigned char buffer[1024];
    boost::json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"tenant", "user"})) co_return;
    auto tenant = get_string(ctx, *body, "tenant", false);
    if (!tenant) co_return;
    auto user_id = get_string(ctx, *body, "user", false);
    if (!user_id) co_return;
    // Present but empty is not "everyone": only {} signs everyone out.
    const bool for_user = body->contains("user"), for_tenant = body->contains("tenant");
    if (for_user) {
        if (for_tenant) {
            malformed(ctx, "name a tenant or a user, not both");
            co_return;
        }
        if (!session::valid_user_id(*user_id)) {
            malformed(ctx, std::string(user_id_rule));
            co_return;
        }
        co_return co_await set_user_not_before(ctx, *user_id, actor_of(*who, ctx));
    }
    if (for_tenant && !session::valid_name(*tenant, session::max_tenant_size)) {
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

asio::awaitable<void> session_api::set_user_not_before(http::request_context& ctx, std::string_view user_id,
                                                       service::actor who) {
    const auto at = sessions_.clock().now();
    const auto outcome = co_await sessions_.set_user_not_before(user_id, at, who);
    if (outcome.failure) co_return reply_revocation(ctx, outcome);
    std::string out = R"({"user":)";
    append_json_string(out, user_id);
    out += R"(,"not_before":)";
    append_instant(out, at);
    out.append(R"(,"revoked":)").append(std::to_string(outcome.revoked)).append(1, '}');
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

}  // namespace sessiond::api
