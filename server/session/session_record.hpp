#pragma once
// What sessiond knows of one session, and the bounds every field keeps. No
// secret is kept: only digests of the token secrets (digest_secret: 16 bytes
// of SHA-256). Its two outer faces live with their layers: the stored
// encoding in store/record_codec.hpp, the API's JSON in api/session_json.hpp.

#include "session/context.hpp"
#include "session/crypto.hpp"
#include "session/session_id.hpp"

#include <boost/container/static_vector.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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

// A token secret that a rotation replaced, accepted until `valid_until` (the
// grace period) and a sign of theft after it.
struct previous_secret {
    secret_digest secret_hash{};
    timestamp valid_until{};

    friend bool operator==(const previous_secret&, const previous_secret&) = default;
};

// How many replaced secrets a record keeps: each rotation within the grace of
// the ones before it adds one, so that a request still in flight with a
// token two or three rotations old (a page whose parallel requests rotate
// twice in a second) is not taken for a theft. Beyond these, the oldest
// goes first and is a reuse like any token past its grace.
inline constexpr std::size_t max_previous_secrets = 4;
using previous_secrets = boost::container::static_vector<previous_secret, max_previous_secrets>;

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
    // The secrets replaced by the last rotations whose grace had not passed
    // at the time, newest first (empty before the first rotation).
    previous_secrets previous;
    device_context device;      // where it was opened and last used
    assurance auth;             // how strongly the user authenticated (rotation may raise it)
    std::string tenant;         // empty = none; a tenant's "not before" applies to its sessions
    provider_session provider;  // the identity provider's session, for back-channel logout
    // Bumped on every write; stores compare-and-set on it. A new record has 1.
    std::uint64_t version = 1;

    friend bool operator==(const session_record&, const session_record&) = default;
};

// Whether the record carries any of device, assurance, tenant or provider.
inline bool has_context(const session_record& r) noexcept {
    return !r.device.empty() || !r.auth.empty() || !r.tenant.empty() || !r.provider.empty();
}

}  // namespace sessiond::session
