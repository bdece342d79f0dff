#pragma once
// Revoking users' sessions: the answer to a revocation of one user's
// sessions (all of them, or all but one), and bulk revocation for
// offboarding, POST /v1/users/revoke (scope sessions:admin).

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>

#include "api/callers.hpp"
#include "http/router.hpp"
#include "service/session_service.hpp"

namespace sessiond::api {

// At most this many user ids in one bulk revocation.
inline constexpr std::size_t max_bulk_users = 100;

// 200 {"revoked": n}; or, when the store failed, its problem with a detail
// saying how many went first and that repeating the request is safe.
void reply_revocation(http::request_context& ctx, const service::user_revocation& outcome);

// POST /v1/users/revoke {user_ids: [...]}: each user's sessions in turn,
// 200 {results: [{user_id, revoked, error?}]}; 503 only when the store
// failed for every user. `who` is null when the caller was refused (the
// refusal is already in ctx.res).
boost::asio::awaitable<void> revoke_users(http::request_context& ctx, service::session_service& sessions,
                                          std::shared_ptr<const caller> who);

}  // namespace sessiond::api
