#pragma once
// Self-service ("where you're signed in"): an application the user sees,
// a caller with the scope sessions:self, lists the sessions of the user
// whose session token it presents, each with its device context and
// whether it is the presenting one, and ends one of them or all the others.
// The token is the user's proof: it must validate (and is touched, as a
// validation touches it), and only that user's sessions are ever shown or
// ended; another user's session is answered as one that does not exist.

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string_view>

#include "api/callers.hpp"
#include "api/settings.hpp"
#include "http/router.hpp"
#include "service/session_service.hpp"
#include "session/session_record.hpp"

namespace sessiond::api {

class self_service {
public:
    // `settings` is the session routes' and outlives this.
    self_service(service::session_service& sessions, const api_settings& settings) noexcept
        : sessions_(sessions), settings_(settings) {}

    // POST /v1/self/sessions {token, limit?, cursor?}: a page of the user's
    // live sessions, each with "current". `who` is null when the caller was
    // refused (the refusal is already in ctx.res).
    boost::asio::awaitable<void> list(http::request_context& ctx, std::shared_ptr<const caller> who);

    // POST /v1/self/sessions/revoke {token, session_id} or {token, others: true}:
    // 200 {"revoked": n}.
    boost::asio::awaitable<void> revoke(http::request_context& ctx, std::shared_ptr<const caller> who);

private:
    // The live session behind `token`, validated with a touch; nullopt after
    // its problem was set.
    boost::asio::awaitable<std::optional<session::session_record>> presenter(http::request_context& ctx,
                                                                             std::string_view token,
                                                                             const service::actor& who);

    service::session_service& sessions_;
    const api_settings& settings_;
};

}  // namespace sessiond::api
