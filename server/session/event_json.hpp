#pragma once
// The public face of a session event, as the Server-Sent Events stream and
// the webhooks deliver it: one JSON object per event, and one id that names
// an event among every stream (docs/events.md).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "session/events.hpp"

namespace sessiond::session {

// An event's place among all streams: "<stream>:<ms>-<seq>", e.g.
// "5321:1765119999123-0". Unique, the key a consumer de-duplicates on, and
// what a consumer hands back to resume (SSE Last-Event-ID).
struct event_ref {
    std::uint32_t stream = 0;
    event_position at = {};
    auto operator<=>(const event_ref&) const = default;
    std::string to_string() const;
    // Nullopt unless `text` is exactly that form with stream < events_stream_count.
    static std::optional<event_ref> parse(std::string_view text) noexcept;
    static event_ref of(const event& e) noexcept;
};

// The event as a JSON object appended to `out`:
//   {"id":"5321:1765119999123-0","type":"session.revoked",
//    "time":"2026-12-07T18:00:00.123Z","session_id":"…","user_id":"…",
//    "instance":"…","caller":"…","reason":"caller"}
// Fields an event does not carry are left out: session_id (user. and
// epoch. events), user_id (an epoch of everyone or a tenant), caller,
// reason (session.revoked only), tenant ("*" for everyone), not_before
// (epoch.changed, RFC 3339) and count (user.sessions_revoked).
void append_event_json(const event& e, std::string& out);
std::string event_json(const event& e);

}  // namespace sessiond::session
