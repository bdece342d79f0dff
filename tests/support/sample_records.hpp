#pragma once
// Session records with known field values, shared by the tests of the
// record's stored encoding and of its API JSON.

#include <chrono>

#include "session/crypto.hpp"
#include "session/session_record.hpp"

namespace sessiond::test {

using namespace std::chrono_literals;

constexpr session::timestamp at(std::chrono::year_month_day d, std::chrono::milliseconds time_of_day = 0ms) {
    return std::chrono::sys_days(d) + time_of_day;
}

inline const session::timestamp created = at(std::chrono::year{2026} / 11 / 26, 6h + 16min + 3s + 123ms);

// A touched, never rotated session of a 12-byte user id with "{}" metadata.
inline session::session_record typical_record() {
    session::session_record r;
    r.id.bucket = 1234;
    for (std::size_t i = 0; i < r.id.id.size(); ++i)
        r.id.id[i] = static_cast<std::uint8_t>(0xA0 + i);
    r.user_id = "user-1234567";
    r.metadata = "{}";
    r.created_at = created;
    r.last_seen_at = created + 20min;
    r.idle_expires_at = created + 50min;
    r.expires_at = created + 12h;
    r.authenticated_at = created;
    r.idle_timeout = 30min;
    for (std::size_t i = 0; i < r.secret_hash.bytes.size(); ++i)
        r.secret_hash.bytes[i] = static_cast<std::uint8_t>(i * 3);
    r.version = 3;
    return r;
}

// typical_record() after a rotation with reauthentication.
inline session::session_record rotated_record() {
    session::session_record r = typical_record();
    r.rotated_at = created + 40min;
    r.previous.push_back({session::digest_secret(session::as_bytes("old")), created + 40min + 10s});
    r.authenticated_at = created + 40min;
    r.version = 4;
    return r;
}

// rotated_record() after two more rotations, each 1 s after the one before:
// three previous secrets within their grace, newest first.
inline session::session_record chained_record() {
    session::session_record r = rotated_record();
    r.rotated_at = created + 40min + 2s;
    r.previous.insert(r.previous.begin(),
                      {session::digest_secret(session::as_bytes("older")), created + 40min + 1s + 10s});
    r.previous.insert(r.previous.begin(),
                      {session::digest_secret(session::as_bytes("newer")), created + 40min + 2s + 10s});
    r.version = 6;
    return r;
}

}  // namespace sessiond::test
