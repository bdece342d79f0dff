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
    signed_out,                 // created before a "not before" instant (everyone's, or its tenant's)
    unknown_provider,           // create: the session's provider is not on oidc-providers
};

// Why a signed assertion (JWT) could not be minted or was refused at
// redemption (category "sessiond.assertion"). message() says which check
// failed: an assertion's claims are no secret of its holder's.
enum class assertion_errc {
    disabled = 1,          // no assertion keys are configured
    audience_not_allowed,  // mint: the audience is not on assertion-audiences
    malformed,             // not a compact JWS of JSON objects, or a claim missing or mistyped
    algorithm,             // alg none, HS*, or not the alg of the key named by kid
    unknown_key,           // kid not in the key set
    signature,             // the signature does not verify
    issuer,                // iss is not this deployment's
    audience,              // aud is not the redeemer's
    expired,               // exp has passed
    not_yet_valid,         // nbf or iat in the future
    session,               // the session is gone, expired, or another user's
    used,                  // redeemed before
};

const boost::system::error_category& service_category() noexcept;
const boost::system::error_category& assertion_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), service_category()};
}

inline boost::system::error_code make_error_code(assertion_errc e) noexcept {
    return {static_cast<int>(e), assertion_category()};
}

}  // namespace sessiond::service

template <>
struct boost::system::is_error_code_enum<sessiond::service::errc> : std::true_type {};
template <>
struct boost::system::is_error_code_enum<sessiond::service::assertion_errc> : std::true_type {};
