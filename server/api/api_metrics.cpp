#include "api/api_metrics.hpp"

#include <array>
#include <string_view>

namespace sessiond::metrics {

namespace {
constexpr std::array<std::string_view, 9> token_refusal_names = {"malformed",       "unknown_key",  "bad_tag",
                                                                 "unknown_session", "wrong_secret", "expired",
                                                                 "reuse",           "not_current",  "signed_out"};
}  // namespace

const counter_family tokens_refused{"sessiond_tokens_refused_total",
                                    "Session tokens refused (401 invalid_session), by reason.", type::counter, "reason",
                                    token_refusal_names};

}  // namespace sessiond::metrics
