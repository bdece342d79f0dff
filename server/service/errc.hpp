#pragma once
// Why the session service refused a token or a lookup, as one enum that
// converts to error_code (category "sessiond.service"). message() is safe to
// show a caller; the API maps each value to its problem code in one place.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace sessiond::service {

enum class errc {
    no_token = 1,               // nothing presented
    unknown_session,            // no live session under the token's id
    wrong_secret,               // the id is live but the secret is neither current nor previous
    session_expired,            // idle or absolute expiry reached
    reuse_detected,             // a rotated token after its grace: the session was revoked
    not_current,                // only the current token may rotate a session
    reauthentication_required,  // valid, but the login is older than max_auth_age
    concurrent_change,          // every compare-and-set attempt lost to another write: retryable
    not_found,                  // no session with this public id
};

const boost::system::error_category& service_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), service_category()};
}

}  // namespace sessiond::service

template <>
struct boost::system::is_error_code_enum<sessiond::service::errc> : std::true_type {};
