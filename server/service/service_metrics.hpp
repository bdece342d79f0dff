#pragma once
// The session service's metric families: sessions created, rotated and
// revoked, validations, reuse, write conflicts, store errors, signed
// assertions.

#include <cstddef>

#include "common/metrics.hpp"

namespace sessiond::metrics {

// Why a signed assertion was refused at redemption (401 invalid_assertion,
// or 409 assertion_used).
enum class assertion_refusal : std::size_t {
    malformed,      // not a compact JWS of JSON objects, or a claim missing or mistyped
    algorithm,      // alg none, HS*, or not the alg of the key named
    unknown_key,    // kid not in the key set
    signature,      // the signature does not verify
    issuer,         // iss is not this deployment's
    audience,       // aud is not the redeemer's
    expired,        // exp passed
    not_yet_valid,  // nbf or iat in the future
    session,        // the session is gone, expired, or another user's
    used,           // redeemed before
};

// How an OIDC back-channel logout ended.
enum class logout_result : std::size_t {
    ok,                // the token was valid: its sessions (if any) are revoked
    invalid,           // the token was refused (400)
    replayed,          // its jti was used before (400)
    unknown_provider,  // no provider of that name (404)
    failed,            // the store failed (503)
};

extern const counter_family sessions_created;
extern const counter_family sessions_rotated;
extern const counter_family sessions_revoked;
extern const counter_family sessions_evicted;
extern const counter_family validations_ok;
extern const counter_family validations_rejected;
extern const counter_family reuse_detected;
extern const counter_family reuse_revocations_failed;  // a reused token's session could not be removed
extern const counter_family touches_skipped;           // a due touch lost every compare-and-set attempt
extern const counter_family rotation_conflicts;        // a rotation's compare-and-set lost to another write (retried)
extern const counter_family rotations_replayed;        // retries of a written rotation answered with its token
extern const counter_family store_errors;
extern const counter_family assertions_minted;    // signed assertions issued (mint and forward auth)
extern const counter_family assertions_redeemed;  // assertions redeemed (first use)
extern const counter_family assertions_refused;   // by assertion_refusal
extern const counter_family backchannel_logouts;  // by logout_result

}  // namespace sessiond::metrics
