#pragma once
// Forward auth (/v1/auth): a proxy (nginx auth_request, Traefik, Caddy,
// Envoy ext_authz) asks whether the request it holds carries a live session.
// 200 with the identity headers (and an assertion, when configured); else
// 401, a 302 to the login page for a browser, and a refused cookie deleted.

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "api/callers.hpp"
#include "api/settings.hpp"
#include "http/router.hpp"
#include "service/assertions.hpp"
#include "service/session_service.hpp"
#include "session/session_record.hpp"

namespace sessiond::api {

class forward_auth {
public:
    // `settings` is the session routes' and outlives this.
    forward_auth(service::session_service& sessions, const api_settings& settings) noexcept
        : sessions_(sessions), settings_(settings) {}

    // Adds an assertion for `audience` in `header` to every 200.
    void add_assertions(service::assertion_service& assertions, std::string audience, std::string header);

    // The answer to `who`, a caller with the scope auth; none if the caller
    // was refused (the refusal is already in ctx.res).
    boost::asio::awaitable<void> answer(http::request_context& ctx, std::shared_ptr<const caller> who);

private:
    // The identity headers of a success.
    void set_identity(http::response& res, const session::session_record& r) const;

    service::session_service& sessions_;
    const api_settings& settings_;
    service::assertion_service* assertions_ = nullptr;
    std::string assertion_audience_;
    std::string assertion_header_;
};

}  // namespace sessiond::api
