#pragma once
// What a store keeps for one session, its compact binary encoding for Redis,
// and its JSON shape in the HTTP API. No secret is kept: only digests of the
// token secrets (digest_secret: 16 bytes of SHA-256), never shown in JSON.

#include "session/crypto.hpp"
#include "session/session_id.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sessiond::session {

using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// The range every stored timestamp must lie in: 1970-01-01T00:00:00.000Z up
// to 9999-12-31T23:59:59.999Z, so that each has an RFC 3339 spelling.
inline constexpr timestamp min_timestamp{std::chrono::milliseconds{0}};
inline constexpr timestamp max_timestamp{std::chrono::milliseconds{253'402'300'799'999}};

inline constexpr std::size_t max_user_id_size = 256;           // API: 1..256 bytes of UTF-8
inline constexpr std::size_t max_metadata_size = 1024 * 1024;  // hard bound; the API's configured limit is lower

// The token secret that was current before the last rotation, accepted until
// `valid_until` (the grace period) and a sign of theft after it.
struct previous_secret {
    secret_digest secret_hash{};
    timestamp valid_until{};

    friend bool operator==(const previous_secret&, const previous_secret&) = default;
};

struct session_record {
    session_id id;
    std::string user_id;
    std::string metadata = "{}";  // serialized JSON object, validated by the API layer
    timestamp created_at{};
    timestamp last_seen_at{};      // last validation that was written back
    timestamp idle_expires_at{};   // <= expires_at
    timestamp expires_at{};        // created_at + absolute timeout; never moves
    timestamp authenticated_at{};  // creation, or rotation with reauthenticated=true
    std::optional<timestamp> rotated_at;
    std::chrono::milliseconds idle_timeout{};  // this session's sliding window
    secret_digest secret_hash{};               // digest_secret of the current token's secret
    std::optional<previous_secret> previous;
    // Bumped on every write; stores compare-and-set on it. A new record has 1.
    std::uint64_t version = 1;

    friend bool operator==(const session_record&, const session_record&) = default;
};

// --- binary encoding (for Redis) ----------------------------------------
// Format 2, all integers LEB128 varints (minimal length), "zz" = zigzag:
//   u8 format (2) | u8 flags (bit 0: rotated_at, bit 1: previous) | version
//   | len ‖ user_id | len ‖ metadata
//   | created_at (ms since epoch) | idle_timeout (ms)
//   | zz(idle_expires_at - created_at)
//   | zz(last_seen_at - (idle_expires_at - idle_timeout))
//   | zz(t - created_at) for expires_at, authenticated_at[, rotated_at]
//   | secret_hash (16)
//   [| previous secret_hash (16) | zz(valid_until - created_at)]
// The session id is not in the record: the store's key names it, and the
// decoder is given it. Deltas keep the timestamps to 1–5 bytes each, and
// last_seen_at to one byte while the idle deadline is last_seen_at plus the
// idle timeout (a new session, and every touch not capped by expires_at), so
// a touch does not grow the record. A
// typical session (12-byte user_id, "{}" metadata, touched, not rotated)
// takes 57 bytes, 84 once rotated; its API JSON alone is 303 bytes. A new
// session of a 17-byte user id and no metadata takes 59: at most 60 bytes
// keep the Redis value in jemalloc's 64-byte class (80 beyond).

// Throws std::invalid_argument if the record breaks the bounds above
// (user_id size, metadata size, timestamp range, negative idle_timeout).
std::string encode_record(const session_record& r);

// Strict: rejects any truncation, trailing byte, non-minimal varint, unknown
// flag, out-of-bounds length or timestamp (errc::malformed_record), and other
// formats (errc::unsupported_record_format). Never reads past `data`.
// `id` is the session's id, from the key the record was stored under.
boost::system::result<session_record> decode_record(std::string_view data, const session_id& id);

// --- JSON (the API's session object) ------------------------------------

// "2026-11-26T06:16:03.123Z": always 24 characters, UTC, milliseconds.
// Timestamps outside [min_timestamp, max_timestamp] are clamped into it.
inline constexpr std::size_t rfc3339_size = 24;
void format_rfc3339(timestamp t, std::span<char, rfc3339_size> out) noexcept;
std::string format_rfc3339(timestamp t);

// The session object: id, user_id, metadata (parsed), created_at,
// last_seen_at, idle_expires_at, expires_at, rotated_at (or null),
// authenticated_at. Throws std::invalid_argument if metadata is not a JSON
// object (the API validates it before it is ever stored).
boost::json::object to_json(const session_record& r);

// The same object serialized straight onto `out`, with metadata copied
// verbatim instead of parsed and re-serialized: the fast path for responses.
void append_json(const session_record& r, std::string& out);

}  // namespace sessiond::session
