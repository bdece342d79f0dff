#pragma once
// The one mapping from every failure a handler can be given (the session
// service's, the domain's, the assertions' and the store's error codes) to
// what a caller sees: a problem (its sessiond::error, whose row in
// common/error.cpp holds the status, code and title) with its detail. The
// session routes, forward auth and the assertion routes answer every such
// failure through set_failure; the detail texts live with the table.

#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "api/api_metrics.hpp"
#include "http/router.hpp"
#include "session/rules.hpp"

namespace sessiond::api {

// The `detail` of every refused session token (401 invalid_session): unknown
// key id, forged, unknown or expired session, wrong secret, reuse, a
// previous token presented to rotate. Only a missing token says so.
inline constexpr std::string_view invalid_token_detail = "the session token is not valid";

// What a failure shows a caller.
struct failure {
    sessiond::error problem;  // status, code and title
    std::string detail;       // never a token or a secret
    // A refused session token: why, for the metric (the detail is the same
    // for all of them).
    std::optional<metrics::token_refusal> refusal;
    // A header the problem comes with (WWW-Authenticate, Retry-After), if any.
    http::field header = http::field::unknown;
    std::string_view header_value;
};

// The mapping itself: what `ec` shows a caller. Anything it does not know
// (an error from below the store) is an unavailable store.
failure failure_of(const boost::system::error_code& ec);

// The problem response for `ec`; a refused token is also counted and logged
// (at debug, with its reason). `detail`, when given, replaces the table's.
void set_failure(http::request_context& ctx, const boost::system::error_code& ec);
void set_failure(http::request_context& ctx, const boost::system::error_code& ec, std::string_view detail);

// For 401 reauthentication_required, a detail naming what `required` asked
// (max_auth_age, aal), so a caller can send the user to the right sign-in;
// empty (the table's detail) for any other failure.
std::string requirement_detail(const boost::system::error_code& ec, const session::check_options& required);

}  // namespace sessiond::api
