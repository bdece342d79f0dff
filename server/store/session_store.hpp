#pragma once
// One interface for where sessions live: the embedded in-memory store and the
// Redis store implement it, and one contract test suite runs against both.
// Every operation is atomic on its own. Errors are sessiond::error values
// (store_unavailable, store_busy, store_full, session_limit), never a store's
// own codes.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "session/events.hpp"
#include "session/not_before.hpp"
#include "session/rules.hpp"
#include "session/session_id.hpp"
#include "session/session_record.hpp"

namespace sessiond::store {

template <class T>
using result = boost::system::result<T>;

// A user's sessions are found through their bucket and a keyed hash of the
// user id (so a store's key names say nothing about the user). The hash is
// short: two users of one bucket may, very rarely, share an index name, and
// a store must then still act only on each user's own sessions.
struct user_ref {
    std::string user_id;
    std::uint16_t bucket = 0;
    std::string index_name;  // keyring::user_index_name(user_id): 8 bytes, base64url
};

struct created {
    std::vector<session::session_record> evicted;  // sessions revoked to make room (evict_lru)
};

// A position in a user's sessions, in the order both stores keep them: by
// store deadline, then by the id's random bytes. A session's deadline only
// ever moves later (a touch or a rotation extends it), so a walk in this
// order never misses a session that lives throughout; one that moves past
// the cursor may be seen twice.
struct user_cursor {
    session::timestamp deadline;
    session::session_id id;
    bool operator==(const user_cursor&) const = default;
};

// How much of a user's index one store call may examine: every call that
// walks a user's sessions does bounded work, however many the user has, so
// one user's size never holds up another's requests.
inline constexpr std::size_t max_walk = 1024;
// Revoke-all deletes at most this many entries' sessions per call: in Redis
// a batch of 256 takes about 2.5 ms, which is as long as it holds up other
// users' commands.
inline constexpr std::size_t max_removal = 256;

struct user_page {
    std::vector<session::session_record> sessions;  // the user's live sessions, in the stores' order
    std::optional<user_cursor> next;                // where to go on; nullopt: the end was reached
    std::size_t unreadable = 0;                     // the user's sessions in this stretch that this version cannot read
};

struct user_removal {
    std::size_t removed = 0;          // the user's live sessions deleted by this call
    std::optional<user_cursor> next;  // where to go on; nullopt: the end was reached
};

// Names an identity provider's session's index: a bucket and a keyed hash
// of the provider's name and sid (so that no key names either), computed by
// the service like a user_ref. Two provider sessions may share an index,
// very rarely: the service checks each session's own provider and sid.
struct provider_ref {
    std::uint16_t bucket = 0;
    std::string name;  // base64url
};

// What a write tells the events it appends (session/events.hpp): who asked
// and why. Views into the caller's data, which outlive the call.
struct event_note {
    std::string_view caller = {};
    std::string_view reason = {};     // a revocation's session::revoke_reason
    bool rotation = false;            // replace: a rotation (session.rotated); else a touch, no event
    std::int64_t revoked_before = 0;  // remove_user: sessions the previous batches revoked
};

// The events a store appends, and how long it keeps them. Off: no event is
// written and writes cost what they did before.
struct event_settings {
    bool enabled = false;
    std::size_t max_per_stream = 1000;                             // per bucket; Redis keeps up to 100 more (a node)
    std::chrono::milliseconds retention = std::chrono::hours(24);  // older events go
    std::string instance = {};                                     // this instance's name, in every event
};

// Where a reader of every stream is: a position per stream, and the stream
// the next call starts from (so that busy streams cannot starve the rest).
struct event_cursor {
    std::vector<session::event_position> at = std::vector<session::event_position>(session::events_stream_count);
    std::uint32_t next_stream = 0;
    // Moves the stream of `e` past it.
    void advance(const session::event& e);
};

// A read returns at most this many events.
inline constexpr std::size_t max_event_read = 1000;

// Where a webhook endpoint's delivery stands (docs/webhooks.md): the
// instant it was first configured (its deliverer starts there: no event
// before it is its), and per stream the last event delivered (or counted
// dead). Streams it has delivered nothing of are absent.
struct webhook_progress {
    std::int64_t start_ms = 0;
    std::vector<std::pair<std::uint32_t, session::event_position>> at;
};

class session_store {
public:
    virtual ~session_store() = default;

    // Stores a new session, enforcing the per-user limit of `p` atomically:
    // session_limit when the policy rejects, otherwise the evicted sessions.
    virtual boost::asio::awaitable<result<created>> create(const session::session_record& r, const user_ref& user,
                                                           const session::policy& p, event_note note = {}) = 0;

    // The live session with this id, or nullopt.
    virtual boost::asio::awaitable<result<std::optional<session::session_record>>> get(
        const session::session_id& id) = 0;

    // get(), or, for a validation, what a store's validation cache holds
    // (record_cache.hpp): as current as Redis' invalidations allow.
    virtual boost::asio::awaitable<result<std::optional<session::session_record>>> get_cached(
        const session::session_id& id) {
        co_return co_await get(id);
    }

    // Compare-and-set: writes `next` only if the stored session is still the
    // one read as `expected` (same version). false if it changed or is gone.
    // With note.rotation, a session.rotated event; a touch writes none.
    virtual boost::asio::awaitable<result<bool>> replace(const session::session_record& expected,
                                                         const session::session_record& next, const user_ref& user,
                                                         event_note note = {}) = 0;

    // Deletes the session and its entry in `user`'s index; returns what was
    // stored, or nullopt if nothing was.
    virtual boost::asio::awaitable<result<std::optional<session::session_record>>> remove(const session::session_id& id,
                                                                                          const user_ref& user,
                                                                                          event_note note = {}) = 0;

    // Up to `limit` (clamped to 1..max_walk) of the user's live sessions after
    // `after` (from the start without one). A page may hold fewer than
    // `limit` and still have a `next`: a call examines at most max_walk
    // entries of the user's index.
    virtual boost::asio::awaitable<result<user_page>> list_user(const user_ref& user, std::optional<user_cursor> after,
                                                                std::size_t limit) = 0;

    // Deletes the user's sessions but `except` among the next max_removal
    // entries after `after`; the caller goes on from `next` until it is
    // nullopt.
    virtual boost::asio::awaitable<result<user_removal>> remove_user(const user_ref& user,
                                                                     std::optional<session::session_id> except,
                                                                     std::optional<user_cursor> after,
                                                                     event_note note = {}) = 0;

    // Marks `name` (a signed assertion's jti: up to 128 characters of
    // base64url) used for `ttl` from now, atomically: true when this call
    // marked it, false when it was marked already and the mark has not
    // expired. Every instance on one store sees the same marks.
    static constexpr std::size_t max_claim_name = 128;
    virtual boost::asio::awaitable<result<bool>> claim_once(std::string_view name, std::chrono::milliseconds ttl) = 0;

    // The "not before" instants (session/not_before.hpp) in force, as
    // current as the validation cache: a change through any instance is
    // seen by the next validation of every other. Shared and immutable.
    virtual boost::asio::awaitable<result<std::shared_ptr<const session::not_before>>> not_before() = 0;
    // The same without waiting, when the store holds them ready (null: ask
    // not_before()); a validation's usual case.
    virtual std::shared_ptr<const session::not_before> not_before_now() { return nullptr; }

    // Sets the instant for every session (`tenant` empty) or for the
    // sessions of `tenant`; session_limit (409) when max_tenant_instants
    // tenants have one already.
    virtual boost::asio::awaitable<result<void>> set_not_before(std::string_view tenant, session::timestamp at,
                                                                event_note note = {}) = 0;

    // A user's instant: when all of the user's sessions were last ended,
    // kept until `until` (the longest a session created before could have
    // lived). Recorded, not consulted by validation: the service ends the
    // sessions themselves, a bounded number (see remove_user), right after.
    virtual boost::asio::awaitable<result<void>> set_user_not_before(const user_ref& user, session::timestamp at,
                                                                     session::timestamp until,
                                                                     event_note note = {}) = 0;
    virtual boost::asio::awaitable<result<std::optional<session::timestamp>>> user_not_before(const user_ref& user) = 0;

    // --- Session events (session/events.hpp) ---
    // Every write appends its events in the same atomic step, once
    // enable_events() has turned them on (before the store serves).
    virtual void enable_events(event_settings settings) = 0;
    // Up to `limit` (clamped to 1..max_event_read) events of one stream (a
    // bucket, or session::events_meta_stream) after `after`, oldest first.
    virtual boost::asio::awaitable<result<std::vector<session::event>>> read_events(std::uint32_t stream,
                                                                                    session::event_position after,
                                                                                    std::size_t limit) = 0;
    // Up to `limit` events of every stream after the cursor's positions,
    // each stream's in order (there is no order between streams), starting
    // at cursor.next_stream; the caller advances the cursor by what it
    // handled. On a Redis Cluster this reads each stream on its own
    // (docs/events.md says how a consumer should read them there).
    virtual boost::asio::awaitable<result<std::vector<session::event>>> read_all_events(event_cursor& cursor,
                                                                                        std::size_t limit) = 0;

    // --- Webhooks: one deliverer per endpoint among the instances, and its progress ---
    // Takes the endpoint's lease for `token` (an instance's own) for `ttl`:
    // true when this call took it or `token` holds it already (renewed).
    virtual boost::asio::awaitable<result<bool>> acquire_webhook_lease(std::string_view endpoint,
                                                                       std::string_view token,
                                                                       std::chrono::milliseconds ttl) = 0;
    // Extends the lease while `token` holds it: false when it does not (expired, taken).
    virtual boost::asio::awaitable<result<bool>> renew_webhook_lease(std::string_view endpoint, std::string_view token,
                                                                     std::chrono::milliseconds ttl) = 0;
    // Lets the lease go if `token` holds it.
    virtual boost::asio::awaitable<result<void>> release_webhook_lease(std::string_view endpoint,
                                                                       std::string_view token) = 0;
    // The endpoint's progress; a new endpoint's start is recorded now (the store's clock).
    virtual boost::asio::awaitable<result<webhook_progress>> load_webhook_progress(std::string_view endpoint) = 0;
    // Writes the positions of `changed` streams if `token` holds the lease:
    // false, nothing written, when it does not.
    virtual boost::asio::awaitable<result<bool>> save_webhook_progress(
        std::string_view endpoint, std::string_view token,
        const std::vector<std::pair<std::uint32_t, session::event_position>>& changed) = 0;

    // Whether the store can serve requests now (readiness).
    virtual bool ready() const = 0;

    // --- OIDC back-channel logout: sessions by their provider's session ---
    // An index from an identity provider's session (provider and sid) to
    // the sessions opened under it. Written before the session, so that a
    // session the index misses never exists (a crash leaves an id whose
    // session is not there, which the logout skips); entries leave with
    // the session's absolute expiry.

    // Adds `id` to the index `ref` names, kept at least until `until`.
    virtual boost::asio::awaitable<result<void>> add_provider_session(const provider_ref& ref,
                                                                      const session::session_id& id,
                                                                      session::timestamp until) = 0;
    // Up to max_walk of the ids the index holds (expired entries dropped).
    virtual boost::asio::awaitable<result<std::vector<session::session_id>>> provider_sessions(
        const provider_ref& ref) = 0;
    // Takes `ids` out of the index (it goes when empty).
    virtual boost::asio::awaitable<result<void>> remove_provider_sessions(
        const provider_ref& ref, const std::vector<session::session_id>& ids) = 0;
};

}  // namespace sessiond::store
