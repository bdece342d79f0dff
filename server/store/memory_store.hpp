#pragma once
// The embedded store: sessions in this process's memory, for development and
// single-instance use. Neither shared between instances nor durable: a
// restart forgets every session. Bounded by a maximum number of sessions;
// expired sessions are dropped when touched and by a sweep: a timer on the
// io_context given to the constructor (the first I/O thread's) that sweeps
// one of the 64 shards every 50 ms, never a thread of its own.
//
// The one store that all I/O threads share: each operation holds the lock of
// one shard (the user's bucket's), so that a session, its user's index and
// the per-user limit change together.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "store/session_store.hpp"

namespace sessiond::store {

class memory_store final : public session_store {
public:
    memory_store(boost::asio::io_context& ioc, const session::clock& clock, std::size_t max_sessions);
    ~memory_store() override;

    // Starts the periodic sweep of expired sessions; stop() ends it.
    void start();
    void stop();

    boost::asio::awaitable<result<created>> create(const session::session_record& r, const user_ref& user,
                                                   const session::policy& p, event_note note = {}) override;
    boost::asio::awaitable<result<std::optional<session::session_record>>> get(const session::session_id& id) override;
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
    boost::asio::awaitable<result<bool>> claim_once(std::string_view name, std::chrono::milliseconds ttl) override;
    boost::asio::awaitable<result<std::shared_ptr<const session::not_before>>> not_before() override;
    std::shared_ptr<const session::not_before> not_before_now() override {
        return not_before_.load(std::memory_order_acquire);
    }
    boost::asio::awaitable<result<void>> set_not_before(std::string_view tenant, session::timestamp at,
                                                        event_note note = {}) override;
    boost::asio::awaitable<result<void>> set_user_not_before(const user_ref& user, session::timestamp at,
                                                             session::timestamp until, event_note note = {}) override;
    // --- Session events: a log per bucket in the bucket's shard (appended
    // under the lock that makes the change), one for the epochs of everyone
    // or a tenant; each bounded by event_settings' count and age. Unlike
    // Redis, every expiry the store drops is reported. ---
    void enable_events(event_settings settings) override { events_ = std::move(settings); }
    boost::asio::awaitable<result<std::vector<session::event>>> read_events(std::uint32_t stream,
                                                                            session::event_position after,
                                                                            std::size_t limit) override;
    boost::asio::awaitable<result<std::vector<session::event>>> read_all_events(event_cursor& cursor,
                                                                                std::size_t limit) override;
    boost::asio::awaitable<result<std::optional<session::timestamp>>> user_not_before(const user_ref& user) override;
    bool ready() const override { return true; }

    // --- OIDC back-channel logout: sessions by their provider's session ---
    boost::asio::awaitable<result<void>> add_provider_session(const provider_ref& ref, const session::session_id& id,
                                                              session::timestamp until) override;
    boost::asio::awaitable<result<std::vector<session::session_id>>> provider_sessions(
        const provider_ref& ref) override;
    boost::asio::awaitable<result<void>> remove_provider_sessions(const provider_ref& ref,
                                                                  const std::vector<session::session_id>& ids) override;
    // --- end OIDC back-channel logout ---

    // --- Webhooks: leases and progress in this process (one instance) ---
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

    std::size_t size() const { return count_.load(std::memory_order_relaxed); }
    // Drops every expired session now (the sweep's work; also for tests).
    void sweep();

private:
    using deadline_key = std::pair<session::timestamp, session::session_id>;
    // One stream's events, oldest first, and the last id given out (ids
    // only increase, whatever the clock does).
    struct event_log {
        std::deque<session::event> entries;
        session::event_position last;
    };
    // A user's sessions live in the shard of their bucket, so that one lock
    // covers a session, its user's index and the per-user limit.
    struct shard {
        std::mutex mutex;
        std::unordered_map<session::session_id, session::session_record> sessions;
        std::unordered_map<std::string, std::set<deadline_key>> users;  // user_id -> by store deadline
        std::set<deadline_key> deadlines;
        std::unordered_map<std::uint32_t, event_log> events;  // by bucket
    };
    static constexpr std::size_t shard_count = 64;

    shard& shard_for(std::uint16_t bucket) { return shards_[bucket % shard_count]; }
    void insert_locked(shard& s, const session::session_record& r);
    void erase_locked(shard& s, std::unordered_map<session::session_id, session::session_record>::iterator it);
    // erase_locked of a session past its deadline, reported (session.expired).
    void expire_locked(shard& s, std::unordered_map<session::session_id, session::session_record>::iterator it);
    // Appends `e` to the log of its stream (under that log's lock), with
    // this instance's name and the next id, then trims the log.
    void append_locked(event_log& log, session::event e);
    // An event of `type` about `r` for `note`.
    session::event event_of(session::event_type type, const session::session_record& r, const event_note& note,
                            std::string_view reason = {}) const;
    // user.sessions_revoked: the end of a revoke-all that revoked `count`.
    void user_revoked_locked(shard& s, const user_ref& user, const event_note& note, std::int64_t count);
    static void read_log(const event_log& log, session::event_position after, std::size_t limit,
                         std::vector<session::event>& out);
    // The first entry of a user's index after `after` (the first one without).
    static std::set<deadline_key>::const_iterator walk_from(const std::set<deadline_key>& index,
                                                            const std::optional<user_cursor>& after);
    void sweep_shard(shard& s, session::timestamp now);
    void schedule_sweep();
    // Counts and (rate-limited) logs a create refused for want of room.
    boost::system::error_code full();

    // Webhook endpoints (as many as configured): lease holder and its
    // deadline, start and positions.
    struct webhook_state {
        std::string holder;
        session::timestamp lease_until{};
        std::int64_t start_ms = -1;
        std::map<std::uint32_t, session::event_position> at;
    };
    std::mutex webhooks_mutex_;
    std::map<std::string, webhook_state, std::less<>> webhooks_;

    // Assertion ids redeemed, until their expiry: at most max_sessions_,
    // expired ones purged whenever the map has doubled since the last purge.
    std::mutex claims_mutex_;
    std::unordered_map<std::string, session::timestamp> claims_;
    std::size_t claims_purge_at_ = 1024;

    // Replaced whole on a change; validations hold the one they read.
    std::atomic<std::shared_ptr<const session::not_before>> not_before_{std::make_shared<const session::not_before>()};
    std::mutex not_before_writes_;
    event_log meta_events_;  // under not_before_writes_
    event_settings events_;
    // Users' instants (at, until), under claims_mutex_ and bounded as the
    // claims are.
    std::unordered_map<std::string, std::pair<session::timestamp, session::timestamp>> user_instants_;
    std::size_t user_instants_purge_at_ = 1024;
    // --- OIDC back-channel logout: provider session -> session ids, each
    // until its session's absolute expiry; at most max_sessions_ indexes,
    // the expired ones purged whenever the map has doubled since the last
    // purge.
    std::mutex providers_mutex_;
    std::unordered_map<std::string, std::map<session::session_id, session::timestamp>> providers_;
    std::size_t providers_purge_at_ = 1024;
    // --- end OIDC back-channel logout ---

    const session::clock& clock_;
    const std::size_t max_sessions_;
    std::atomic<std::size_t> count_{0};
    std::array<shard, shard_count> shards_;
    boost::asio::steady_timer sweep_timer_;
    std::size_t next_sweep_ = 0;
    std::atomic<bool> stopped_{false};
    std::atomic<std::int64_t> last_full_warning_{std::numeric_limits<std::int64_t>::min() / 2};
};

}  // namespace sessiond::store
