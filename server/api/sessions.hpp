#pragma once
// The v1 session API: JSON in, JSON out. Handlers authorize the caller,
// read the body strictly, apply the domain rules (session/) and let the
// store (store/) keep the result. Tokens only travel in bodies and headers,
// and never reach a log line: sessions are named by their public id.

#include <memory>
#include <string>

#include "api/api_keys.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "session/keyring.hpp"
#include "session/rules.hpp"
#include "session/token_codec.hpp"
#include "store/session_store.hpp"

namespace sessiond::api {

struct api_settings {
    session::policy policy;
    std::size_t metadata_max_bytes = 4096;
    cookie_config cookie;
    std::string api_key_header = "X-API-Key";
    std::string user_header = "X-Session-User";
    std::string id_header = "X-Session-Id";
};

class session_api {
public:
    session_api(store::session_store& store, std::shared_ptr<const session::keyring> keys, session::token_codec codec,
                const session::clock& clock, api_keys callers, api_settings settings);

    void add_routes(http::router& routes);

    // The user reference a store needs for `user_id` (bucket and keyed index name).
    store::user_ref user(std::string_view user_id) const;

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

    const caller* authorize(http::request_context& ctx, scope needed) const;
    // Token → live session, with the touch written back; nullopt after
    // filling the problem response.
    boost::asio::awaitable<std::optional<session::session_record>> resolve(http::request_context& ctx,
                                                                           std::string_view token,
                                                                           const session::check_options& options,
                                                                           const caller& who);
    boost::asio::awaitable<void> revoke_reused(const http::request_context& ctx, const session::session_id& id,
                                               const caller& who);
    // The request's metadata as JSON text: nullopt after a 400, an empty
    // optional when the field is absent.
    std::optional<std::optional<std::string>> read_metadata(http::request_context& ctx,
                                                            const boost::json::object& body) const;
    // 200/201 {token, session, cookie} with Cache-Control: no-store.
    void reply_with_token(http::request_context& ctx, http::status status, const std::string& token,
                          const session::session_record& r) const;
    // user() for a stored session's user: its id already carries the bucket.
    store::user_ref user_of(const session::session_record& r) const;
    std::string cookie_for(const std::string& token, const session::session_record& r) const;
    void store_failed(http::request_context& ctx, const boost::system::error_code& ec) const;
    void audit(std::string_view event, const session::session_record& r, const caller& who,
               const http::request_context& ctx) const;

    store::session_store& store_;
    std::shared_ptr<const session::keyring> keys_;
    session::token_codec codec_;
    const session::clock& clock_;
    api_keys callers_;
    api_settings settings_;
};

}  // namespace sessiond::api
