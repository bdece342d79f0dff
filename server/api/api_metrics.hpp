#pragma once
// The API's metric families: session tokens refused, by reason.

#include <cstddef>

#include "common/metrics.hpp"

namespace sessiond::metrics {

// Why a presented session token was refused (401 invalid_session). A caller
// gets one neutral detail for all of them; operators tell them apart here.
enum class token_refusal : std::size_t {
    malformed,        // length, encoding, version or prefix
    unknown_key,      // key id not accepted
    bad_tag,          // forged or mangled
    unknown_session,  // no live session under the id (unknown, expired, revoked)
    wrong_secret,     // the id is live, the secret is neither current nor previous
    expired,          // idle or absolute expiry reached
    reuse,            // a rotated token after its grace: the session was revoked
    not_current,      // a previous token presented to rotate
    signed_out,       // created before a "not before" instant
};

extern const counter_family tokens_refused;  // by token_refusal

}  // namespace sessiond::metrics
