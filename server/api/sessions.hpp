#pragma once
// The v1 session API over HTTP: each handler authorizes the caller, reads the
// request strictly, calls the session service (service/) and writes the
// reply. Tokens only travel in bodies and headers, and never reach a log
// line: sessions are named by their public id.

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "api/callers.hpp"
#include "api/forward_auth.hpp"
#include "api/self_service.hpp"
#include "api/settings.hpp"
#include "common/reloadable.hpp"
#include "http/router.hpp"
#include "service/assertions.hpp"
#include "service/session_service.hpp"

namespace sessiond::api {

class session_api {
public:
    // `callers`: fixed, or reloadable (each request uses the set current when
    // it is authorized, to its end).
    session_api(service::session_service& sessions, shared_callers callers, api_settings settings);
    session_api(service::session_service& sessions, const reloadable<callers>& callers, api_settings settings);
    session_api(const session_api&) = delete;
    session_api& operator=(const session_api&) = delete;

    void add_routes(http::router& routes);

    // /v1/auth adds an assertion for `audience` in `header` to every 200.
    void add_assertions(service::assertion_service& assertions, std::string audience, std::string header);

private:
    using awaitable = boost::asio::awaitable<void>;
    awaitable create(http::request_context& ctx);
    awaitable validate(http::request_context& ctx);
    awaitable rotate(http::request_context& ctx);
    awaitable revoke(http::request_context& ctx);
    awaitable get_by_id(http::request_context& ctx);
    awaitable delete_by_id(http::request_context& ctx);
    awaitable list_user(http::request_context& ctx);
    awaitable delete_user(http::request_context& ctx);
    awaitable auth(http::request_context& ctx);
    // "Not before" instants (not_before.cpp).
    awaitable get_not_before(http::request_context& ctx);
    awaitable set_not_before(http::request_context& ctx);
    awaitable set_user_not_before(http::request_context& ctx, std::string_view user_id, service::actor who);
    awaitable list_self(http::request_context& ctx);
    awaitable revoke_self(http::request_context& ctx);
    awaitable revoke_users(http::request_context& ctx);

    // The caller, kept alive with its callers for as long as the
    // request holds it; null after a 401/403 problem was set.
    std::shared_ptr<const caller> authorize(http::request_context& ctx, scope needed) const;
    // The request's metadata as JSON text: nullopt after a 400, an empty
    // optional when the field is absent.
    std::optional<std::optional<std::string>> read_metadata(http::request_context& ctx,
                                                            const boost::json::object& body) const;
    // 200/201 {token, session, cookie} with Cache-Control: no-store.
    void reply_with_token(http::request_context& ctx, http::status status, const service::issued_session& s) const;

    service::session_service& sessions_;
    local_view<callers> callers_;
    api_settings settings_;
    forward_auth forward_auth_{sessions_, settings_};
    self_service self_{sessions_, settings_};
};

}  // namespace sessiond::api
