#include "api/api_metrics.hpp"

#include <array>
#include <string_view>

namespace sessiond::metrics {

namespace {
constexpr std::array<std::string_view, 9> token_refusal_names = {"malformed",       "unknown_key",  "bad_tag",
                                                                 "unknown_session", "wrong_secret", "expired",
                                                                 "reuse",           "not_current",  "signed_out"};
constexpr std::array<std::string_view, 5> stream_end_names = {"client_gone", "overflow", "drain", "refused",
                                                              "store_error"};
}  // namespace

const counter_family tokens_refused{"sessiond_tokens_refused_total",
                                    "Session tokens refused (401 invalid_session), by reason.", type::counter, "reason",
                                    token_refusal_names};
const counter_family event_streams_open{"sessiond_event_streams_open", "Event streams (GET /v1/events) open.",
                                        type::gauge};
const counter_family events_sent{"sessiond_events_sent_total", "Events written to event streams."};
const counter_family event_streams_ended{"sessiond_event_streams_ended_total",
                                         "Event streams ended, by reason (refused: not opened, at the cap).",
                                         type::counter, "reason", stream_end_names};

}  // namespace sessiond::metrics
