#include "api/forward_auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <charconv>
#include <optional>

#include "api/client_address.hpp"
#include "api/cookies.hpp"
#include "api/errors.hpp"
#include "api/forwarded.hpp"
#include "api/headers.hpp"
#include "api/json_body.hpp"
#include "api/query_params.hpp"
#include "log/log.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
namespace json = boost::json;
using session::session_record;

namespace {

// What a location asks of a session, from the query of /v1/auth.
enum class redirect_mode { found, unauthorized, off };
struct auth_requirements {
    std::optional<std::chrono::seconds> max_auth_age;
    std::uint8_t aal = 0;
    redirect_mode redirect = redirect_mode::found;
};

// The query of /v1/auth itself: max_auth_age (seconds), aal (1..3) and
// redirect (302, 401 or off). Anything else is refused, so that a typo in a proxy's
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
        } else if (name == "aal") {
            if (value.size() != 1 || value[0] < '1' || value[0] > static_cast<char>('0' + session::max_aal)) {
                malformed(ctx, "aal must be 1, 2 or 3");
                return std::nullopt;
            }
            out.aal = static_cast<std::uint8_t>(value[0] - '0');
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
            malformed(ctx, "unknown query parameter: /v1/auth takes max_auth_age, aal and redirect");
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

// The WWW-Authenticate of a 401: for a session that only needs a new
// sign-in, the step-up challenge of RFC 9470 naming what is required.
std::string step_up_challenge(const boost::system::error_code& ec, const session::check_options& required) {
    if (ec != service::errc::reauthentication_required) return "Bearer";
    std::string out = R"(Bearer error="insufficient_user_authentication")";
    if (required.min_aal > 0) out += R"(, acr_values="aal)" + std::to_string(required.min_aal) + '"';
    if (required.max_auth_age)
        out += ", max_age=" +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*required.max_auth_age).count());
    return out;
}

// A refusal: the problem for `ec` and, for a browser that may log in, the way
// to the login page.
void refuse(http::request_context& ctx, const api_settings& settings, const boost::system::error_code& ec,
            bool from_cookie, const original_request& original, redirect_mode redirect,
            const session::check_options& required) {
    set_failure(ctx, ec, requirement_detail(ec, required));
    if (ctx.res.result() != http::status::unauthorized) return;
    ctx.res.set(http::field::www_authenticate, step_up_challenge(ec, required));
    // Strict tokens: a cookie sessiond does not honour is deleted. One that
    // only needs a fresh login stays: it is still good elsewhere, and the
    // login rotates it (reauthenticated) rather than starting over.
    if (from_cookie && ec != service::errc::reauthentication_required)
        ctx.res.set(http::field::set_cookie, cookie_deletion(settings.cookie));
    log::debug("forward auth refused", {{"original_request", original.for_log()}, {"request_id", ctx.request_id}});

    if (settings.login_url.empty() || redirect == redirect_mode::off || !accepts_html(ctx.req[http::field::accept]))
        return;
    auto url = original.url();
    // Never an open redirect: only back to a host the operator named.
    if (url.empty() || !host_allowed(original.host, settings.redirect_hosts)) return;
    std::string location = settings.login_url;
    location += location.find('?') == std::string::npos ? '?' : '&';
    location += settings.redirect_param + '=' + query_escape(url);
    ctx.res.set(http::field::location, location);
    if (redirect == redirect_mode::found) {
        // The proxy passes this answer to the browser (Traefik, Caddy, Envoy).
        ctx.res.result(http::status::found);
        ctx.res.erase(http::field::content_type);
        ctx.res.erase(http::field::www_authenticate);
        ctx.res.body().clear();
    }
}

}  // namespace

void forward_auth::set_identity(http::response& res, const session_record& r) const {
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

void forward_auth::add_assertions(service::assertion_service& assertions, std::string audience, std::string header) {
    assertions_ = &assertions;
    assertion_audience_ = std::move(audience);
    assertion_header_ = std::move(header);
}

asio::awaitable<void> forward_auth::answer(http::request_context& ctx, std::shared_ptr<const caller> who) {
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
    const std::string seen = seen_address(ctx, settings_.client_addresses);
    const session::check_options required{true, wanted.max_auth_age, wanted.aal, seen};
    auto record = co_await sessions_.validate(token, required, as);
    set_no_store(ctx.res);
    if (!record)
        co_return refuse(ctx, settings_, record.error(), presented.from_cookie, original, wanted.redirect, required);
    ctx.res.result(http::status::ok);
    set_identity(ctx.res, *record);
    if (assertions_) {
        auto assertion = assertions_->for_forward_auth(*record, assertion_audience_);
        if (!assertion.empty()) ctx.res.set(assertion_header_, assertion);
    }
}

}  // namespace sessiond::api
