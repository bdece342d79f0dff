#pragma once
// The stored face of a session record: the compact binary value the Redis
// store keeps under a session's key. The domain type (session/) knows
// nothing of it.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>

#include "session/session_record.hpp"

namespace sessiond::store {

enum class record_errc {
    unsupported_format = 1,  // a record written by a newer sessiond
    malformed,               // truncated, trailing bytes, bad lengths or values
};

const boost::system::error_category& record_category() noexcept;

inline boost::system::error_code make_error_code(record_errc e) noexcept {
    return {static_cast<int>(e), record_category()};
}

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
std::string encode_record(const session::session_record& r);

// Strict: rejects any truncation, trailing byte, non-minimal varint, unknown
// flag, out-of-bounds length or timestamp (record_errc::malformed), and other
// formats (record_errc::unsupported_format). Never reads past `data`.
// `id` is the session's id, from the key the record was stored under.
boost::system::result<session::session_record> decode_record(std::string_view data, const session::session_id& id);

}  // namespace sessiond::store

template <>
struct boost::system::is_error_code_enum<sessiond::store::record_errc> : std::true_type {};
