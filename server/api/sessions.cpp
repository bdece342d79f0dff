#include "api/sessions.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "api/forwarded.hpp"
#include "api/headers.hpp"
#include "api/json_body.hpp"
#include "api/session_json.hpp"
#include "common/json_text.hpp"
#include "common/metrics.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"
#include "session/errc.hpp"
#include "session/rules.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
namespace json = boost::json;
using session::session_record;

namespace {

constexpr std::size_t max_token_field = 512;

// The domain's rule, for the path parameter as for the create body.
using session::valid_user_id;

void set_no_store(http::response& res) {
    res.set(http::field::cache_control, "no-store");
    res.set(http::field::pragma, "no-cache");
}

// The caller of a request, for the service's audit events.
service::actor actor_of(const caller& who, const http::request_context& ctx) {
    return {who.name, ctx.request_id};
}

void reply_session(http::request_context& ctx, const session_record& r) {
    std::string out;
    out.reserve(400 + r.metadata.size());
    out += R"({"session":)";
    append_json(r, out);
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

// A list page's cursor on the wire: base64url of the position's deadline
// (milliseconds, 8 bytes big-endian), the id's 16 random bytes and a tag of
// 16 bytes, HMAC-SHA-256 under the user index key over both and the user id
// (keyring::derive_secret). Opaque to callers: only a cursor this
// deployment issued for this user is accepted, so a caller can neither
// forge a position nor carry a cursor over to another user. The user index
// key never changes for a deployment, so a cursor outlives token key
// rotations and is good on every instance.
constexpr std::size_t cursor_position_bytes = 8 + 16;
constexpr std::size_t cursor_tag_bytes = 16;
constexpr std::size_t cursor_bytes = cursor_position_bytes + cursor_tag_bytes;
constexpr std::string_view cursor_context = "sessiond list cursor";

using cursor_array = std::array<std::uint8_t, cursor_bytes>;

// The tag of the position in `raw` for `user_id`, written after it.
void tag_cursor(cursor_array& raw, const session::keyring& keys, std::string_view user_id) {
    auto mac = keys.derive_secret(cursor_context, session::bytes_view(raw.data(), cursor_position_bytes), user_id);
    std::copy(mac.begin(), mac.begin() + cursor_tag_bytes, raw.begin() + cursor_position_bytes);
}

std::string encode_cursor(const service::user_cursor& c, const session::keyring& keys, std::string_view user_id) {
    cursor_array raw{};
    auto ms = static_cast<std::uint64_t>(c.deadline.time_since_epoch().count());
    for (int i = 7; i >= 0; --i, ms >>= 8)
        raw[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms & 0xFF);
    std::copy(c.id.id.begin(), c.id.id.end(), raw.begin() + 8);
    tag_cursor(raw, keys, user_id);
    return session::base64url_encode(raw);
}

std::optional<service::user_cursor> decode_cursor(std::string_view text, const session::keyring& keys,
                                                  std::string_view user_id) {
    cursor_array raw{};
    if (text.size() != session::base64url_encoded_size(cursor_bytes)) return std::nullopt;
    auto n = session::base64url_decode(text, raw);
    if (!n || *n != cursor_bytes) return std::nullopt;
    cursor_array expected = raw;
    tag_cursor(expected, keys, user_id);
    if (!session::equal_ct(session::bytes_view(expected).subspan(cursor_position_bytes),
                           session::bytes_view(raw).subspan(cursor_position_bytes)))
        return std::nullopt;
    std::uint64_t ms = 0;
    for (std::size_t i = 0; i < 8; ++i)
        ms = (ms << 8) | raw[i];
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    service::user_cursor c{session::timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(ms))), {}};
    std::copy(raw.begin() + 8, raw.begin() + cursor_position_bytes, c.id.id.begin());
    return c;
}

// The next non-empty `name=value` pair of `query` (its raw text; value
// empty without '='), taken off its front; false at the end.
bool next_param(std::string_view& query, std::string_view& name, std::string_view& value) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        name = pair.substr(0, eq);
        value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        return true;
    }
    return false;
}

// The query of a route that takes the named parameters, each at most once:
// an unknown or repeated one is refused (400 set, false returned), as on
// /v1/auth, so a typo never drops a requirement and a parameter has one value.
bool only_params(http::request_context& ctx, std::initializer_list<std::string_view> known) {
    std::vector<std::string_view> seen;
    std::string_view query = ctx.query;
    std::string_view name, value;
    while (next_param(query, name, value)) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (auto k : known)
                list += (list.empty() ? "" : ", ") + std::string(k);
            malformed(ctx, "unknown query parameter: this route takes " + list);
            return false;
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            malformed(ctx, std::string(name) + " is given more than once");
            return false;
        }
        seen.push_back(name);
    }
    return true;
}

// A query parameter: nullopt when it is absent; false when it is present but
// not correctly percent-encoded (and 400 has been set).
bool read_param(http::request_context& ctx, std::string_view name, std::optional<std::string>& out) {
    out = http::query_param(ctx.query, name);
    if (out) return true;
    std::string assignment = std::string(name) + '=';
    if (ctx.query.starts_with(assignment) || ctx.query.find('&' + assignment) != std::string_view::npos) {
        malformed(ctx, std::string(name) + " is not correctly percent-encoded");
        return false;
    }
    return true;
}

}  // namespace

namespace {

// Why a token was refused, for the metric; nullopt when it is not a refused token.
std::optional<metrics::token_refusal> refusal_of(const boost::system::error_code& ec) {
    using metrics::token_refusal;
    if (ec.category() == service::service_category()) {
        switch (static_cast<service::errc>(ec.value())) {
            case service::errc::unknown_session:
                return token_refusal::unknown_session;
            case service::errc::wrong_secret:
                return token_refusal::wrong_secret;
            case service::errc::session_expired:
                return token_refusal::expired;
            case service::errc::reuse_detected:
                return token_refusal::reuse;
            case service::errc::not_current:
                return token_refusal::not_current;
            default:
                return std::nullopt;
        }
    }
    if (ec.category() == session::session_category()) {
        switch (static_cast<session::errc>(ec.value())) {
            case session::errc::malformed_token:
            case session::errc::bad_prefix:
                return token_refusal::malformed;
            case session::errc::unknown_key:
                return token_refusal::unknown_key;
            case session::errc::bad_tag:
                return token_refusal::bad_tag;
            default:
                return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace

void set_failure(http::request_context& ctx, const boost::system::error_code& ec) {
    using sessiond::error;
    auto code = error::store_unavailable;
    std::string detail = ec.message();
    if (ec.category() == service::service_category()) {
        auto e = static_cast<service::errc>(ec.value());
        code = e == service::errc::reauthentication_required ? error::reauthentication_required
               : e == service::errc::not_found               ? error::not_found
               : e == service::errc::concurrent_change       ? error::concurrent_update
                                                             : error::invalid_session;
    } else if (ec.category() == session::session_category()) {
        auto e = static_cast<session::errc>(ec.value());
        bool input = e == session::errc::invalid_user_id || e == session::errc::invalid_idle_timeout ||
                     e == session::errc::invalid_absolute_timeout;
        code = input ? error::malformed_request : error::invalid_session;
    } else {
        // The store's failures; anything else from below is an unavailable store.
        if (ec.category() == sessiond::error_category()) code = static_cast<error>(ec.value());
        detail = code == error::store_busy ? "the session store is busy, retry"
                 : code == error::store_full
                     ? "the embedded session store holds memory-max-sessions sessions; room comes back as "
                       "sessions expire or are revoked"
                 : code == error::session_limit ? "the user has reached the session limit"
                 : code == error::session_unreadable
                     ? "the session was stored by a newer sessiond; an instance of that version can answer"
                 : code == error::store_unacknowledged
                     ? "the write reached the Redis primary but not enough replicas acknowledged it in time, so a "
                       "failover could undo it; retry (a revoke or delete again, a rotate with the same "
                       "Idempotency-Key)"
                 : code == error::store_out_of_memory
                     ? "Redis refused the write: it is out of memory (OOM: maxmemory reached); nothing was written"
                 : code == error::store_forbidden
                     ? "Redis refused the command: sessiond's Redis user lacks a permission (NOPERM; see "
                       "deploy/redis/sessiond.acl); nothing was done"
                 : code == error::store_rejected
                     ? "Redis rejected the command (an error reply; sessiond's log names it); nothing was done"
                     : "the session store could not be reached in time";
    }
    if (auto why = refusal_of(ec)) {
        // One detail for every refused token: which key ids exist, whether
        // the id behind a token is live, or whether an outdated token's
        // session is still there is no caller's business. The metric and
        // the debug line keep the reason.
        metrics::count_refusal(*why);
        log::debug("session token refused", {{"reason", ec.message()}, {"request_id", ctx.request_id}});
        detail = invalid_token_detail;
    }
    http::set_problem(ctx.res, code, detail, ctx.request_id);
    if (code == error::concurrent_update) ctx.res.set(http::field::retry_after, "0");
}

session_api::session_api(service::session_service& sessions, key_set callers, api_settings settings)
    : sessions_(sessions), callers_(std::move(callers)), settings_(std::move(settings)) {}

session_api::session_api(service::session_service& sessions, const reloadable<api_keys>& callers, api_settings settings)
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
    // Any method, any path below: proxies may send the original request's
    // (Envoy ext_authz with a path_prefix).
    routes.add_subtree("/v1/auth", bind(&session_api::forward_auth), refuse_early(scope_auth, false));
}

std::shared_ptr<const caller> authorize(http::request_context& ctx, const key_set& set, scope needed,
                                        std::string_view api_key_header) {
    // A verified client certificate names the caller (mTLS); one that names
    // no configured caller is refused, whatever API key comes with it.
    if (ctx.peer) {
        const caller* who = set->identify(*ctx.peer);
        if (!who) {
            http::set_problem(ctx.res, sessiond::error::forbidden,
                              "the client certificate names no configured caller (tls-callers)", ctx.request_id);
            return nullptr;
        }
        if (!(who->scopes & needed)) {
            http::set_problem(ctx.res, sessiond::error::forbidden,
                              "the caller lacks the scope " + std::string(scope_name(needed)), ctx.request_id);
            return nullptr;
        }
        return std::shared_ptr<const caller>(set, who);
    }
    // Two keys are ambiguous: which one a proxy or a server behind it would
    // read differs, so neither is taken.
    const auto key = single_header(ctx.req, api_key_header);
    if (!key) {
        http::set_problem(ctx.res, sessiond::error::unauthenticated,
                          "exactly one " + std::string(api_key_header) + " header is required; the request has several",
                          ctx.request_id);
        return nullptr;
    }
    const caller* who = set->authenticate(*key);
    if (!who) {
        http::set_problem(ctx.res, sessiond::error::unauthenticated,
                          "a valid API key is required in " + std::string(api_key_header), ctx.request_id);
        return nullptr;
    }
    if (!(who->scopes & needed)) {
        http::set_problem(ctx.res, sessiond::error::forbidden,
                          "the API key lacks the scope " + std::string(scope_name(needed)), ctx.request_id);
        return nullptr;
    }
    return std::shared_ptr<const caller>(set, who);
}

std::shared_ptr<const caller> session_api::authorize(http::request_context& ctx, scope needed) const {
    return api::authorize(ctx, callers_.get(), needed, settings_.api_key_header);
}

void session_api::add_assertions(service::assertion_service& assertions, std::string audience, std::string header) {
    assertions_ = &assertions;
    assertion_audience_ = std::move(audience);
    assertion_header_ = std::move(header);
}

std::string session_api::cookie_for(const std::string& token, const session_record& r) const {
    const auto& c = settings_.cookie;
    // Rounded up, so a fresh session's cookie lives exactly its absolute timeout.
    auto left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.expires_at - sessions_.clock().now()).count();
    auto left = (left_ms + 999) / 1000;
    std::string out = c.name + "=" + token + "; Path=" + c.path;
    if (!c.domain.empty()) out += "; Domain=" + c.domain;
    out += "; Max-Age=" + std::to_string(std::max<std::int64_t>(left, 0));
    if (c.secure) out += "; Secure";
    if (c.http_only) out += "; HttpOnly";
    out += "; SameSite=" + c.same_site;
    return out;
}

std::string session_api::cookie_deletion() const {
    // The attributes of cookie_for's cookie, or a browser would keep it
    // (a __Host- cookie is only set, and so only deleted, with Secure and Path=/).
    const auto& c = settings_.cookie;
    std::string out = c.name + "=; Path=" + c.path;
    if (!c.domain.empty()) out += "; Domain=" + c.domain;
    out += "; Max-Age=0";
    if (c.secure) out += "; Secure";
    if (c.http_only) out += "; HttpOnly";
    out += "; SameSite=" + c.same_site;
    return out;
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
    append_json_string(out, cookie_for(s.token, r));
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
    if (!only_fields(ctx, *body, {"user_id", "metadata", "idle_timeout", "absolute_timeout"})) co_return;
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

    service::create_request request{std::string(*user_id), std::move(*metadata), std::nullopt, std::nullopt};
    if (*idle) request.idle_timeout = std::chrono::seconds(**idle);
    if (*absolute) request.absolute_timeout = std::chrono::seconds(**absolute);
    auto created = co_await sessions_.create(std::move(request), actor_of(*who, ctx));
    if (!created) co_return set_failure(ctx, created.error());
    reply_with_token(ctx, http::status::created, *created);
}

asio::awaitable<void> session_api::validate(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_read);
    if (!who) co_return;
    flat_body body{"token", "touch", "max_auth_age"};
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
    session::check_options options{*touch, std::nullopt};
    if (*max_age) options.max_auth_age = std::chrono::seconds(**max_age);

    auto record = co_await sessions_.validate(*token, options, actor_of(*who, ctx));
    if (!record) co_return set_failure(ctx, record.error());
    reply_session(ctx, *record);
}

asio::awaitable<void> session_api::rotate(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_write);
    if (!who) co_return;
    unsigned char buffer[4096];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"token", "metadata", "reauthenticated"})) co_return;
    auto token = get_string(ctx, *body, "token", true);
    if (!token) co_return;
    auto reauthenticated = get_bool(ctx, *body, "reauthenticated", false);
    if (!reauthenticated) co_return;
    auto metadata = read_metadata(ctx, *body);
    if (!metadata) co_return;
    if (token->size() > max_token_field) {
        http::set_problem(ctx.res, sessiond::error::invalid_session, "token is too long", ctx.request_id);
        co_return;
    }
    service::rotate_request request{*reauthenticated, std::move(*metadata), std::nullopt};
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
    std::string out = R"({"sessions":[)";
    bool first = true;
    for (const auto& r : listed->sessions) {
        if (!first) out += ',';
        first = false;
        append_json(r, out);
    }
    out += ']';
    if (listed->unreadable > 0) out.append(R"(,"unreadable":)").append(std::to_string(listed->unreadable));
    if (listed->next)
        out.append(R"(,"next_cursor":")").append(encode_cursor(*listed->next, *keys, user_id)).append(1, '"');
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
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
    auto outcome = co_await sessions_.revoke_user(user_id, except, actor_of(*who, ctx));
    if (outcome.failure && outcome.revoked == 0) co_return set_failure(ctx, outcome.failure);
    if (outcome.failure) {
        // Some went, others may remain: say so, and that repeating is safe.
        http::set_problem(ctx.res, outcome.failure,
                          std::to_string(outcome.revoked) +
                              " of the user's sessions were revoked before the session store failed; others may "
                              "remain: repeat the request to revoke them",
                          ctx.request_id);
        co_return;
    }
    http::set_json(ctx.res, http::status::ok, R"({"revoked":)" + std::to_string(outcome.revoked) + "}");
}

namespace {

// What a location asks of a session, from the query of /v1/auth.
enum class redirect_mode { found, unauthorized, off };
struct auth_requirements {
    std::optional<std::chrono::seconds> max_auth_age;
    redirect_mode redirect = redirect_mode::found;
};

// The query of /v1/auth itself: max_auth_age (seconds) and redirect (302,
// 401 or off). Anything else is refused, so that a typo in a proxy's
// configuration does not silently drop a requirement. nullopt after a 400.
std::optional<auth_requirements> read_requirements(http::request_context& ctx) {
    auth_requirements out;
    std::string_view query = ctx.query;
    std::string_view name, value;
    while (next_param(query, name, value)) {
        if (name == "max_auth_age") {
            std::int32_t seconds = -1;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
            if (ec != std::errc() || end != value.data() + value.size() || value.empty() || seconds < 0) {
                malformed(ctx, "max_auth_age must be an integer from 0 to 2147483647 (seconds)");
                return std::nullopt;
            }
            out.max_auth_age = std::chrono::seconds(seconds);
        } else if (name == "redirect") {
            if (value == "302")
                out.redirect = redirect_mode::found;
            else if (value == "401")
                out.redirect = redirect_mode::unauthorized;
            else if (value == "off")
                out.redirect = redirect_mode::off;
            else {
                malformed(ctx, "redirect must be 302, 401 or off");
                return std::nullopt;
            }
        } else {
            malformed(ctx, "unknown query parameter: /v1/auth takes max_auth_age and redirect");
            return std::nullopt;
        }
    }
    return out;
}

// A metadata value as header text: strings percent-encoded as the user id,
// numbers and booleans as JSON; nullopt for null, arrays and objects.
std::optional<std::string> header_value(const json::value& v) {
    if (v.is_string()) return header_safe(v.as_string());
    if (v.is_number() || v.is_bool()) return json::serialize(v);
    return std::nullopt;
}

}  // namespace

void session_api::set_identity(http::response& res, const session_record& r) const {
    res.set(settings_.user_header, header_safe(r.user_id));
    std::array<char, session::session_id::encoded_size> id;  // the header's copy is the only one
    r.id.to_chars(id);
    res.set(settings_.id_header, std::string_view(id.data(), id.size()));
    if (settings_.metadata_headers.empty()) return;
    boost::system::error_code ec;
    auto metadata = json::parse(r.metadata, ec);
    const json::object* fields = !ec && metadata.is_object() ? &metadata.as_object() : nullptr;
    // Each configured header is always sent, empty when there is no value:
    // a proxy that copies it then overwrites whatever the client sent under
    // that name (Envoy only overrides the headers that are in the answer).
    for (const auto& [field, header] : settings_.metadata_headers) {
        const json::value* v = fields ? fields->if_contains(field) : nullptr;
        auto text = v ? header_value(*v) : std::nullopt;
        res.set(header, text ? *text : std::string());
    }
}

asio::awaitable<void> session_api::forward_auth(http::request_context& ctx) {
    const auto who = authorize(ctx, scope_auth);
    if (!who) co_return;
    // Below /v1/auth the query is the original request's (Envoy), not ours.
    auto below = ctx.params.get("path");
    auth_requirements wanted;
    if (below.empty()) {
        auto read = read_requirements(ctx);
        if (!read) co_return;
        wanted = *read;
    }
    // Two Authorization headers are ambiguous: a proxy or the application
    // may read the other one than sessiond would.
    if (!single_header(ctx.req, http::field::authorization)) {
        malformed(ctx, "a request carries one Authorization header at most");
        co_return;
    }
    auto original = original_of(ctx.req, below, settings_.original_headers);
    auto shown = original.for_log();
    auto presented = find_token(ctx.req, settings_.cookie.name);
    auto token = presented.token.size() > max_token_field ? std::string_view() : presented.token;
    service::actor as{who->name, ctx.request_id, shown};
    auto record = co_await sessions_.validate(token, session::check_options{true, wanted.max_auth_age}, as);
    set_no_store(ctx.res);
    if (record) {
        ctx.res.result(http::status::ok);
        set_identity(ctx.res, *record);
        if (assertions_) {
            auto assertion = assertions_->for_forward_auth(*record, assertion_audience_);
            if (!assertion.empty()) ctx.res.set(assertion_header_, assertion);
        }
        co_return;
    }
    set_failure(ctx, record.error());
    if (ctx.res.result() != http::status::unauthorized) co_return;
    ctx.res.set(http::field::www_authenticate, "Bearer");
    // Strict tokens: a cookie sessiond does not honour is deleted. One that
    // only needs a fresh login stays: it is still good elsewhere, and the
    // login rotates it (reauthenticated) rather than starting over.
    if (presented.from_cookie && record.error() != service::errc::reauthentication_required)
        ctx.res.set(http::field::set_cookie, cookie_deletion());
    log::debug("forward auth refused", {{"original_request", shown}, {"request_id", ctx.request_id}});

    if (settings_.login_url.empty() || wanted.redirect == redirect_mode::off ||
        !accepts_html(ctx.req[http::field::accept]))
        co_return;
    auto url = original.url();
    // Never an open redirect: only back to a host the operator named.
    if (url.empty() || !host_allowed(original.host, settings_.redirect_hosts)) co_return;
    std::string location = settings_.login_url;
    location += location.find('?') == std::string::npos ? '?' : '&';
    location += settings_.redirect_param + '=' + query_escape(url);
    ctx.res.set(http::field::location, location);
    if (wanted.redirect == redirect_mode::found) {
        // The proxy passes this answer to the browser (Traefik, Caddy, Envoy).
        ctx.res.result(http::status::found);
        ctx.res.erase(http::field::content_type);
        ctx.res.erase(http::field::www_authenticate);
        ctx.res.body().clear();
    }
}

}  // namespace sessiond::api
