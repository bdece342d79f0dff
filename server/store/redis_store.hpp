#pragma once
// Sessions in Redis, laid out for Redis Cluster: every operation is one
// command or one Lua script whose keys all share one hash slot — the slot of
// the user's bucket, which the token and the public id carry. See
// docs/data-model.md.
//
//   <prefix>{<bucket>}:s:<public id>   string: the binary session record;
//                                      TTL = the session's store deadline
//   <prefix>{<bucket>}:u:<index name>  sorted set: the 16 random bytes of
//                                      each session id (raw, not base64url),
//                                      scored by the session's store deadline;
//                                      TTL = the latest one
//   <prefix>{<bucket>}:ev              stream: the bucket's session events
//                                      (session/events.hpp), with events on
//
// The index name is a keyed hash of the user id (8 bytes, 11 characters),
// so no key names a user. Two users of one bucket may share an index; the
// scripts then act only on the sessions whose record names the user.

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "redis/client.hpp"
#include "store/record_cache.hpp"
#include "store/record_codec.hpp"
#include "store/session_store.hpp"

namespace sessiond::store {

class redis_store final : public session_store, public redis::tracking_listener {
public:
    redis_store(redis::client& client, const session::clock& clock, std::string key_prefix, record_sealer sealer);
    ~redis_store() override;

    // The validation cache: get_cached() answers from this thread's cache
    // while the client's invalidation links (client::enable_tracking, with
    // this store's key prefix, before start) are established and fresh.
    // `marks` is shared by every thread's store.
    void enable_cache(cache_limits limits, std::shared_ptr<write_marks> marks);

    boost::asio::awaitable<result<created>> create(const session::session_record& r, const user_ref& user,
                                                   const session::policy& p, event_note note = {}) override;
    boost::asio::awaitable<result<std::optional<session::session_record>>> get(const session::session_id& id) override;
    boost::asio::awaitable<result<std::optional<session::session_record>>> get_cached(
        const session::session_id& id) override;
    boost::asio::awaitable<result<bool>> replace(const session::session_record& expected,
                                                 const session::session_record& next, const user_ref& user,
                                                 event_note note = {}) override;
    boost::asio::awaitable<result<std::optional<session::session_record>>> remove(const session::session_id& id,
                                                                                  const user_ref& user,
                                                                                  event_note note = {}) override;
    boost::asio::awaitable<result<user_page>> list_user(const user_ref& user, std::optional<user_cursor> after,
                                                        std::size_t limit) override;
    boost::asio::awaitable<result<user_removal>> remove_user(const user_ref& user,
                                                             std::optional<session::session_id> except,
                                                             std::optional<user_cursor> after,
                                                             event_note note = {}) override;
    // SET <prefix>jti:{<name>} 1 NX PX <ttl> (in a script, a durable write:
    // with wait_replicas, store_unacknowledged when too few replicas have
    // it, the mark set all the same): the name's own slot.
    boost::asio::awaitable<result<bool>> claim_once(std::string_view name, std::chrono::milliseconds ttl) override;
    // The instants live in one hash, "<prefix>{meta}:not-before" (fields
    // "all" and "t:<tenant>", milliseconds since the epoch). With the cache,
    // each thread keeps the hash while its invalidation links vouch for it
    // (any change announces the key); without, every call reads it.
    boost::asio::awaitable<result<std::shared_ptr<const session::not_before>>> not_before() override;
    std::shared_ptr<const session::not_before> not_before_now() override;
    boost::asio::awaitable<result<void>> set_not_before(std::string_view tenant, session::timestamp at,
                                                        event_note note = {}) override;
    boost::asio::awaitable<result<void>> set_user_not_before(const user_ref& user, session::timestamp at,
                                                             session::timestamp until, event_note note = {}) override;
    // --- Session events: a stream per bucket, "<prefix>{<bucket>}:ev", and
    // one for the epochs of everyone or a tenant, "<prefix>{meta}:ev" (the
    // not-before hash's slot); appended by the scripts (events.lua) ---
    void enable_events(event_settings settings) override;
    // XRANGE <stream> (<after> + COUNT <limit>
    boost::asio::awaitable<result<std::vector<session::event>>> read_events(std::uint32_t stream,
                                                                            session::event_position after,
                                                                            std::size_t limit) override;
    // Standalone and Sentinel: XREAD of 512 streams a command; Cluster:
    // XRANGE of each stream (its own slot).
    boost::asio::awaitable<result<std::vector<session::event>>> read_all_events(event_cursor& cursor,
                                                                                std::size_t limit) override;
    std::string events_key(std::uint32_t stream) const;
    boost::asio::awaitable<result<std::optional<session::timestamp>>> user_not_before(const user_ref& user) override;
    // --- OIDC back-channel logout: sessions by their provider's session ---
    // <prefix>{<bucket>}:o:<name>: a sorted set of public ids scored by
    // each session's absolute expiry (ms), TTL the latest; one script per
    // call, on that key alone (provider_*.lua).
    boost::asio::awaitable<result<void>> add_provider_session(const provider_ref& ref, const session::session_id& id,
                                                              session::timestamp until) override;
    boost::asio::awaitable<result<std::vector<session::session_id>>> provider_sessions(
        const provider_ref& ref) override;
    boost::asio::awaitable<result<void>> remove_provider_sessions(const provider_ref& ref,
                                                                  const std::vector<session::session_id>& ids) override;
    std::string provider_key(const provider_ref& ref) const;  // <prefix>{<bucket>}:o:<name>
    // --- end OIDC back-channel logout ---

    // --- Webhooks (docs/webhooks.md): in {meta}'s slot,
    // <prefix>{meta}:wh:<endpoint>:lease (string: the holder's token, PX)
    // and <prefix>{meta}:wh:<endpoint>:pos (hash: "start", "<stream>")
    boost::asio::awaitable<result<bool>> acquire_webhook_lease(std::string_view endpoint, std::string_view token,
                                                               std::chrono::milliseconds ttl) override;
    boost::asio::awaitable<result<bool>> renew_webhook_lease(std::string_view endpoint, std::string_view token,
                                                             std::chrono::milliseconds ttl) override;
    boost::asio::awaitable<result<void>> release_webhook_lease(std::string_view endpoint,
                                                               std::string_view token) override;
    boost::asio::awaitable<result<webhook_progress>> load_webhook_progress(std::string_view endpoint) override;
    boost::asio::awaitable<result<bool>> save_webhook_progress(
        std::string_view endpoint, std::string_view token,
        const std::vector<std::pair<std::uint32_t, session::event_position>>& changed) override;
    std::string webhook_key(std::string_view endpoint, std::string_view what) const;

    // Connected, and no command refused for lack of a permission (NOPERM)
    // within refused_hold: an instance whose Redis user may not run its
    // scripts is not ready, however reachable Redis is.
    bool ready() const override;
    static constexpr std::chrono::seconds refused_hold{5};

    // From the client's tracker (redis::tracking_listener).
    void on_invalidate(std::string_view key) override;
    void on_flush() override;

    // The session a key name is of: nullopt for any other key.
    std::optional<session::session_id> session_of(std::string_view key) const;

    // The user index key this deployment's sessions are indexed with, as a
    // fingerprint under "<prefix>meta:index-key": set if there is none yet
    // (or if `overwrite`, in development mode), else compared. false when
    // Redis holds another one: an instance with a different index key would
    // miss every user's sessions in lists and revoke-all.
    boost::asio::awaitable<result<bool>> check_index_key(bool overwrite);
    std::string index_key_name() const { return prefix_ + "meta:index-key"; }
    // In the slot of "{meta}", with its events' stream.
    static constexpr std::string_view not_before_suffix = "{meta}:not-before";
    std::string not_before_key_name() const { return prefix_ + std::string(not_before_suffix); }
    std::string user_instant_key(const user_ref& user) const;

    // Key names (public for tests and tools).
    std::string slot_prefix(std::uint16_t bucket) const;  // <prefix>{<bucket>}:
    std::string session_key(const session::session_id& id) const;
    std::string user_key(const user_ref& user) const;

private:
    // A stored value opened (record_sealer::open): the live record, or none
    // (expired, or refused: counted and logged, `error` says why).
    struct read_outcome {
        std::optional<session::session_record> record;
        boost::system::error_code error;
    };
    read_outcome open_value(std::string_view value, std::string_view key_name, const session::session_id& id) const;
    // The same for a single read: a record of a newer format is the error
    // session_unreadable; a refused one reads as no session.
    result<std::optional<session::session_record>> decode_value(std::string_view value, std::string_view key_name,
                                                                const session::session_id& id) const;
    // {member, record, member, record, ...} from items[first] on: members are
    // the 16 random bytes of ids in the user's bucket. Only the user's own
    // sessions are kept. Records of a newer format are counted in
    // `*unreadable`, or, without it, kept as stubs naming id and user.
    result<std::vector<session::session_record>> decode_pairs(std::span<const redis::reply> items, std::size_t first,
                                                              const user_ref& user, std::size_t* unreadable) const;

    // A cursor as the scripts return it (score and member), and as they take it.
    static std::optional<user_cursor> decode_cursor(const redis::reply& score, const redis::reply& member,
                                                    const user_ref& user);
    static void append_cursor(std::vector<std::string>& args, const std::optional<user_cursor>& after);
    // With events on: the stream of `stream` after a script's keys, and
    // the events' arguments after its own (events.lua).
    // The oldest id to keep is passed on a stream's first write in each
    // eighth of the retention (at most a minute) by this store, '' on the
    // others: an age trim costs Redis about as much as the event itself.
    void add_events(std::vector<std::string>& keys, std::vector<std::string>& args, std::uint32_t stream,
                    std::string_view caller);

    // A write of `id` is about to be sent / has been answered (or failed:
    // it may still happen): the cache entry goes, every thread's cache
    // learns of it, and the invalidation it causes is timed.
    void writing(const session::session_id& id);
    void written(const session::session_id& id);

    redis::client& client_;
    const session::clock& clock_;
    event_settings events_;
    std::vector<session::timestamp> age_trimmed_;  // per stream: this store's last age trim
    std::string prefix_;
    record_sealer sealer_;

    // The validation cache (null when off), and the writes of this thread
    // whose invalidation has not come yet (sessiond_cache_invalidation_delay_seconds).
    std::unique_ptr<record_cache> cache_;
    std::shared_ptr<write_marks> marks_;
    std::unordered_map<session::session_id, std::chrono::steady_clock::time_point> awaiting_;
    // The "not before" instants this thread read while the cache could keep
    // them (null: read them), when it sent that read, and a count of the
    // invalidations of their key (a read that one overtook keeps nothing).
    std::shared_ptr<const session::not_before> not_before_;
    write_marks::stamp not_before_sent_ = 0;
    std::uint64_t not_before_changes_ = 0;
};

}  // namespace sessiond::store
