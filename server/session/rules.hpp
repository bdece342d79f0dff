#pragma once
// The session lifecycle as pure functions of (record, presented secret digest,
// now, policy): creation, validation with sliding expiry, rotation with a
// grace period and reuse detection, and the per-user limit. Stores and
// handlers perform what these decide; time comes in as `now` (see clock).

#include "session/crypto.hpp"
#include "session/session_id.hpp"
#include "session/session_record.hpp"

#include <boost/system/result.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond::session {

// Source of `now` for the callers of these rules; tests use fake_clock.
class clock {
public:
    virtual ~clock() = default;
    virtual timestamp now() const noexcept = 0;
};

class wall_clock final : public clock {
public:
    timestamp now() const noexcept override {
        return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    }
};

// Stands still until told to move. Thread-safe, so a test may drive a server.
class fake_clock final : public clock {
public:
    explicit fake_clock(timestamp start = timestamp(std::chrono::milliseconds(1'790'000'000'000)))
        : ms_(start.time_since_epoch().count()) {}
    timestamp now() const noexcept override { return timestamp(std::chrono::milliseconds(ms_.load())); }
    void set(timestamp t) noexcept { ms_.store(t.time_since_epoch().count()); }
    void advance(std::chrono::milliseconds d) noexcept { ms_.fetch_add(d.count()); }

private:
    std::atomic<std::int64_t> ms_;
};

enum class limit_policy { evict_lru, reject };

// Lifecycle settings, from config. Durations are milliseconds; the API takes
// seconds and converts.
struct policy {
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(1800);       // default per session
    std::chrono::milliseconds absolute_timeout = std::chrono::seconds(43200);  // default per session
    std::chrono::milliseconds max_idle_timeout = std::chrono::seconds(86400);  // largest a creator may ask for
    std::chrono::milliseconds max_absolute_timeout = std::chrono::days(30);    // largest a creator may ask for
    // A validation writes the extended idle expiry back only once this
    // fraction of the idle window has passed since the last extension, so a
    // busy session costs one store write per half window, not one per
    // request. In [0, 1); 0 = write on every validation.
    double touch_fraction = 0.5;
    std::chrono::milliseconds rotation_grace = std::chrono::seconds(10);  // previous token still valid
    std::size_t max_sessions_per_user = 0;                                // 0 = no limit
    limit_policy on_limit = limit_policy::evict_lru;
};

// A policy setting out of range: the field of `policy` and why.
class policy_error : public std::invalid_argument {
public:
    policy_error(const char* field, const char* why)
        : std::invalid_argument(std::string(field) + " " + why), field_(field), why_(why) {}
    const char* field() const noexcept { return field_; }
    const char* why() const noexcept { return why_; }

private:
    const char* field_;
    const char* why_;
};

// The one check of a policy (config refers its options here at start-up).
// Throws policy_error naming the first offending field.
void validate(const policy& p);

// --- creation -----------------------------------------------------------

// The one rule for a user id, wherever one comes in (a create body, the
// /v1/users/{user_id}/sessions path after percent-decoding): 1..256 bytes
// of valid UTF-8 without control characters (C0 0x00-0x1F, DEL 0x7F).
// Downstream services read the id from the forward-auth header into C
// strings, where a NUL or a line break would cut or split it.
bool valid_user_id(std::string_view user_id) noexcept;

// The rule for the user id of a new session: valid_user_id, and no C1
// control either (U+0080..U+009F as UTF-8; U+009B is a terminal's CSI),
// which a log or a console would otherwise carry to a terminal. Lookups
// keep valid_user_id, so a session created before this rule stays listable
// and revocable by its user id.
bool valid_new_user_id(std::string_view user_id) noexcept;

struct creation {
    std::string user_id;
    std::string metadata = "{}";                                // JSON object text, validated by the caller
    std::optional<std::chrono::milliseconds> idle_timeout;      // default: policy
    std::optional<std::chrono::milliseconds> absolute_timeout;  // default: policy
    device_context device = {};                                 // last_address starts as created_address
    assurance auth = {};
    std::string tenant = {};
    provider_session provider = {};
};

// A fresh record (version 1): expires_at = now + absolute, idle_expires_at =
// min(now + idle, expires_at), authenticated_at = last_seen_at = now.
// Errors: errc::invalid_user_id (see valid_user_id), invalid_idle_timeout, invalid_absolute_timeout
// (requested value <= 0 or above the policy's maximum).
boost::system::result<session_record> new_record(const session_id& id, const secret_digest& secret_hash,
                                                 creation request, timestamp now, const policy& p);

// When the store must forget the session by itself (its TTL): the earlier of
// the two expiries. The rotation grace needs no extra time, as it only ever
// concerns a live session.
timestamp store_deadline(const session_record& r) noexcept;

// --- validation ---------------------------------------------------------

enum class check_outcome {
    valid,                      // current token
    valid_previous,             // a previous token, within its rotation grace
    invalid,                    // rotation only: a previous token within its grace may not rotate
    expired,                    // idle or absolute expiry reached
    reuse_detected,             // any other secret (the tag proved sessiond issued it): revoke the session
    reauthentication_required,  // valid, but authenticated_at is older than max_auth_age, or below min_aal
};

struct check_options {
    bool touch = true;                                      // extend idle expiry (sliding)
    std::optional<std::chrono::milliseconds> max_auth_age;  // API: seconds
    std::uint8_t min_aal = 0;                               // step-up: the assurance level required
    std::string_view client_address = {};  // where the request came from, if known: written with a touch
};

struct check_result {
    check_outcome outcome = check_outcome::invalid;
    // Set when the record changed and must be written back (compare-and-set
    // against the version it was read with); version is already bumped.
    std::optional<session_record> updated;
};

// Order: expiry, then the current hash, then the previous ones (each valid
// until its own valid_until); every hash is compared in constant time; then
// the requirements (max_auth_age, min_aal). A touch extends idle_expires_at to
// min(now + idle_timeout, expires_at) and sets last_seen_at = now (and the
// device's last_address to client_address when that is known), but only
// when it moves idle_expires_at and once now >= idle_expires_at -
// idle_timeout + touch_fraction × idle_timeout (the write also drops previous
// secrets past their grace); otherwise the record is returned unchanged and
// its idle_expires_at is the true stored value.
check_result check(const session_record& r, const secret_digest& presented_hash, timestamp now, const policy& p,
                   const check_options& options = {});

// --- rotation -----------------------------------------------------------

struct rotate_result {
    // valid: rotated; invalid: a previous token within its grace (only the
    // current token may rotate); expired; reuse_detected: any other secret.
    check_outcome outcome = check_outcome::invalid;
    std::optional<session_record> updated;  // set iff outcome == valid
};

// What a rotation changes besides the secret.
struct rotation {
    bool reauthenticated = false;              // the user signed in again: authenticated_at = now
    std::optional<std::string> metadata = {};  // replaces the session's metadata when set
    std::optional<assurance> auth = {};        // with reauthenticated: how (replaces aal and amr)
    std::string_view client_address = {};      // where the request came from, if known
};

// Same id and expires_at; secret_hash = new_secret_hash; previous = {old
// hash, now + rotation_grace} followed by the earlier previous secrets still
// within their grace, newest first, at most max_previous_secrets in all (the
// oldest dropped); rotated_at = now; authenticated_at = now and the
// assurance replaced if given when `reauthenticated`; metadata replaced if
// given; idle extended as by a touch (unconditionally); version + 1.
rotate_result rotate(const session_record& r, const secret_digest& presented_hash, const secret_digest& new_secret_hash,
                     timestamp now, const policy& p, rotation change = {});

// --- per-user limit -----------------------------------------------------

struct eviction_candidate {
    session_id id;
    timestamp deadline;  // store_deadline(): when the session is gone by itself
};

struct admission {
    bool rejected = false;          // limit_policy::reject and the user is at the limit: 409
    std::vector<session_id> evict;  // limit_policy::evict_lru: revoke these first
};

// How many of `live` sessions must go so that one more fits under `limit`
// (0 = no limit).
std::size_t eviction_count(std::size_t live, std::size_t limit) noexcept;

// The per-user limit: which of a user's sessions go so that, with one more,
// at most p.max_sessions_per_user remain (0 = no limit); with
// limit_policy::reject, none go and the new one is refused instead.
// Sessions whose deadline <= now are already gone and neither count nor get
// chosen. Victims are taken in order of earliest deadline (ties by id): with
// a shared idle timeout and the touch threshold that is least recently used.
// `sessions` in any order; admit puts the live ones in that order and
// decides with admit_ordered.
admission admit(std::span<const eviction_candidate> sessions, timestamp now, const policy& p);

// admit for a store that keeps each user's live sessions in that order, so
// that it need not scan them: [first, last) are the user's live sessions in
// that order, `live` how many there are (which the store knows without
// counting) and id_of(*it) the id of one. Reads the victims only; at most
// `at_most` go in one call (bounded work should the limit have been lowered
// far below a user's count: the rest go with the creates that follow). The
// memory store calls it with its index (a std::set by deadline, then id);
// the Redis create script (server/store/scripts/create.lua) is a Lua copy of
// it over a sorted set scored by the deadline.
// tests/store/eviction_rule_test.cpp checks both stores against admit case
// by case.
template <class It, class IdOf>
admission admit_ordered(std::size_t live, It first, It last, IdOf id_of, const policy& p,
                        std::size_t at_most = std::numeric_limits<std::size_t>::max()) {
    admission out;
    const std::size_t excess = eviction_count(live, p.max_sessions_per_user);
    if (excess == 0) return out;
    if (p.on_limit == limit_policy::reject) {
        out.rejected = true;
        return out;
    }
    const std::size_t n = std::min(excess, at_most);
    out.evict.reserve(n);
    for (; out.evict.size() < n && first != last; ++first)
        out.evict.push_back(id_of(*first));
    return out;
}

}  // namespace sessiond::session
