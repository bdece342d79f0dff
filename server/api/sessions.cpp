#include "api/sessions.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "api/json_body.hpp"
#include "common/json_text.hpp"
#include "common/metrics.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"
#include "session/errc.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
namespace json = boost::json;
using session::check_outcome;
using session::session_record;

namespace {

constexpr std::size_t max_token_field = 512;
// A compare-and-set that loses to a concurrent write is retried on a fresh
// read this many times in all.
constexpr int cas_attempts = 3;

// The byte string is valid UTF-8 (user ids travel in paths as well as JSON).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
        for (std::size_t k = 1; k < n; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

bool valid_user_id(std::string_view s) {
    return !s.empty() && s.size() <= session::max_user_id_size && valid_utf8(s);
}

// Header values must be visible ASCII; anything else (and '%') is
// percent-encoded so the value is unambiguous.
std::string header_safe(std::string_view s) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c > 0x20 && c < 0x7f && c != '%') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

// The session token from "Authorization: Bearer" or else the cookie.
std::string_view token_from_request(const http::request& req, std::string_view cookie_name) {
    std::string_view auth = req[http::field::authorization];
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
        auto t = auth.substr(7);
        while (!t.empty() && t.front() == ' ')
            t.remove_prefix(1);
        while (!t.empty() && t.back() == ' ')
            t.remove_suffix(1);
        return t;
    }
    for (auto it = req.find(http::field::cookie); it != req.end() && it->name() == http::field::cookie; ++it) {
        std::string_view cookies = it->value();
        while (!cookies.empty()) {
            auto semi = cookies.find(';');
            auto pair = cookies.substr(0, semi);
            while (!pair.empty() && pair.front() == ' ')
                pair.remove_prefix(1);
            auto eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == cookie_name) {
                auto v = pair.substr(eq + 1);
                if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
                return v;
            }
            if (semi == std::string_view::npos) break;
            cookies.remove_prefix(semi + 1);
        }
    }
    return {};
}

void set_no_store(http::response& res) {
    res.set(http::field::cache_control, "no-store");
    res.set(http::field::pragma, "no-cache");
}

}  // namespace

session_api::session_api(store::session_store& store, std::shared_ptr<const session::keyring> keys,
                         session::token_codec codec, const session::clock& clock, api_keys callers,
                         api_settings settings)
    : store_(store),
      keys_(std::move(keys)),
      codec_(std::move(codec)),
      clock_(clock),
      callers_(std::move(callers)),
      settings_(std::move(settings)) {}

void session_api::add_routes(http::router& routes) {
    auto bind = [this](awaitable (session_api::*fn)(http::request_context&)) {
        return [this, fn](http::request_context& ctx) { return (this->*fn)(ctx); };
    };
    routes.add(http::verb::post, "/v1/sessions", bind(&session_api::create));
    routes.add(http::verb::post, "/v1/sessions/validate", bind(&session_api::validate));
    routes.add(http::verb::post, "/v1/sessions/rotate", bind(&session_api::rotate));
    routes.add(http::verb::post, "/v1/sessions/revoke", bind(&session_api::revoke));
    routes.add(http::verb::get, "/v1/sessions/{id}", bind(&session_api::get_by_id));
    routes.add(http::verb::delete_, "/v1/sessions/{id}", bind(&session_api::delete_by_id));
    routes.add(http::verb::get, "/v1/users/{user_id}/sessions", bind(&session_api::list_user));
    routes.add(http::verb::delete_, "/v1/users/{user_id}/sessions", bind(&session_api::delete_user));
    routes.add(http::verb::get, "/v1/auth", bind(&session_api::forward_auth));
}

store::user_ref session_api::user_of(const session_record& r) const {
    // The session's id already carries its user's bucket: only the index name is computed.
    return store::user_ref{r.user_id, r.id.bucket, keys_->user_index_name(r.user_id)};
}

store::user_ref session_api::user(std::string_view user_id) const {
    return store::user_ref{std::string(user_id), keys_->user_bucket(user_id), keys_->user_index_name(user_id)};
}

const caller* session_api::authorize(http::request_context& ctx, scope needed) const {
    const caller* who = callers_.authenticate(ctx.req[settings_.api_key_header]);
    if (!who) {
        http::set_problem(ctx.res, sessiond::error::unauthenticated,
                          "a valid API key is required in " + settings_.api_key_header, ctx.request_id);
        return nullptr;
    }
    if (!(who->scopes & needed)) {
        http::set_problem(ctx.res, sessiond::error::forbidden,
                          "the API key lacks the scope " + std::string(scope_name(needed)), ctx.request_id);
        return nullptr;
    }
    return who;
}

void session_api::store_failed(http::request_context& ctx, const boost::system::error_code& ec) const {
    metrics::get().store_errors.inc();
    auto e = ec.category() == sessiond::error_category() ? static_cast<sessiond::error>(ec.value())
                                                         : sessiond::error::store_unavailable;
    std::string_view detail = e == sessiond::error::store_busy      ? "the session store is busy, retry"
                              : e == sessiond::error::session_limit ? "the user has reached the session limit"
                                                                    : "the session store could not be reached in time";
    http::set_problem(ctx.res, e, detail, ctx.request_id);
}

void session_api::audit(std::string_view event, const session_record& r, const caller& who,
                        const http::request_context& ctx) const {
    auto id = r.id.to_string();
    log::info("audit", {{"event", event},
                        {"session_id", id},
                        {"user_id", r.user_id},
                        {"caller", who.name},
                        {"request_id", ctx.request_id}});
}

std::string session_api::cookie_for(const std::string& token, const session_record& r) const {
    const auto& c = settings_.cookie;
    // Rounded up, so a fresh session's cookie lives exactly its absolute timeout.
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.expires_at - clock_.now()).count();
    auto left = (left_ms + 999) / 1000;
    std::string out = c.name + "=" + token + "; Path=" + c.path;
    if (!c.domain.empty()) out += "; Domain=" + c.domain;
    out += "; Max-Age=" + std::to_string(std::max<std::int64_t>(left, 0));
    if (c.secure) out += "; Secure";
    if (c.http_only) out += "; HttpOnly";
    out += "; SameSite=" + c.same_site;
    return out;
}

asio::awaitable<void> session_api::revoke_reused(const http::request_context& ctx, const session::session_id& id,
                                                 const caller& who) {
    // A rotated token after its grace period: treated as stolen, so the whole
    // session goes (OAuth 2.0 Security BCP, refresh token rotation).
    metrics::get().reuse_detected.inc();
    auto removed = co_await store_.remove(id);
    if (removed && *removed) {
        metrics::get().sessions_revoked.inc();
        audit("session.reuse_detected", **removed, who, ctx);
    }
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

void session_api::reply_with_token(http::request_context& ctx, http::status status, const std::string& token,
                                   const session_record& r) const {
    std::string out;
    out.reserve(512 + r.metadata.size());
    out += R"({"token":)";
    append_json_string(out, token);
    out += R"(,"session":)";
    session::append_json(r, out);
    out += R"(,"cookie":)";
    append_json_string(out, cookie_for(token, r));
    out += '}';
    http::set_json(ctx.res, status, std::move(out));
    set_no_store(ctx.res);
}

asio::awaitable<std::optional<session_record>> session_api::resolve(http::request_context& ctx, std::string_view token,
                                                                    const session::check_options& options,
                                                                    const caller& who) {
    auto fail = [&](sessiond::error e, std::string_view detail) {
        metrics::get().validations_rejected.inc();
        http::set_problem(ctx.res, e, detail, ctx.request_id);
        return std::nullopt;
    };
    if (token.empty()) co_return fail(sessiond::error::invalid_session, "no session token");
    auto decoded = codec_.decode(*keys_, token);
    if (!decoded) co_return fail(sessiond::error::invalid_session, decoded.error().message());
    auto presented = session::digest_secret(decoded->secret);

    for (int attempt = 0; attempt < cas_attempts; ++attempt) {
        auto found = co_await store_.get(decoded->id);
        if (!found) {
            store_failed(ctx, found.error());
            co_return std::nullopt;
        }
        if (!*found) co_return fail(sessiond::error::invalid_session, "unknown, expired or revoked session");
        const auto& stored = **found;
        auto checked = session::check(stored, presented, clock_.now(), settings_.policy, options);
        switch (checked.outcome) {
            case check_outcome::valid:
            case check_outcome::valid_previous: {
                if (!checked.updated || attempt + 1 == cas_attempts) {
                    metrics::get().validations_ok.inc();
                    co_return stored;
                }
                auto written = co_await store_.replace(stored, *checked.updated, user_of(stored));
                if (!written) {
                    store_failed(ctx, written.error());
                    co_return std::nullopt;
                }
                if (!*written) continue;  // changed underneath: read again
                metrics::get().validations_ok.inc();
                co_return std::move(*checked.updated);
            }
            case check_outcome::reauthentication_required:
                co_return fail(sessiond::error::reauthentication_required,
                               "the user authenticated longer ago than max_auth_age");
            case check_outcome::reuse_detected:
                co_await revoke_reused(ctx, decoded->id, who);
                co_return fail(sessiond::error::invalid_session, "a rotated token was reused: the session is revoked");
            case check_outcome::expired:
                co_return fail(sessiond::error::invalid_session, "the session has expired");
            case check_outcome::invalid:
                co_return fail(sessiond::error::invalid_session, "unknown session token");
        }
    }
    co_return fail(sessiond::error::invalid_session, "unknown session token");
}

asio::awaitable<void> session_api::create(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_write);
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
    if (!valid_user_id(*user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8");
        co_return;
    }
    auto metadata = read_metadata(ctx, *body);
    if (!metadata) co_return;
    const auto& p = settings_.policy;
    auto idle = get_int(ctx, *body, "idle_timeout", 1,
                        std::chrono::duration_cast<std::chrono::seconds>(p.max_idle_timeout).count());
    if (!idle) co_return;
    auto absolute = get_int(ctx, *body, "absolute_timeout", 1,
                            std::chrono::duration_cast<std::chrono::seconds>(p.max_absolute_timeout).count());
    if (!absolute) co_return;

    auto u = user(*user_id);
    auto issued = codec_.issue(*keys_, u.bucket);
    session::creation request{std::string(*user_id), metadata->value_or("{}"), std::nullopt, std::nullopt};
    if (*idle) request.idle_timeout = std::chrono::seconds(**idle);
    if (*absolute) request.absolute_timeout = std::chrono::seconds(**absolute);
    auto record = session::new_record(issued.id, issued.secret_hash, std::move(request), clock_.now(), p);
    if (!record) {
        malformed(ctx, record.error().message());
        co_return;
    }
    auto stored = co_await store_.create(*record, u, p);
    if (!stored) {
        store_failed(ctx, stored.error());
        co_return;
    }
    for (const auto& evicted : stored->evicted) {
        metrics::get().sessions_evicted.inc();
        audit("session.evicted", evicted, *who, ctx);
    }
    metrics::get().sessions_created.inc();
    audit("session.created", *record, *who, ctx);

    reply_with_token(ctx, http::status::created, issued.token, *record);
}

asio::awaitable<void> session_api::validate(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_read);
    if (!who) co_return;
    unsigned char buffer[2048];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"token", "touch", "max_auth_age"})) co_return;
    auto token = get_string(ctx, *body, "token", true);
    if (!token) co_return;
    if (token->size() > max_token_field) {
        malformed(ctx, "token is too long");
        co_return;
    }
    auto touch = get_bool(ctx, *body, "touch", true);
    if (!touch) co_return;
    auto max_age = get_int(ctx, *body, "max_auth_age", 0, INT32_MAX);
    if (!max_age) co_return;
    session::check_options options{*touch, std::nullopt};
    if (*max_age) options.max_auth_age = std::chrono::seconds(**max_age);

    auto record = co_await resolve(ctx, *token, options, *who);
    if (!record) co_return;
    std::string out;
    out.reserve(400 + record->metadata.size());
    out += R"({"session":)";
    session::append_json(*record, out);
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

asio::awaitable<void> session_api::rotate(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_write);
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
    auto invalid = [&](std::string_view detail) {
        http::set_problem(ctx.res, sessiond::error::invalid_session, detail, ctx.request_id);
    };
    if (token->size() > max_token_field) co_return invalid("token is too long");
    auto decoded = codec_.decode(*keys_, *token);
    if (!decoded) co_return invalid(decoded.error().message());
    auto presented = session::digest_secret(decoded->secret);

    for (int attempt = 0; attempt < cas_attempts; ++attempt) {
        auto found = co_await store_.get(decoded->id);
        if (!found) co_return store_failed(ctx, found.error());
        if (!*found) co_return invalid("unknown, expired or revoked session");
        const auto& stored = **found;
        auto issued = codec_.reissue(*keys_, decoded->id);
        auto rotated = session::rotate(stored, presented, issued.secret_hash, clock_.now(), settings_.policy,
                                       *reauthenticated, *metadata);
        switch (rotated.outcome) {
            case check_outcome::valid: {
                auto written = co_await store_.replace(stored, *rotated.updated, user_of(stored));
                if (!written) co_return store_failed(ctx, written.error());
                if (!*written) continue;  // a concurrent write won; decide again on what it left
                metrics::get().sessions_rotated.inc();
                audit("session.rotated", *rotated.updated, *who, ctx);
                reply_with_token(ctx, http::status::ok, issued.token, *rotated.updated);
                co_return;
            }
            case check_outcome::reuse_detected:
                co_await revoke_reused(ctx, decoded->id, *who);
                co_return invalid("a rotated token was reused: the session is revoked");
            case check_outcome::expired:
                co_return invalid("the session has expired");
            default:
                co_return invalid("only the current token of a session can rotate it");
        }
    }
    invalid("the session changed concurrently; retry with the current token");
}

asio::awaitable<void> session_api::revoke(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_write);
    if (!who) co_return;
    unsigned char buffer[2048];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"token"})) co_return;
    auto token = get_string(ctx, *body, "token", true);
    if (!token) co_return;
    // A token that sessiond did not issue is refused; one it issued revokes
    // its session (idempotent: already gone is fine).
    auto decoded = token->size() <= max_token_field
                       ? codec_.decode(*keys_, *token)
                       : boost::system::result<session::decoded_token>(session::errc::malformed_token);
    if (!decoded) {
        http::set_problem(ctx.res, sessiond::error::invalid_session, decoded.error().message(), ctx.request_id);
        co_return;
    }
    auto removed = co_await store_.remove(decoded->id);
    if (!removed) co_return store_failed(ctx, removed.error());
    if (*removed) {
        metrics::get().sessions_revoked.inc();
        audit("session.revoked", **removed, *who, ctx);
    }
    ctx.res.result(http::status::no_content);
}

asio::awaitable<void> session_api::get_by_id(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    auto id = session::session_id::parse(ctx.params.get("id"));
    std::optional<session_record> record;
    if (id) {
        auto found = co_await store_.get(*id);
        if (!found) co_return store_failed(ctx, found.error());
        record = std::move(*found);
    }
    if (!record) {
        http::set_problem(ctx.res, sessiond::error::not_found, "no such session", ctx.request_id);
        co_return;
    }
    std::string out = R"({"session":)";
    session::append_json(*record, out);
    out += '}';
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

asio::awaitable<void> session_api::delete_by_id(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_admin);
    if (!who) co_return;
    auto id = session::session_id::parse(ctx.params.get("id"));
    std::optional<session_record> removed;
    if (id) {
        auto r = co_await store_.remove(*id);
        if (!r) co_return store_failed(ctx, r.error());
        removed = std::move(*r);
    }
    if (!removed) {
        http::set_problem(ctx.res, sessiond::error::not_found, "no such session", ctx.request_id);
        co_return;
    }
    metrics::get().sessions_revoked.inc();
    audit("session.revoked", *removed, *who, ctx);
    ctx.res.result(http::status::no_content);
}

asio::awaitable<void> session_api::list_user(http::request_context& ctx) {
    if (!authorize(ctx, scope_admin)) co_return;
    auto user_id = ctx.params.get("user_id");
    if (!valid_user_id(user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8");
        co_return;
    }
    auto listed = co_await store_.list_user(user(user_id));
    if (!listed) co_return store_failed(ctx, listed.error());
    auto& sessions = *listed;
    auto now = clock_.now();
    std::erase_if(sessions, [&](const session_record& r) { return session::store_deadline(r) <= now; });
    std::sort(sessions.begin(), sessions.end(), [](const session_record& a, const session_record& b) {
        return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
    });
    std::string out = R"({"sessions":[)";
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        if (i) out += ',';
        session::append_json(sessions[i], out);
    }
    out += "]}";
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

asio::awaitable<void> session_api::delete_user(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_admin);
    if (!who) co_return;
    auto user_id = ctx.params.get("user_id");
    if (!valid_user_id(user_id)) {
        malformed(ctx, "user_id must be 1..256 bytes of UTF-8");
        co_return;
    }
    std::optional<session::session_id> except;
    if (auto raw = http::query_param(ctx.query, "except"); raw) {
        except = session::session_id::parse(*raw);
        if (!except) {
            malformed(ctx, "except must be a session id");
            co_return;
        }
    } else if (ctx.query.find("except=") != std::string_view::npos) {
        malformed(ctx, "except is not correctly percent-encoded");
        co_return;
    }
    auto removed = co_await store_.remove_user(user(user_id), except);
    if (!removed) co_return store_failed(ctx, removed.error());
    metrics::get().sessions_revoked.inc(*removed);
    log::info("audit", {{"event", "user.sessions_revoked"},
                        {"user_id", user_id},
                        {"revoked", *removed},
                        {"caller", who->name},
                        {"request_id", ctx.request_id}});
    http::set_json(ctx.res, http::status::ok, R"({"revoked":)" + std::to_string(*removed) + "}");
}

asio::awaitable<void> session_api::forward_auth(http::request_context& ctx) {
    const caller* who = authorize(ctx, scope_auth);
    if (!who) co_return;
    auto token = token_from_request(ctx.req, settings_.cookie.name);
    if (token.size() > max_token_field) token = token.substr(0, 0);
    auto record = co_await resolve(ctx, token, session::check_options{true, std::nullopt}, *who);
    if (!record) {
        ctx.res.set(http::field::www_authenticate, "Bearer");
        co_return;
    }
    ctx.res.result(http::status::ok);
    ctx.res.set(settings_.user_header, header_safe(record->user_id));
    ctx.res.set(settings_.id_header, record->id.to_string());
    set_no_store(ctx.res);
}

}  // namespace sessiond::api
