#include "api/backchannel_logout.hpp"

#include <algorithm>
#include <cctype>

#include "api/errors.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"
#include "http/problem.hpp"
#include "service/service_metrics.hpp"

namespace sessiond::api {

namespace asio = boost::asio;

namespace {

constexpr std::string_view form_type = "application/x-www-form-urlencoded";

bool is_form(std::string_view content_type) {
    auto type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && type.back() == ' ')
        type.remove_suffix(1);
    return type.size() == form_type.size() &&
           std::equal(type.begin(), type.end(), form_type.begin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

// A form value: '+' is a space, then %XX.
std::optional<std::string> form_decode(std::string_view raw) {
    std::string text(raw);
    std::replace(text.begin(), text.end(), '+', ' ');
    return percent_decode(text);
}

void no_store(http::request_context& ctx) {
    ctx.res.set(http::field::cache_control, "no-store");
}

// The specification's error answer (section 2.8, as OAuth 2.0's).
void invalid_request(http::request_context& ctx, std::string_view description) {
    std::string body = R"({"error":"invalid_request","error_description":")";
    append_json_escaped(body, description);
    body += "\"}";
    http::set_json(ctx.res, http::status::bad_request, std::move(body));
    no_store(ctx);
}

void refused_early(http::request_context& ctx, std::string_view description) {
    metrics::backchannel_logouts.local(metrics::logout_result::invalid).inc();
    invalid_request(ctx, description);
}

}  // namespace

std::optional<std::string> form_logout_token(std::string_view body, std::string& error) {
    std::optional<std::string> token;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const auto pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto name = form_decode(pair.substr(0, eq));
        if (!name) {
            error = "the form body is not correctly encoded";
            return std::nullopt;
        }
        if (*name != "logout_token") continue;
        if (token) {
            error = "logout_token is given twice";
            return std::nullopt;
        }
        token = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!token) {
            error = "logout_token is not correctly encoded";
            return std::nullopt;
        }
    }
    if (!token || token->empty()) {
        error = "logout_token is required";
        return std::nullopt;
    }
    return token;
}

void backchannel_logout_api::add_routes(http::router& routes) {
    // Refused before the body is read: another content type, or a body
    // larger than any logout token needs.
    auto check = [](http::request_context& ctx) {
        if (!is_form(ctx.req[http::field::content_type])) {
            refused_early(ctx, "expected Content-Type: application/x-www-form-urlencoded");
            return false;
        }
        const auto length = ctx.req.payload_size();
        if (length && *length > max_body) {
            refused_early(ctx, "the body is larger than a logout token needs");
            return false;
        }
        return true;
    };
    routes.add(
        http::verb::post, "/v1/oidc/backchannel-logout/{provider}",
        [this](http::request_context& ctx) { return logout(ctx); }, http::route_options{check});
}

asio::awaitable<void> backchannel_logout_api::logout(http::request_context& ctx) {
    if (ctx.req.body().size() > max_body) co_return refused_early(ctx, "the body is larger than a logout token needs");
    std::string error;
    const auto token = form_logout_token(ctx.req.body(), error);
    if (!token) co_return refused_early(ctx, error);
    if (token->size() > service::jwk_set::max_token)
        co_return refused_early(ctx, "logout_token exceeds " + std::to_string(service::jwk_set::max_token) + " bytes");
    const std::string provider(ctx.params.get("provider"));
    auto done = co_await logouts_.logout(provider, *token, ctx.request_id);
    if (done) {
        ctx.res.result(http::status::ok);
        ctx.res.body().clear();
        no_store(ctx);
        co_return;
    }
    const auto& ec = done.error();
    if (ec == service::logout_errc::unknown_provider) {
        http::set_problem(ctx.res, sessiond::error::not_found, "no OIDC provider of this name is configured",
                          ctx.request_id);
        co_return no_store(ctx);
    }
    if (ec.category() == service::logout_category()) co_return invalid_request(ctx, ec.message());
    set_failure(ctx, ec);  // the store: 503, the provider retries
    no_store(ctx);
}

}  // namespace sessiond::api
