#include "api/assertions.hpp"

#include <boost/json/serialize.hpp>

#include "api/authorization.hpp"
#include "api/errors.hpp"
#include "api/headers.hpp"
#include "api/json_body.hpp"
#include "api/session_json.hpp"
#include "common/json_text.hpp"
#include "http/problem.hpp"
#include "session/errc.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
using service::assertion_errc;

assertion_api::assertion_api(service::assertion_service& assertions, const reloadable<callers>& callers,
                             std::string api_key_header)
    : assertions_(assertions), callers_(callers), api_key_header_(std::move(api_key_header)) {}

assertion_api::assertion_api(service::assertion_service& assertions, shared_callers callers, std::string api_key_header)
    : assertions_(assertions), callers_(std::move(callers)), api_key_header_(std::move(api_key_header)) {}

std::shared_ptr<const caller> assertion_api::authorize(http::request_context& ctx, scope needed) const {
    return api::authorize(ctx, callers_.get(), needed, api_key_header_);
}

void assertion_api::add_routes(http::router& routes) {
    auto bind = [this](awaitable (assertion_api::*fn)(http::request_context&)) {
        return [this, fn](http::request_context& ctx) { return (this->*fn)(ctx); };
    };
    auto refuse_early = [this](scope needed) {
        return http::route_options{
            [this, needed](http::request_context& ctx) { return authorize(ctx, needed) && accepts_json(ctx); }};
    };
    routes.add(http::verb::post, "/v1/assertions", bind(&assertion_api::mint), refuse_early(scope_mint));
    routes.add(http::verb::post, "/v1/assertions/redeem", bind(&assertion_api::redeem), refuse_early(scope_redeem));
    routes.add(http::verb::get, "/.well-known/jwks.json", bind(&assertion_api::jwks));
}

asio::awaitable<void> assertion_api::mint(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_mint);
    if (!who) co_return;
    flat_body body{"token", "audience", "ttl", "max_auth_age"};
    if (!read_flat(ctx, body)) co_return;
    auto token = get_string(ctx, body, "token", true);
    if (!token) co_return;
    auto audience = get_string(ctx, body, "audience", true);
    if (!audience) co_return;
    if (!who->may_mint_for(*audience)) {
        http::set_problem(ctx.res, sessiond::error::forbidden,
                          "the caller may not mint assertions for this audience (its assertions:mint:<audience> "
                          "scopes name others)",
                          ctx.request_id);
        co_return;
    }
    const auto signer = assertions_.signer();
    if (!signer) co_return set_failure(ctx, assertion_errc::disabled);
    auto ttl = get_int(ctx, body, "ttl", 1, signer->settings().max_ttl.count());
    if (!ttl) co_return;
    auto max_age = get_int(ctx, body, "max_auth_age", 0, INT32_MAX);
    if (!max_age) co_return;
    if (token->size() > max_token_field) co_return set_failure(ctx, session::errc::malformed_token);

    service::mint_request request{*token, *audience, std::nullopt, session::check_options{}};
    if (*ttl) request.ttl = std::chrono::seconds(**ttl);
    if (*max_age) request.check.max_auth_age = std::chrono::seconds(**max_age);
    auto minted = co_await assertions_.mint(request, {who->name, ctx.request_id});
    if (!minted) co_return set_failure(ctx, minted.error());
    std::string out;
    out.reserve(minted->assertion.size() + 96);
    out += R"({"assertion":")";
    out += minted->assertion;  // base64url and dots: nothing to escape
    out += R"(","jti":")";
    out += minted->jti;
    out += R"(","expires_at":")";
    out += format_rfc3339(minted->expires_at);
    out += "\"}";
    http::set_json(ctx.res, http::status::created, std::move(out));
    ctx.res.set(http::field::cache_control, "no-store");
}

asio::awaitable<void> assertion_api::redeem(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_redeem);
    if (!who) co_return;
    flat_body body{"assertion", "audience"};
    if (!read_flat(ctx, body)) co_return;
    auto assertion = get_string(ctx, body, "assertion", true);
    if (!assertion) co_return;
    auto audience = get_string(ctx, body, "audience", true);
    if (!audience) co_return;
    // Before anything is read or marked used: a caller bound to other
    // audiences can neither burn nor probe this one's assertions.
    if (!who->may_redeem_for(*audience)) {
        http::set_problem(ctx.res, sessiond::error::forbidden,
                          "the caller may not redeem assertions for this audience (its assertions:redeem:<audience> "
                          "scopes name others)",
                          ctx.request_id);
        co_return;
    }
    if (assertion->size() > service::assertion_signer::max_size) {
        malformed(ctx, "assertion exceeds " + std::to_string(service::assertion_signer::max_size) + " bytes");
        co_return;
    }
    auto claims = co_await assertions_.redeem(*assertion, *audience, {who->name, ctx.request_id});
    if (!claims) co_return set_failure(ctx, claims.error());
    http::set_json(ctx.res, http::status::ok, R"({"claims":)" + boost::json::serialize(*claims) + "}");
    ctx.res.set(http::field::cache_control, "no-store");
}

asio::awaitable<void> assertion_api::jwks(http::request_context& ctx) {
    const auto signer = assertions_.signer();
    if (!signer) co_return set_failure(ctx, assertion_errc::disabled);
    http::set_json(ctx.res, http::status::ok, signer->jwks());
    ctx.res.set(http::field::cache_control,
                "public, max-age=" + std::to_string(signer->settings().jwks_max_age.count()));
}

}  // namespace sessiond::api
