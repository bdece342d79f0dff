#pragma once
// Session events: what happened to sessions, for the services around
// sessiond (issue "session events"). Each store appends them in the same
// atomic step as the change they report (a Redis Stream per bucket, written
// by the Lua script that makes the change; a bounded log in the embedded
// store), so no change is acknowledged without its event and no event
// exists for a change that did not happen. An event names a session by its
// public id and its user; it never holds a token, a secret or a digest.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "session/session_record.hpp"

namespace sessiond::session {

enum class event_type : std::uint8_t {
    session_created,
    session_rotated,
    session_revoked,         // with a reason (revoke_reason)
    session_reuse_detected,  // followed by the session's session.revoked (reason reuse_detected)
    session_expired,         // only where sessiond learns of it (docs/events.md)
    user_sessions_revoked,   // the end of a revoke-all: its count
    epoch_changed,           // a "not before" instant set: for everyone, a tenant or a user
};

// The names events carry ("session.created", ...); nullopt for any other.
std::string_view event_name(event_type t) noexcept;
std::optional<event_type> parse_event_type(std::string_view name) noexcept;

// Why a session was revoked, as session.revoked says it.
namespace revoke_reason {
inline constexpr std::string_view caller = "caller";                          // a caller revoked it (token or id)
inline constexpr std::string_view self_service = "self_service";              // its user, through self-service
inline constexpr std::string_view user_revoke_all = "user_revoke_all";        // a revoke-all of its user
inline constexpr std::string_view epoch = "epoch";                            // its user's "not before" instant
inline constexpr std::string_view backchannel_logout = "backchannel_logout";  // OIDC back-channel logout
inline constexpr std::string_view reuse_detected = "reuse_detected";          // a rotated token came back
inline constexpr std::string_view evicted = "evicted";                        // the per-user limit made room
}  // namespace revoke_reason

// One event as a store returns it. `id` is its position in its stream,
// "<ms>-<seq>" as Redis spells stream ids (the embedded store uses the same
// form): unique within the stream, increasing, and the key to de-duplicate
// on; `at` is its time (the id's milliseconds, the store's clock).
struct event {
    std::string id = {};
    std::uint32_t stream = 0;  // the bucket, or events_meta_stream
    event_type type = event_type::session_created;
    timestamp at = {};
    std::string session_id = {};  // public id; empty for user. and epoch. events
    std::string user_id = {};     // empty for an epoch of everyone or a tenant
    std::string instance = {};    // the sessiond instance that made the change
    std::string caller = {};      // who asked (a caller's name), when one did
    std::string reason = {};      // session.revoked: a revoke_reason
    std::string tenant = {};      // epoch.changed: the tenant, "*" for everyone, empty for a user
    std::int64_t instant_ms = 0;  // epoch.changed: the instant
    std::int64_t count = 0;       // user.sessions_revoked: sessions revoked

    friend bool operator==(const event&, const event&) = default;
};

// Every bucket has its stream (0..16383); epochs of everyone or a tenant
// go to one more, the not-before hash's.
inline constexpr std::uint32_t events_meta_stream = 16384;
inline constexpr std::uint32_t events_stream_count = 16385;

// A stream position: "<ms>-<seq>" parsed; {0, 0} is before every event.
struct event_position {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    auto operator<=>(const event_position&) const = default;
    std::string to_string() const;
    static std::optional<event_position> parse(std::string_view text) noexcept;
};

}  // namespace sessiond::session
