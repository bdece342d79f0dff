#pragma once
// The stored face of a session record: the compact binary value the Redis
// store keeps under a session's key. The domain type (session/) knows
// nothing of it.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/reloadable.hpp"
#include "session/keyring.hpp"
#include "session/session_record.hpp"

namespace sessiond::store {

enum class record_errc {
    unsupported_format = 1,  // a record written by a newer sessiond
    malformed,               // truncated, trailing bytes, bad lengths or values
    forged,                  // a seal that does not verify (or a user outside the session's bucket)
    unsigned_record,         // format 2 (no seal) where only sealed records are read
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
// Format 2 holds one previous secret at most: a record with more is written
// with the newest only (see format 4).
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
// Format 2.
std::string encode_record(const session::session_record& r);

// Strict: rejects any truncation, trailing byte, non-minimal varint, unknown
// flag, out-of-bounds length or timestamp (record_errc::malformed), and other
// formats (record_errc::unsupported_format). Never reads past `data`.
// `id` is the session's id, from the key the record was stored under.
boost::system::result<session::session_record> decode_record(std::string_view data, const session::session_id& id);

// The fields of format 2, 3, 4 or 5 without a seal (what seal() signs, before
// the kid and tag), as strictly as decode_record; for the tests and the fuzz
// target, never for a stored value. encode_record_fields throws
// std::invalid_argument as encode_record does, for format 4 with fewer
// than two previous secrets (such a record is written as format 3), and for
// format 5 without a context.
std::string encode_record_fields(const session::session_record& r, std::uint8_t format);
boost::system::result<session::session_record> decode_record_fields(std::string_view data,
                                                                    const session::session_id& id);

// Format 3 is format 2's fields under the format byte 3, sealed:
//   format 2's fields (format byte 3) | u8 kid | tag (16)
// tag = HMAC-SHA-256(keyring::record_key(kid), varint(|key name|) ‖ key
// name ‖ everything before the tag), first 16 bytes. The key name is the
// Redis key the record is stored under, so a record can be neither forged
// nor moved to another session (or another deployment's prefix) by anyone
// who can write to Redis but does not hold a token key. Every format from 2
// on starts with the same header (format, flags, version, user id), which
// the Redis scripts read.
//
// Format 4 is format 3 with a chain of previous secrets, for a record that
// holds two or more (rotations within each other's grace):
//   ... | secret_hash (16) | varint n (2..max_previous_secrets)
//   | n × (previous secret_hash (16) | zz(valid_until - created_at)), newest first
//   | u8 kid | tag (16)
// with flag bit 1 set. A record with one previous secret at most is written
// as format 3, byte for byte, so that versions which read only formats 2 and
// 3 read every session that has no chain; one that meets a chain answers
// unsupported_format (format > 3), never a misreading.
//
// Format 5 is a record with a session context (session/context.hpp):
//   ... | secret_hash (16) [| varint n (1..max_previous_secrets)
//   | n × (previous secret_hash (16) | zz(valid_until - created_at))]
//   | u8 parts (bit 0 device, 1 assurance, 2 tenant, 3 provider; not 0)
//   [| len ‖ user_agent | len ‖ label | len ‖ created_address | len ‖ last_address]
//   [| u8 aal | varint m | m × (len ‖ amr value)]
//   [| len ‖ tenant] [| len ‖ provider | len ‖ sid]
//   | u8 kid | tag (16)
// with flag bit 1 set when n is there. Only a record with a context is
// written as format 5; a version that reads up to format 4 answers
// unsupported_format for it, and one that meets a part it does not know
// does the same.
struct record_format_options {
    // The format written: 5 (sealed; format 3 unless the record holds a
    // chain or a context); 4 while instances of a version that reads up to
    // format 4 still run (the context is then not kept); 3 while instances
    // of a version that reads formats 2 and 3 only still run (the chain is
    // then cut to its newest secret); or 2 while instances of a version that
    // reads only format 2 still run.
    std::uint8_t write_format = 5;
    // Whether format-2 records (no seal) are read: during an upgrade, until
    // every session has been written again in format 3 or has expired.
    bool accept_unsigned = false;
};

class record_sealer {
public:
    // Throws std::invalid_argument for a format other than 2, 3, 4 or 5. With a
    // reloadable, each call uses the keys current when it is made.
    record_sealer(std::shared_ptr<const session::keyring> keys, record_format_options options);
    record_sealer(const reloadable<session::keyring>& keys, record_format_options options);

    // The value to store under `key_name`, in the configured format.
    std::string seal(const session::session_record& r, std::string_view key_name) const;

    // The record stored under `key_name` for session `id`: forged (or
    // malformed) for a value sessiond did not write there, unsigned_record
    // for format 2 unless accepted (then its user must hash to id's bucket),
    // unsupported_format for a newer format (above 5).
    boost::system::result<session::session_record> open(std::string_view value, std::string_view key_name,
                                                        const session::session_id& id) const;

    const record_format_options& options() const noexcept { return options_; }
    std::shared_ptr<const session::keyring> keys() const { return keys_.get(); }

private:
    local_view<session::keyring> keys_;
    record_format_options options_;
};

// The user id in the header of a record of any format from 2 on, or nullopt.
std::optional<std::string_view> record_owner(std::string_view value);

}  // namespace sessiond::store

template <>
struct boost::system::is_error_code_enum<sessiond::store::record_errc> : std::true_type {};
