#include "service/service_metrics.hpp"

#include <array>
#include <string_view>

namespace sessiond::metrics {

namespace {
constexpr std::array<std::string_view, 10> assertion_refusal_names = {
    "malformed", "algorithm", "unknown_key",   "signature", "issuer",
    "audience",  "expired",   "not_yet_valid", "session",   "used"};
constexpr std::array<std::string_view, 5> logout_result_names = {"ok", "invalid", "replayed", "unknown_provider",
                                                                 "failed"};
}  // namespace

const counter_family sessions_created{"sessiond_sessions_created_total", "Sessions created."};
const counter_family sessions_rotated{"sessiond_sessions_rotated_total", "Session tokens rotated."};
const counter_family sessions_revoked{"sessiond_sessions_revoked_total", "Sessions revoked (by token, id, or user)."};
const counter_family sessions_evicted{"sessiond_sessions_evicted_total", "Sessions evicted by the per-user limit."};
const counter_family validations_ok{"sessiond_validations_ok_total", "Successful validations (validate and auth)."};
const counter_family validations_rejected{"sessiond_validations_rejected_total", "Rejected validations (401)."};
const counter_family reuse_detected{"sessiond_token_reuse_detected_total",
                                    "Rotated tokens presented after the grace period."};
const counter_family reuse_revocations_failed{"sessiond_token_reuse_revocations_failed_total",
                                              "Sessions of reused tokens that the store failed to revoke."};
const counter_family touches_skipped{"sessiond_session_touches_skipped_total",
                                     "Validations whose due idle extension lost every compare-and-set attempt."};
const counter_family rotation_conflicts{
    "sessiond_session_rotation_conflicts_total",
    "Rotation writes that lost to a concurrent write of the same session and were retried."};
const counter_family rotations_replayed{
    "sessiond_session_rotations_replayed_total",
    "Rotation retries (same idempotency key) answered with the token of the rotation already written."};
const counter_family store_errors{"sessiond_store_errors_total", "Store operations that failed (503)."};
const counter_family assertions_minted{"sessiond_assertions_minted_total",
                                       "Signed assertions issued (mint and forward auth)."};
const counter_family assertions_redeemed{"sessiond_assertions_redeemed_total",
                                         "Signed assertions redeemed (their first use)."};
const counter_family assertions_refused{"sessiond_assertions_refused_total",
                                        "Signed assertions refused at redemption, by reason.", type::counter, "reason",
                                        assertion_refusal_names};
const counter_family backchannel_logouts{"sessiond_backchannel_logouts_total",
                                         "OIDC back-channel logout requests, by result.", type::counter, "result",
                                         logout_result_names};

}  // namespace sessiond::metrics
