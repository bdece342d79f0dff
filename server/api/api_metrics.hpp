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

// How an event stream (GET /v1/events) ended, or why one was not opened.
enum class stream_end : std::size_t {
    client_gone,  // a write failed: the client closed, or did not read within write-timeout
    overflow,     // the client fell events-stream-queue events behind: cut
    drain,        // the server shut down
    refused,      // not opened: events-max-streams were open
    store_error,  // a resume's catch-up could not read the store
};

extern const counter_family event_streams_open;   // a gauge
extern const counter_family events_sent;          // events written to streams
extern const counter_family event_streams_ended;  // by stream_end

}  // namespace sessiond::metrics
