#include "api/sessions.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "api/authorization.hpp"
#include "api/client_address.hpp"
#include "api/cookies.hpp"
#include "api/cursors.hpp"
#include "api/errors.hpp"
#include "api/headers.hpp"
#include "api/json_body.hpp"
#include "api/query_params.hpp"
#include "api/revocations.hpp"
#include "api/session_context.hpp"
#include "api/session_json.hpp"
#include "common/json_text.hpp"
#include "http/problem.hpp"
#include "session/errc.hpp"
#include "session/rules.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
namespace json = boost::json;
using session::session_record;

namespace {

// The domain's rule, for the path parameter as for the create body.
using session::valid_user_id;

void reply_session(http::request_context& ctx, const session_record& r) {
    std::string out;
    out.reserve(400 + r.metadata.size());
    out += R"({"session":)";
    append_json(r, out);
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

}  // namespace

session_api::session_api(service::session_service& sessions, shared_callers callers, api_settings settings)
    : sessions_(sessions), callers_(std::move(callers)), settings_(std::move(settings)) {}

session_api::session_api(service::session_service& sessions, const reloadable<callers>& callers, api_settings settings)
    : sessions_(sessions), callers_(callers), settings_(std::move(settings)) {}

void session_api::add_routes(http::router& routes) {
    auto bind = [this](awaitable (session_api::*fn)(http::request_context&)) {
        return [this, fn](http::request_context& ctx) { return (this->*fn)(ctx); };
    };
    // What each handler refuses before it reads a body, for a request that
    // waits for 100 Continue before sending one.
    auto refuse_early = [this](scope needed, bool json_body) {
        return http::route_options{[this, needed, json_body](http::request_context& ctx) {
            return authorize(ctx, needed) && (!json_body || accepts_json(ctx));
        }};
    };
    routes.add(http::verb::post, "/v1/sessions", bind(&session_api::create), refuse_early(scope_write, true));
    routes.add(http::verb::post, "/v1/sessions/validate", bind(&session_api::validate), refuse_early(scope_read, true));
    routes.add(http::verb::post, "/v1/sessions/rotate", bind(&session_api::rotate), refuse_early(scope_write, true));
    routes.add(http::verb::post, "/v1/sessions/revoke", bind(&session_api::revoke), refuse_early(scope_write, true));
    routes.add(http::verb::get, "/v1/sessions/{id}", bind(&session_api::get_by_id), refuse_early(scope_admin, false));
    routes.add(http::verb::delete_, "/v1/sessions/{id}", bind(&session_api::delete_by_id),
               refuse_early(scope_admin, false));
    routes.add(http::verb::get, "/v1/users/{user_id}/sessions", bind(&session_api::list_user),
               refuse_early(scope_admin, false));
    routes.add(http::verb::delete_, "/v1/users/{user_id}/sessions", bind(&session_api::delete_user),
               refuse_early(scope_admin, false));
    routes.add(http::verb::get, "/v1/not-before", bind(&session_api::get_not_before), refuse_early(scope_admin, false));
    routes.add(http::verb::post, "/v1/not-before", bind(&session_api::set_not_before), refuse_early(scope_admin, true));
    routes.add(http::verb::post, "/v1/users/revoke", bind(&session_api::revoke_users), refuse_early(scope_admin, true));
    routes.add(http::verb::post, "/v1/self/sessions", bind(&session_api::list_self), refuse_early(scope_self, true));
    routes.add(http::verb::post, "/v1/self/sessions/revoke", bind(&session_api::revoke_self),
               refuse_early(scope_self, true));
    // Any method, any path below: proxies may send the original request's
    // (Envoy ext_authz with a path_prefix).
    routes.add_subtree("/v1/auth", bind(&session_api::auth), refuse_early(scope_auth, false));
}

std::shared_ptr<const caller> session_api::authorize(http::request_context& ctx, scope needed) const {
    return api::authorize(ctx, callers_.get(), needed, settings_.api_key_header);
}

void session_api::add_assertions(service::assertion_service& assertions, std::string audience, std::string header) {
    forward_auth_.add_assertions(assertions, std::move(audience), std::move(header));
}

std::optional<std::optional<std::string>> session_api::read_metadata(http::request_context& ctx,
                                                                     const json::object& body) const {
    auto it = body.find("metadata");
    if (it == body.end()) return std::optional<std::string>();
    if (!it->value().is_object()) {
        malformed(ctx, "metadata must be a JSON object");
        return std::nullopt;
    }
    auto text = json::serialize(it->value());
    if (text.size() > settings_.metadata_max_bytes) {
        malformed(ctx, "metadata exceeds " + std::to_string(settings_.metadata_max_bytes) + " bytes");
        return std::nullopt;
    }
    return std::optional<std::string>(std::move(text));
}

void session_api::reply_with_token(http::request_context& ctx, http::status status,
                                   const service::issued_session& s) const {
    const auto& r = s.session;
    std::string out;
    out.reserve(512 + r.metadata.size());
    out += R"({"token":)";
    append_json_string(out, s.token);
    out += R"(,"session":)";
    append_json(r, out);
    out += R"(,"cookie":)";
    append_json_string(
        out,
        session_cookie(settings_.cookie, s.token,
                       std::chrono::duration_cast<std::chrono::milliseconds>(r.expires_at - sessions_.clock().now())));
    out += '}';
    http::set_json(ctx.res, status, std::move(out));
    set_no_store(ctx.res);
}

asio::awaitable<void> session_api::create(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_write);
    if (!who) co_return;
    unsigned char buffer[4096];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body) co_return;
    if (body->contains("token")) {
        malformed(ctx, "a token cannot be chosen by the caller; sessiond creates every token");
        co_return;
    }
    if (!only_fields(
            ctx, *body,
            {"user_id", "metadata", "idle_timeout", "absolute_timeout", "device", "aal", "amr", "tenant", "provider"}))
        co_return;
    auto user_id = get_string(ctx, *body, "user_id", true);
    if (!user_id) co_return;
    if (!session::valid_new_user_id(*user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8 without control characters (C0, DEL, C1)");
        co_return;
    }
    auto metadata = read_metadata(ctx, *body);
    if (!metadata) co_return;
    const auto& p = sessions_.policy();
    auto idle = get_int(ctx, *body, "idle_timeout", 1,
                        std::chrono::duration_cast<std::chrono::seconds>(p.max_idle_timeout).count());
    if (!idle) co_return;
    auto absolute = get_int(ctx, *body, "absolute_timeout", 1,
                            std::chrono::duration_cast<std::chrono::seconds>(p.max_absolute_timeout).count());
    if (!absolute) co_return;
    auto context = read_session_context(ctx, *body);
    if (!context) co_return;
    if ((*metadata ? (*metadata)->size() : 0) + given_size(*context) > settings_.metadata_max_bytes) {
        malformed(ctx, "metadata and session context together exceed " + std::to_string(settings_.metadata_max_bytes) +
                           " bytes");
        co_return;
    }

    service::create_request request;
    request.user_id = std::string(*user_id);
    request.metadata = std::move(*metadata);
    if (*idle) request.idle_timeout = std::chrono::seconds(**idle);
    if (*absolute) request.absolute_timeout = std::chrono::seconds(**absolute);
    request.device = std::move(context->device);
    request.device.created_address = opening_address(ctx, settings_.client_addresses);
    request.auth = std::move(context->auth);
    request.tenant = std::move(context->tenant);
    request.provider = std::move(context->provider);
    auto created = co_await sessions_.create(std::move(request), actor_of(*who, ctx));
    if (!created) co_return set_failure(ctx, created.error());
    reply_with_token(ctx, http::status::created, *created);
}

asio::awaitable<void> session_api::validate(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_read);
    if (!who) co_return;
    flat_body body{"token", "touch", "max_auth_age", "aal"};
    if (!read_flat(ctx, body)) co_return;
    auto token = get_string(ctx, body, "token", true);
    if (!token) co_return;
    if (token->size() > max_token_field) {
        malformed(ctx, "token is too long");
        co_return;
    }
    auto touch = get_bool(ctx, body, "touch", true);
    if (!touch) co_return;
    auto max_age = get_int(ctx, body, "max_auth_age", 0, INT32_MAX);
    if (!max_age) co_return;
    auto aal = get_int(ctx, body, "aal", 0, session::max_aal);
    if (!aal) co_return;
    const std::string seen = seen_address(ctx, settings_.client_addresses);
    session::check_options options{*touch, std::nullopt, static_cast<std::uint8_t>(aal->value_or(0)), seen};
    if (*max_age) options.max_auth_age = std::chrono::seconds(**max_age);

    auto record = co_await sessions_.validate(*token, options, actor_of(*who, ctx));
    if (!record) co_return set_failure(ctx, record.error(), requirement_detail(record.error(), options));
    reply_session(ctx, *record);
}

asio::awaitable<void> session_api::rotate(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_write);
    if (!who) co_return;
    unsigned char buffer[4096];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"token", "metadata", "reauthenticated", "aal", "amr"})) co_return;
    auto token = get_string(ctx, *body, "token", true);
    if (!token) co_return;
    auto reauthenticated = get_bool(ctx, *body, "reauthenticated", false);
    if (!reauthenticated) co_return;
    auto metadata = read_metadata(ctx, *body);
    if (!metadata) co_return;
    auto auth = read_assurance(ctx, *body);
    if (!auth) co_return;
    if (*auth && !*reauthenticated) {
        malformed(ctx, "aal and amr describe a new sign-in: send them with reauthenticated: true");
        co_return;
    }
    if (token->size() > max_token_field) {
        http::set_problem(ctx.res, sessiond::error::invalid_session, "token is too long", ctx.request_id);
        co_return;
    }
    service::rotate_request request{*reauthenticated, std::move(*metadata), std::nullopt, std::move(*auth),
                                    seen_address(ctx, settings_.client_addresses)};
    if (auto key = ctx.req["Idempotency-Key"]; !key.empty()) {
        if (key.size() > 128 || !std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
            malformed(ctx, "Idempotency-Key must be 1..128 visible ASCII characters");
            co_return;
        }
        request.idempotency_key = std::string(key);
    }
    auto rotated = co_await sessions_.rotate(*token, std::move(request), actor_of(*who, ctx));
    if (!rotated) co_return set_failure(ctx, rotated.error());
    reply_with_token(ctx, http::status::ok, *rotated);
}

asio::awaitable<void> session_api::revoke(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_write);
    if (!who) co_return;
    flat_body body{"token"};
    if (!read_flat(ctx, body)) co_return;
    auto token = get_string(ctx, body, "token", true);
    if (!token) co_return;
    // A token that sessiond did not issue is refused; one it issued revokes
    // its session (idempotent: already gone is fine).
    if (token->size() > max_token_field) co_return set_failure(ctx, session::errc::malformed_token);
    auto revoked = co_await sessions_.revoke(*token, actor_of(*who, ctx));
    if (!revoked) co_return set_failure(ctx, revoked.error());
    ctx.res.result(http::status::no_content);
}

asio::awaitable<void> session_api::get_by_id(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    auto id = session::session_id::parse(ctx.params.get("id"));
    if (!id) co_return set_failure(ctx, service::errc::not_found);
    auto record = co_await sessions_.get(*id);
    if (!record) co_return set_failure(ctx, record.error());
    reply_session(ctx, *record);
}

asio::awaitable<void> session_api::delete_by_id(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_admin);
    if (!who) co_return;
    auto id = session::session_id::parse(ctx.params.get("id"));
    if (!id) co_return set_failure(ctx, service::errc::not_found);
    auto removed = co_await sessions_.revoke(*id, actor_of(*who, ctx));
    if (!removed) co_return set_failure(ctx, removed.error());
    ctx.res.result(http::status::no_content);
}

asio::awaitable<void> session_api::list_user(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    auto user_id = ctx.params.get("user_id");
    if (!valid_user_id(user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8 without control characters");
        co_return;
    }
    std::optional<std::string> limit_text, cursor_text;
    if (!only_params(ctx, {"limit", "cursor"}) || !read_param(ctx, "limit", limit_text) ||
        !read_param(ctx, "cursor", cursor_text))
        co_return;
    const auto keys = sessions_.keys();
    std::size_t limit = service::default_page;
    if (limit_text) {
        auto [end, ec] = std::from_chars(limit_text->data(), limit_text->data() + limit_text->size(), limit);
        if (ec != std::errc() || end != limit_text->data() + limit_text->size() || limit == 0 ||
            limit > service::max_page) {
            malformed(ctx, "limit must be an integer from 1 to " + std::to_string(service::max_page));
            co_return;
        }
    }
    std::optional<service::user_cursor> after;
    if (cursor_text) {
        after = decode_cursor(*cursor_text, *keys, user_id);
        if (!after) {
            malformed(ctx, "cursor must be a next_cursor from a previous page");
            co_return;
        }
    }
    auto listed = co_await sessions_.list_user(user_id, after, limit);
    if (!listed) co_return set_failure(ctx, listed.error());
    http::set_json(ctx.res, http::status::ok, page_json(*listed, *keys, user_id));
}

asio::awaitable<void> session_api::delete_user(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_admin);
    if (!who) co_return;
    auto user_id = ctx.params.get("user_id");
    if (!valid_user_id(user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8 without control characters");
        co_return;
    }
    std::optional<std::string> except_text;
    if (!only_params(ctx, {"except"}) || !read_param(ctx, "except", except_text)) co_return;
    std::optional<session::session_id> except;
    if (except_text) {
        except = session::session_id::parse(*except_text);
        if (!except) {
            malformed(ctx, "except must be a session id");
            co_return;
        }
    }
    const auto outcome = co_await sessions_.revoke_user(user_id, except, actor_of(*who, ctx));
    reply_revocation(ctx, outcome);
}

// Not a coroutine: the caller is authorized before forward auth's own frame
// starts, so /v1/auth, the hottest route, allocates one frame, not two.
asio::awaitable<void> session_api::auth(http::request_context& ctx) {
    return forward_auth_.answer(ctx, authorize(ctx, scope_auth));
}

// Not coroutines, as auth: the caller is authorized before the handler's frame starts.
asio::awaitable<void> session_api::list_self(http::request_context& ctx) {
    return self_.list(ctx, authorize(ctx, scope_self));
}

asio::awaitable<void> session_api::revoke_self(http::request_context& ctx) {
    return self_.revoke(ctx, authorize(ctx, scope_self));
}

asio::awaitable<void> session_api::revoke_users(http::request_context& ctx) {
    return api::revoke_users(ctx, sessions_, authorize(ctx, scope_admin));
}

}  // namespace sessiond::api
