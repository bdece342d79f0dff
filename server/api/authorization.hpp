#pragma once
// Who is calling, and whether they may: a request's caller, named by a
// verified client certificate (mTLS) or by its API key, checked for the
// scope a route needs.

#include <memory>
#include <string_view>

#include "api/callers.hpp"
#include "http/router.hpp"
#include "service/session_service.hpp"

namespace sessiond::api {

// The caller of a request with the scope `needed`, kept alive with the
// callers it belongs to for as long as the request holds it: a verified client certificate
// names it (mTLS), else the API key in `api_key_header`. Null after a 401 or
// 403 problem was set.
std::shared_ptr<const caller> authorize(http::request_context& ctx, const shared_callers& callers, scope needed,
                                        std::string_view api_key_header);

// The caller of a request, for the service's audit events.
inline service::actor actor_of(const caller& who, const http::request_context& ctx) {
    return {who.name, ctx.request_id};
}

}  // namespace sessiond::api
