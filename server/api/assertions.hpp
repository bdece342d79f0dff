#pragma once
// Signed assertions over HTTP: minting from a session token
// (assertions:mint), single-use redemption (assertions:redeem), and the
// public keys at /.well-known/jwks.json for relying parties that verify on
// their own. The JWT travels only in bodies and headers and is never logged.

#include <string>

#include "api/callers.hpp"
#include "common/reloadable.hpp"
#include "http/router.hpp"
#include "service/assertions.hpp"

namespace sessiond::api {

class assertion_api {
public:
    assertion_api(service::assertion_service& assertions, const reloadable<callers>& callers,
                  std::string api_key_header);
    assertion_api(service::assertion_service& assertions, shared_callers callers, std::string api_key_header);

    void add_routes(http::router& routes);

private:
    using awaitable = boost::asio::awaitable<void>;
    awaitable mint(http::request_context& ctx);
    awaitable redeem(http::request_context& ctx);
    awaitable jwks(http::request_context& ctx);

    std::shared_ptr<const caller> authorize(http::request_context& ctx, scope needed) const;

    service::assertion_service& assertions_;
    local_view<callers> callers_;
    std::string api_key_header_;
};

}  // namespace sessiond::api
