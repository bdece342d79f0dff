#pragma once
// The v1 session API over HTTP: each handler authorizes the caller, reads the
// request strictly, calls the session service (service/) and writes the
// reply. Tokens only travel in bodies and headers, and never reach a log
// line: sessions are named by their public id.

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_keys.hpp"
#include "common/reloadable.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "service/assertions.hpp"
#include "service/session_service.hpp"

namespace sessiond::api {

struct api_settings {
    std::size_t metadata_max_bytes = 4096;
    cookie_config cookie;
    std::string api_key_header = "X-API-Key";
    std::string user_header = "X-Session-User";
    std::string id_header = "X-Session-Id";
    // /v1/auth: (metadata field, header) pairs sent on success.
    std::vector<std::pair<std::string, std::string>> metadata_headers;
    // /v1/auth: browser redirects (see auth_config); empty login_url = none.
    std::string login_url;
    std::vector<std::string> redirect_hosts;
    std::string redirect_param = "rd";
    // /v1/auth: where the original request is read from, most trusted first.
    std::vector<header_family> original_headers = {header_family::x_original, header_family::x_forwarded};
};

// The caller of a request with the scope `needed`, kept alive with its key
// set for as long as the request holds it: a verified client certificate
// names it (mTLS), else the API key in `api_key_header`. Null after a 401 or
// 403 problem was set.
std::shared_ptr<const caller> authorize(http::request_context& ctx, const key_set& callers, scope needed,
                                        std::string_view api_key_header);

class session_api {
public:
    // `callers`: fixed, or reloadable (each request uses the set current when
    // it is authorized, to its end).
    session_api(service::session_service& sessions, key_set callers, api_settings settings);
    session_api(service::session_service& sessions, const reloadable<api_keys>& callers, api_settings settings);

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
    awaitable forward_auth(http::request_context& ctx);

    // The caller, kept alive with its key set for as long as the request
    // holds it; null after a 401/403 problem was set.
    std::shared_ptr<const caller> authorize(http::request_context& ctx, scope needed) const;
    // The request's metadata as JSON text: nullopt after a 400, an empty
    // optional when the field is absent.
    std::optional<std::optional<std::string>> read_metadata(http::request_context& ctx,
                                                            const boost::json::object& body) const;
    // 200/201 {token, session, cookie} with Cache-Control: no-store.
    void reply_with_token(http::request_context& ctx, http::status status, const service::issued_session& s) const;
    std::string cookie_for(const std::string& token, const session::session_record& r) const;
    // The Set-Cookie value that deletes the session cookie in a browser.
    std::string cookie_deletion() const;
    // The identity headers of a /v1/auth success.
    void set_identity(http::response& res, const session::session_record& r) const;

    service::session_service& sessions_;
    local_view<api_keys> callers_;
    api_settings settings_;
    service::assertion_service* assertions_ = nullptr;
    std::string assertion_audience_;
    std::string assertion_header_;
};

// The `detail` of every refused session token (401 invalid_session): unknown
// key id, forged, unknown or expired session, wrong secret, reuse, a
// previous token presented to rotate. Only a missing token says so.
inline constexpr std::string_view invalid_token_detail = "the session token is not valid";

// The problem response for a failure of the session service: its one mapping
// from service, token and store errors to a problem code and detail.
void set_failure(http::request_context& ctx, const boost::system::error_code& ec);

}  // namespace sessiond::api
