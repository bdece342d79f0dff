#pragma once
// OpenID Connect Back-Channel Logout 1.0 over HTTP:
// POST /v1/oidc/backchannel-logout/{provider}, a form body with
// logout_token. No API key: the token's signature, by the provider named
// in the path, is the authentication. 200 when the token is valid (whether
// or not a session matched), 400 {"error":"invalid_request",...} when it is
// not (the specification's section 2.8), 404 for an unknown provider; both
// with Cache-Control: no-store. The token is never logged.

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "http/router.hpp"
#include "service/backchannel_logout.hpp"

namespace sessiond::api {

// The logout_token of a form body (application/x-www-form-urlencoded):
// nullopt, with why in `error`, when it is missing, given twice or badly
// encoded. Other parameters are ignored.
std::optional<std::string> form_logout_token(std::string_view body, std::string& error);

class backchannel_logout_api {
public:
    explicit backchannel_logout_api(service::logout_service& logouts) : logouts_(logouts) {}

    void add_routes(http::router& routes);

    // The largest body read: a token of jwk_set::max_token and its encoding.
    static constexpr std::size_t max_body = 3 * service::jwk_set::max_token;

private:
    boost::asio::awaitable<void> logout(http::request_context& ctx);

    service::logout_service& logouts_;
};

}  // namespace sessiond::api
