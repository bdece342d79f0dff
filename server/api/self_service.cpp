#include "api/self_service.hpp"

#include <string>

#include "api/authorization.hpp"
#include "api/client_address.hpp"
#include "api/cursors.hpp"
#include "api/errors.hpp"
#include "api/headers.hpp"
#include "api/json_body.hpp"
#include "api/revocations.hpp"
#include "http/problem.hpp"
#include "session/errc.hpp"

namespace sessiond::api {

namespace asio = boost::asio;

namespace {

// Whether the body has the field at all (null included).
bool has(const flat_body& body, std::string_view name) {
    const auto* f = body.find(name);
    return f && f->type != flat_body::kind::absent;
}

}  // namespace

asio::awaitable<std::optional<session::session_record>> self_service::presenter(http::request_context& ctx,
                                                                                std::string_view token,
                                                                                const service::actor& who) {
    if (token.size() > max_token_field) {
        set_failure(ctx, session::errc::malformed_token);
        co_return std::nullopt;
    }
    const std::string seen = seen_address(ctx, settings_.client_addresses);
    const session::check_options options{true, std::nullopt, 0, seen};
    auto record = co_await sessions_.validate(token, options, who);
    if (!record) {
        set_failure(ctx, record.error());
        co_return std::nullopt;
    }
    co_return std::move(*record);
}

asio::awaitable<void> self_service::list(http::request_context& ctx, std::shared_ptr<const caller> who) {
    if (!who) co_return;
    flat_body body{"token", "limit", "cursor"};
    if (!read_flat(ctx, body)) co_return;
    auto token = get_string(ctx, body, "token", true);
    if (!token) co_return;
    auto limit = get_int(ctx, body, "limit", 1, static_cast<std::int64_t>(service::max_page));
    if (!limit) co_return;
    auto cursor = get_string(ctx, body, "cursor", false);
    if (!cursor) co_return;

    const auto me = co_await presenter(ctx, *token, actor_of(*who, ctx));
    if (!me) co_return;
    // The same pages and cursors as the user's list under sessions:admin.
    const auto keys = sessions_.keys();
    std::optional<service::user_cursor> after;
    if (has(body, "cursor")) {
        after = decode_cursor(*cursor, *keys, me->user_id);
        if (!after) {
            malformed(ctx, "cursor must be a next_cursor from a previous page");
            co_return;
        }
    }
    const auto size = limit->has_value() ? static_cast<std::size_t>(**limit) : service::default_page;
    auto listed = co_await sessions_.list_user(me->user_id, after, size);
    if (!listed) co_return set_failure(ctx, listed.error());
    http::set_json(ctx.res, http::status::ok, page_json(*listed, *keys, me->user_id, &me->id));
}

asio::awaitable<void> self_service::revoke(http::request_context& ctx, std::shared_ptr<const caller> who) {
    if (!who) co_return;
    flat_body body{"token", "session_id", "others"};
    if (!read_flat(ctx, body)) co_return;
    auto token = get_string(ctx, body, "token", true);
    if (!token) co_return;
    auto id_text = get_string(ctx, body, "session_id", false);
    if (!id_text) co_return;
    auto others = get_bool(ctx, body, "others", false);
    if (!others) co_return;
    // One of the two, and nothing that could be read as the other.
    if (has(body, "session_id") == has(body, "others")) {
        malformed(ctx, "give either session_id (end that session) or others: true (end all but the current one)");
        co_return;
    }
    if (has(body, "others") && !*others) {
        malformed(ctx, "others must be true; to end one session, give its session_id");
        co_return;
    }
    std::optional<session::session_id> id;
    if (has(body, "session_id")) {
        id = session::session_id::parse(*id_text);
        if (!id) {
            malformed(ctx, "session_id must be a session's public id");
            co_return;
        }
    }

    auto actor = actor_of(*who, ctx);
    const auto me = co_await presenter(ctx, *token, actor);
    if (!me) co_return;
    // The user acts on their own sessions: the audit events say so.
    const std::string by_session = me->id.to_string();
    actor.by_user = me->user_id;
    actor.by_session = by_session;
    if (!id) {
        const auto outcome = co_await sessions_.revoke_user(me->user_id, me->id, actor);
        co_return reply_revocation(ctx, outcome);
    }
    auto removed = co_await sessions_.revoke_own(*id, me->user_id, actor);
    if (!removed) co_return set_failure(ctx, removed.error());
    http::set_json(ctx.res, http::status::ok, R"({"revoked":1})");
}

}  // namespace sessiond::api
