#include "api/authorization.hpp"

#include <string>

#include "api/headers.hpp"
#include "http/problem.hpp"

namespace sessiond::api {

std::shared_ptr<const caller> authorize(http::request_context& ctx, const shared_callers& callers, scope needed,
                                        std::string_view api_key_header) {
    // A verified client certificate names the caller (mTLS); one that names
    // no configured caller is refused, whatever API key comes with it.
    if (ctx.peer) {
        const caller* who = callers->identify(*ctx.peer);
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
        return std::shared_ptr<const caller>(callers, who);
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
    const caller* who = callers->authenticate(*key);
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
    return std::shared_ptr<const caller>(callers, who);
}

}  // namespace sessiond::api
