#pragma once
// OpenID Connect Back-Channel Logout 1.0: an identity provider's logout
// token (a JWT it signs) ends the sessions it names. The token is validated
// as the specification's section 2.6 says: the signature against the
// provider's JWKS with one of its allowed algorithms, iss, aud, iat (within
// oidc-logout-max-age, and not ahead of this clock by more than
// logout_clock_leeway), exp if present, the events claim, no nonce, sub
// and/or sid, and a jti used once (store::session_store::claim_once). Then,
// by sid: the sessions opened under that provider session (the store's
// provider index), or, by sub alone: every session of that user id.
//
// One instance per I/O thread, beside that thread's session service.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/reloadable.hpp"
#include "service/oidc_providers.hpp"
#include "service/session_service.hpp"

namespace sessiond::service {

// Why a logout was refused (category "sessiond.logout"). message() says
// which check failed: it is the provider's own token.
enum class logout_errc {
    unknown_provider = 1,  // no provider of this name is configured
    malformed,             // not a compact JWS of JSON objects, or a claim mistyped
    algorithm,             // alg none, HMAC, not allowed, or not the alg of the key named
    unknown_key,           // kid not in the provider's JWKS
    signature,             // the signature does not verify
    issuer,                // iss is not the provider's
    audience,              // aud does not contain the client id
    no_issued_at,          // iat missing
    too_old,               // iat older than oidc-logout-max-age
    in_future,             // iat ahead of this clock
    expired,               // exp has passed
    events,                // no events claim with the back-channel logout event as an object
    nonce,                 // a nonce claim is present
    no_subject,            // neither sub nor sid
    no_jti,                // jti missing
    replayed,              // this jti was used before
};

const boost::system::error_category& logout_category() noexcept;
inline boost::system::error_code make_error_code(logout_errc e) noexcept {
    return {static_cast<int>(e), logout_category()};
}

// The event a logout token carries (OIDC Back-Channel Logout 1.0, 2.4).
inline constexpr std::string_view backchannel_logout_event = "http://schemas.openid.net/event/backchannel-logout";
// How far ahead of this clock a logout token's iat may be (and how long
// after exp it is still taken): identity providers' clocks drift.
inline constexpr std::chrono::seconds logout_clock_leeway{60};

// What a valid logout token names.
struct logout_claims {
    std::string sub;  // empty when absent
    std::string sid;  // empty when absent
    std::string jti;
};

// Sections 2.6 steps 1 to 5 of the specification, and jti present: the
// claims of a valid token, or why not. Pure: `now` is this instance's clock.
boost::system::result<logout_claims> check_logout_token(const oidc_provider& provider, std::string_view token,
                                                        session::timestamp now, std::chrono::seconds max_age);

// The name a logout token's jti is claimed under (claim_once): within
// max_claim_name, of base64url characters, apart from assertion ids.
std::string logout_claim_name(std::string_view provider, std::string_view jti);

struct logout_outcome {
    std::size_t revoked = 0;
};

class logout_service {
public:
    logout_service(session_service& sessions, store::session_store& store, const reloadable<oidc_providers>& providers);
    logout_service(session_service& sessions, store::session_store& store,
                   std::shared_ptr<const oidc_providers> providers);

    // Validates `token` for the provider named `provider` and ends the
    // sessions it names (none is fine). Errors: logout_errc, and the
    // store's.
    boost::asio::awaitable<result<logout_outcome>> logout(std::string_view provider, std::string_view token,
                                                          std::string_view request_id);

private:
    boost::asio::awaitable<result<std::size_t>> logout_sid(const oidc_provider& provider, std::string_view sid,
                                                           const actor& who);

    session_service& sessions_;
    store::session_store& store_;
    local_view<oidc_providers> providers_;
};

}  // namespace sessiond::service

template <>
struct boost::system::is_error_code_enum<sessiond::service::logout_errc> : std::true_type {};
