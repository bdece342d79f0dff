#include "store/memory_store.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <iterator>

#include "common/error.hpp"
#include "store/store_metrics.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"
#include "session/rules.hpp"

namespace sessiond::store {

namespace asio = boost::asio;
using session::session_id;
using session::session_record;

namespace {

// The rule that bounds the side maps (claims, users' instants; the provider
// indexes follow it by hand, as they prune inside each entry): expired
// entries are dropped once a map has doubled since the last purge (at least
// 1024, at most `cap`), so each insert does bounded work on average.
template <class Map, class Expired>
void purge_when_doubled(Map& map, std::size_t& purge_at, std::size_t cap, Expired expired) {
    if (map.size() < purge_at) return;
    std::erase_if(map, expired);
    purge_at = std::min(std::max<std::size_t>(1024, map.size() * 2), cap);
}

// One shard per tick: a full pass over every shard takes shard_count ticks.
constexpr auto sweep_interval = std::chrono::milliseconds(50);
}  // namespace

memory_store::memory_store(asio::io_context& ioc, const session::clock& clock, std::size_t max_sessions)
    : clock_(clock), max_sessions_(max_sessions), sweep_timer_(ioc) {}

memory_store::~memory_store() = default;

boost::system::error_code memory_store::full() {
    metrics::store_full.inc();
    // At most one warning every ten seconds: a full store must not flood the log.
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_full_warning_.load(std::memory_order_relaxed);
    if (now - last >= std::chrono::nanoseconds(std::chrono::seconds(10)).count() &&
        last_full_warning_.compare_exchange_strong(last, now))
        log::warn("embedded store full: creates are refused until sessions expire or are revoked",
                  {{"memory_max_sessions", max_sessions_}});
    return sessiond::error::store_full;
}

void memory_store::start() {
    schedule_sweep();
}

void memory_store::stop() {
    stopped_ = true;
    asio::post(sweep_timer_.get_executor(), [this] { sweep_timer_.cancel(); });
}

void memory_store::schedule_sweep() {
    if (stopped_) return;
    sweep_timer_.expires_after(sweep_interval);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        try {
            sweep_shard(shards_[next_sweep_], clock_.now());
        } catch (...) {
            // Logged and skipped: the next tick sweeps on, the thread lives.
            log::contained_exception("memory store sweep", std::current_exception());
        }
        next_sweep_ = (next_sweep_ + 1) % shard_count;
        schedule_sweep();
    });
}

void memory_store::sweep() {
    auto now = clock_.now();
    for (auto& s : shards_)
        sweep_shard(s, now);
}

void memory_store::sweep_shard(shard& s, session::timestamp now) {
    std::lock_guard lock(s.mutex);
    while (!s.deadlines.empty() && s.deadlines.begin()->first <= now) {
        auto it = s.sessions.find(s.deadlines.begin()->second);
        if (it == s.sessions.end()) {
            s.deadlines.erase(s.deadlines.begin());  // cannot happen; keeps the loop finite
            continue;
        }
        expire_locked(s, it);
    }
    if (!events_.enabled) return;
    // Logs no write has trimmed lately lose their old events here.
    const auto oldest = now - events_.retention;
    for (auto it = s.events.begin(); it != s.events.end();) {
        auto& entries = it->second.entries;
        while (!entries.empty() && entries.front().at < oldest)
            entries.pop_front();
        it = entries.empty() ? s.events.erase(it) : std::next(it);
    }
}

void memory_store::expire_locked(shard& s, std::unordered_map<session_id, session_record>::iterator it) {
    if (events_.enabled)
        append_locked(s.events[it->first.bucket], event_of(session::event_type::session_expired, it->second, {}));
    erase_locked(s, it);
}

session::event memory_store::event_of(session::event_type type, const session_record& r, const event_note& note,
                                      std::string_view reason) const {
    session::event e;
    e.stream = r.id.bucket;
    e.type = type;
    e.session_id = r.id.to_string();
    e.user_id = r.user_id;
    if (type != session::event_type::session_expired) e.caller = std::string(note.caller);
    e.reason = std::string(reason);
    return e;
}

void memory_store::append_locked(event_log& log, session::event e) {
    const auto now = clock_.now();
    const auto now_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(now.time_since_epoch().count(), 0));
    log.last = now_ms > log.last.ms ? session::event_position{now_ms, 0}
                                    : session::event_position{log.last.ms, log.last.seq + 1};
    e.id = log.last.to_string();
    e.at = session::timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(log.last.ms)));
    e.instance = events_.instance;
    log.entries.push_back(std::move(e));
    const auto oldest = now - events_.retention;
    while (!log.entries.empty() && (log.entries.size() > events_.max_per_stream || log.entries.front().at < oldest))
        log.entries.pop_front();
}

void memory_store::insert_locked(shard& s, const session_record& r) {
    auto deadline = session::store_deadline(r);
    s.sessions.insert_or_assign(r.id, r);
    s.deadlines.emplace(deadline, r.id);
    s.users[r.user_id].emplace(deadline, r.id);
}

void memory_store::erase_locked(shard& s, std::unordered_map<session_id, session_record>::iterator it) {
    const auto& r = it->second;
    deadline_key key{session::store_deadline(r), r.id};
    s.deadlines.erase(key);
    if (auto u = s.users.find(r.user_id); u != s.users.end()) {
        u->second.erase(key);
        if (u->second.empty()) s.users.erase(u);
    }
    s.sessions.erase(it);
    count_.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<result<created>> memory_store::create(const session_record& r, const user_ref& user,
                                                      const session::policy& p, event_note note) {
    auto& s = shard_for(r.id.bucket);
    auto now = clock_.now();
    created out;
    {
        std::lock_guard lock(s.mutex);
        if (auto u = s.users.find(user.user_id); u != s.users.end()) {
            // Expired sessions neither count nor get chosen: drop them first.
            while (!u->second.empty() && u->second.begin()->first <= now) {
                auto it = s.sessions.find(u->second.begin()->second);
                if (it == s.sessions.end()) {
                    u->second.erase(u->second.begin());
                    continue;
                }
                expire_locked(s, it);
                u = s.users.find(user.user_id);
                if (u == s.users.end()) break;
            }
            // The index now holds the user's live sessions only, sorted as
            // the rule takes victims (earliest deadline, then id): the rule
            // reads its first entries, at most max_walk of them a call.
            if (u != s.users.end()) {
                const auto& index = u->second;
                const auto decision = session::admit_ordered(
                    index.size(), index.begin(), index.end(), [](const deadline_key& k) { return k.second; }, p,
                    max_walk);
                if (decision.rejected) co_return sessiond::error::session_limit;
                for (const auto& id : decision.evict) {
                    auto it = s.sessions.find(id);
                    if (it == s.sessions.end()) continue;  // cannot happen: the index lists stored sessions
                    out.evicted.push_back(it->second);
                    if (events_.enabled)
                        append_locked(s.events[r.id.bucket], event_of(session::event_type::session_revoked, it->second,
                                                                      note, session::revoke_reason::evicted));
                    erase_locked(s, it);
                }
            }
        }
        if (count_.load(std::memory_order_relaxed) >= max_sessions_) {
            // Full: make room from this shard's expired sessions first.
            while (!s.deadlines.empty() && s.deadlines.begin()->first <= now)
                expire_locked(s, s.sessions.find(s.deadlines.begin()->second));
        }
        if (count_.fetch_add(1, std::memory_order_relaxed) >= max_sessions_) {
            count_.fetch_sub(1, std::memory_order_relaxed);
            co_return full();
        }
        insert_locked(s, r);
        if (events_.enabled)
            append_locked(s.events[r.id.bucket], event_of(session::event_type::session_created, r, note));
    }
    co_return out;
}

asio::awaitable<result<std::optional<session_record>>> memory_store::get(const session_id& id) {
    auto& s = shard_for(id.bucket);
    auto now = clock_.now();
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(id);
    if (it == s.sessions.end()) co_return std::nullopt;
    if (session::store_deadline(it->second) <= now) {
        expire_locked(s, it);
        co_return std::nullopt;
    }
    co_return it->second;
}

asio::awaitable<result<bool>> memory_store::claim_once(std::string_view name, std::chrono::milliseconds ttl) {
    const auto now = clock_.now();
    std::lock_guard lock(claims_mutex_);
    purge_when_doubled(claims_, claims_purge_at_, max_sessions_,
                       [now](const auto& entry) { return entry.second <= now; });
    auto [it, fresh] = claims_.try_emplace(std::string(name), now + ttl);
    if (!fresh) {
        if (it->second > now) co_return false;
        it->second = now + ttl;
        co_return true;
    }
    if (claims_.size() > max_sessions_) {
        claims_.erase(it);
        co_return result<bool>(boost::system::in_place_error, full());
    }
    co_return true;
}

asio::awaitable<result<bool>> memory_store::replace(const session_record& expected, const session_record& next,
                                                    const user_ref&, event_note note) {
    auto& s = shard_for(expected.id.bucket);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(expected.id);
    if (it == s.sessions.end() || it->second.version != expected.version) co_return false;
    auto old_key = deadline_key{session::store_deadline(it->second), it->first};
    auto new_key = deadline_key{session::store_deadline(next), next.id};
    if (old_key != new_key) {
        s.deadlines.erase(old_key);
        s.deadlines.insert(new_key);
        auto& index = s.users[it->second.user_id];
        index.erase(old_key);
        index.insert(new_key);
    }
    it->second = next;
    if (events_.enabled && note.rotation)
        append_locked(s.events[next.id.bucket], event_of(session::event_type::session_rotated, next, note));
    co_return true;
}

asio::awaitable<result<std::optional<session_record>>> memory_store::remove(const session_id& id, const user_ref&,
                                                                            event_note note) {
    auto& s = shard_for(id.bucket);
    std::lock_guard lock(s.mutex);
    auto it = s.sessions.find(id);
    if (it == s.sessions.end()) co_return std::nullopt;
    if (session::store_deadline(it->second) <= clock_.now()) {  // had already expired
        expire_locked(s, it);
        co_return std::nullopt;
    }
    std::optional<session_record> out = it->second;
    erase_locked(s, it);
    if (events_.enabled) {
        auto& log = s.events[id.bucket];
        if (note.reason == session::revoke_reason::reuse_detected)
            append_locked(log, event_of(session::event_type::session_reuse_detected, *out, note));
        append_locked(log, event_of(session::event_type::session_revoked, *out, note, note.reason));
    }
    co_return out;
}

std::set<memory_store::deadline_key>::const_iterator memory_store::walk_from(const std::set<deadline_key>& index,
                                                                             const std::optional<user_cursor>& after) {
    return after ? index.upper_bound({after->deadline, after->id}) : index.begin();
}

asio::awaitable<result<user_page>> memory_store::list_user(const user_ref& user, std::optional<user_cursor> after,
                                                           std::size_t limit) {
    auto& s = shard_for(user.bucket);
    auto now = clock_.now();
    limit = std::clamp<std::size_t>(limit, 1, max_walk);
    user_page out;
    std::lock_guard lock(s.mutex);
    auto u = s.users.find(user.user_id);
    if (u == s.users.end()) co_return out;
    auto it = walk_from(u->second, after);
    for (std::size_t examined = 0; it != u->second.end() && out.sessions.size() < limit && examined < max_walk;
         ++it, ++examined) {
        const auto& [deadline, id] = *it;
        if (deadline <= now) continue;
        if (auto found = s.sessions.find(id); found != s.sessions.end()) out.sessions.push_back(found->second);
    }
    if (it != u->second.end()) out.next = user_cursor{std::prev(it)->first, std::prev(it)->second};
    co_return out;
}

asio::awaitable<result<user_removal>> memory_store::remove_user(const user_ref& user, std::optional<session_id> except,
                                                                std::optional<user_cursor> after, event_note note) {
    auto& s = shard_for(user.bucket);
    auto now = clock_.now();
    user_removal out;
    std::lock_guard lock(s.mutex);
    auto u = s.users.find(user.user_id);
    if (u == s.users.end()) {
        if (events_.enabled && note.revoked_before > 0) user_revoked_locked(s, user, note, note.revoked_before);
        co_return out;
    }
    std::vector<deadline_key> batch;
    for (auto it = walk_from(u->second, after); it != u->second.end() && batch.size() < max_removal; ++it)
        batch.push_back(*it);
    if (batch.size() == max_removal && batch.back() != *u->second.rbegin())
        out.next = user_cursor{batch.back().first, batch.back().second};
    // Erasing may drop the user's index: `u` is not used again.
    for (const auto& [deadline, id] : batch) {
        if (except && id == *except) continue;
        auto it = s.sessions.find(id);
        if (it == s.sessions.end()) continue;
        if (deadline > now) {
            ++out.removed;
            if (events_.enabled)
                append_locked(s.events[user.bucket],
                              event_of(session::event_type::session_revoked, it->second, note, note.reason));
            erase_locked(s, it);
        } else {
            expire_locked(s, it);
        }
    }
    const auto total = note.revoked_before + static_cast<std::int64_t>(out.removed);
    if (events_.enabled && !out.next && total > 0) user_revoked_locked(s, user, note, total);
    co_return out;
}

asio::awaitable<result<std::shared_ptr<const session::not_before>>> memory_store::not_before() {
    co_return not_before_.load(std::memory_order_acquire);
}

asio::awaitable<result<void>> memory_store::set_not_before(std::string_view tenant, session::timestamp at,
                                                           event_note note) {
    const std::lock_guard lock(not_before_writes_);
    auto next = std::make_shared<session::not_before>(*not_before_.load(std::memory_order_acquire));
    if (tenant.empty()) {
        next->all = at;
    } else {
        if (!next->tenants.contains(tenant) && next->tenants.size() >= session::max_tenant_instants)
            co_return sessiond::error::session_limit;
        next->tenants.insert_or_assign(std::string(tenant), at);
    }
    not_before_.store(std::move(next), std::memory_order_release);
    if (events_.enabled) {
        session::event e;
        e.stream = session::events_meta_stream;
        e.type = session::event_type::epoch_changed;
        e.caller = std::string(note.caller);
        e.tenant = tenant.empty() ? std::string("*") : std::string(tenant);
        e.instant_ms = at.time_since_epoch().count();
        append_locked(meta_events_, std::move(e));
    }
    co_return result<void>();
}

asio::awaitable<result<void>> memory_store::set_user_not_before(const user_ref& user, session::timestamp at,
                                                                session::timestamp until, event_note note) {
    const auto now = clock_.now();
    std::lock_guard lock(claims_mutex_);
    purge_when_doubled(user_instants_, user_instants_purge_at_, max_sessions_,
                       [now](const auto& entry) { return entry.second.second <= now; });
    auto [it, fresh] = user_instants_.insert_or_assign(user.user_id, std::pair(at, until));
    if (fresh && user_instants_.size() > max_sessions_) {
        user_instants_.erase(it);
        co_return full();
    }
    if (events_.enabled) {
        session::event e;
        e.stream = user.bucket;
        e.type = session::event_type::epoch_changed;
        e.user_id = user.user_id;
        e.caller = std::string(note.caller);
        e.instant_ms = at.time_since_epoch().count();
        auto& s = shard_for(user.bucket);
        const std::lock_guard shard_lock(s.mutex);
        append_locked(s.events[user.bucket], std::move(e));
    }
    co_return result<void>();
}

asio::awaitable<result<std::optional<session::timestamp>>> memory_store::user_not_before(const user_ref& user) {
    std::lock_guard lock(claims_mutex_);
    const auto it = user_instants_.find(user.user_id);
    if (it == user_instants_.end() || it->second.second <= clock_.now()) co_return std::nullopt;
    co_return it->second.first;
}

// --- OIDC back-channel logout: sessions by their provider's session ---

namespace {
std::string provider_key(const provider_ref& ref) {
    return std::to_string(ref.bucket) + ':' + ref.name;
}
}  // namespace

asio::awaitable<result<void>> memory_store::add_provider_session(const provider_ref& ref, const session_id& id,
                                                                 session::timestamp until) {
    const auto now = clock_.now();
    std::lock_guard lock(providers_mutex_);
    if (providers_.size() >= providers_purge_at_) {
        for (auto it = providers_.begin(); it != providers_.end();) {
            std::erase_if(it->second, [now](const auto& entry) { return entry.second <= now; });
            it = it->second.empty() ? providers_.erase(it) : std::next(it);
        }
        providers_purge_at_ = std::min(std::max<std::size_t>(1024, providers_.size() * 2), max_sessions_);
    }
    auto key = provider_key(ref);
    if (!providers_.contains(key) && providers_.size() >= max_sessions_) co_return full();
    auto& index = providers_[key];
    auto& kept = index[id];
    kept = std::max(kept, until);
    co_return result<void>();
}

asio::awaitable<result<std::vector<session_id>>> memory_store::provider_sessions(const provider_ref& ref) {
    const auto now = clock_.now();
    std::vector<session_id> out;
    std::lock_guard lock(providers_mutex_);
    auto it = providers_.find(provider_key(ref));
    if (it == providers_.end()) co_return out;
    std::erase_if(it->second, [now](const auto& entry) { return entry.second <= now; });
    for (const auto& [id, until] : it->second) {
        if (out.size() == max_walk) break;
        out.push_back(id);
    }
    if (it->second.empty()) providers_.erase(it);
    co_return out;
}

asio::awaitable<result<void>> memory_store::remove_provider_sessions(const provider_ref& ref,
                                                                     const std::vector<session_id>& ids) {
    std::lock_guard lock(providers_mutex_);
    auto it = providers_.find(provider_key(ref));
    if (it == providers_.end()) co_return result<void>();
    for (const auto& id : ids)
        it->second.erase(id);
    if (it->second.empty()) providers_.erase(it);
    co_return result<void>();
}

// --- end OIDC back-channel logout ---

}  // namespace sessiond::store

// --- Session events ---

namespace sessiond::store {

void memory_store::user_revoked_locked(shard& s, const user_ref& user, const event_note& note, std::int64_t count) {
    session::event e;
    e.stream = user.bucket;
    e.type = session::event_type::user_sessions_revoked;
    e.user_id = user.user_id;
    e.caller = std::string(note.caller);
    e.count = count;
    append_locked(s.events[user.bucket], std::move(e));
}

void memory_store::read_log(const event_log& log, session::event_position after, std::size_t limit,
                            std::vector<session::event>& out) {
    // Ids increase along the log: the first one after `after` by bisection.
    const auto first = std::partition_point(log.entries.begin(), log.entries.end(), [&](const session::event& e) {
        return *session::event_position::parse(e.id) <= after;
    });
    for (auto it = first; it != log.entries.end() && limit > 0; ++it, --limit)
        out.push_back(*it);
}

asio::awaitable<result<std::vector<session::event>>> memory_store::read_events(std::uint32_t stream,
                                                                               session::event_position after,
                                                                               std::size_t limit) {
    std::vector<session::event> out;
    limit = std::clamp<std::size_t>(limit, 1, max_event_read);
    if (stream == session::events_meta_stream) {
        const std::lock_guard lock(not_before_writes_);
        read_log(meta_events_, after, limit, out);
    } else if (stream < session::events_meta_stream) {
        auto& s = shard_for(static_cast<std::uint16_t>(stream));
        const std::lock_guard lock(s.mutex);
        if (auto it = s.events.find(stream); it != s.events.end()) read_log(it->second, after, limit, out);
    }
    co_return out;
}

asio::awaitable<result<std::vector<session::event>>> memory_store::read_all_events(event_cursor& cursor,
                                                                                   std::size_t limit) {
    limit = std::clamp<std::size_t>(limit, 1, max_event_read);
    constexpr std::uint32_t n = session::events_stream_count;
    if (cursor.at.size() != n) cursor.at.resize(n);
    std::vector<session::event> out;
    std::uint32_t visited = 0;
    for (; visited < n && out.size() < limit; ++visited) {
        const std::uint32_t stream = (cursor.next_stream + visited) % n;
        if (stream == session::events_meta_stream) {
            const std::lock_guard lock(not_before_writes_);
            read_log(meta_events_, cursor.at[stream], limit - out.size(), out);
            continue;
        }
        auto& s = shard_for(static_cast<std::uint16_t>(stream));
        const std::lock_guard lock(s.mutex);
        if (auto it = s.events.find(stream); it != s.events.end())
            read_log(it->second, cursor.at[stream], limit - out.size(), out);
    }
    cursor.next_stream = (cursor.next_stream + visited) % n;
    co_return out;
}

void event_cursor::advance(const session::event& e) {
    if (e.stream >= at.size()) at.resize(session::events_stream_count);
    if (auto p = session::event_position::parse(e.id); p && *p > at[e.stream]) at[e.stream] = *p;
}

}  // namespace sessiond::store

// --- Webhooks ---

namespace sessiond::store {

asio::awaitable<result<bool>> memory_store::acquire_webhook_lease(std::string_view endpoint, std::string_view token,
                                                                  std::chrono::milliseconds ttl) {
    const auto now = clock_.now();
    std::lock_guard lock(webhooks_mutex_);
    auto& w = webhooks_[std::string(endpoint)];
    if (w.holder != token && !w.holder.empty() && w.lease_until > now) co_return false;
    w.holder = std::string(token);
    w.lease_until = now + ttl;
    co_return true;
}

asio::awaitable<result<bool>> memory_store::renew_webhook_lease(std::string_view endpoint, std::string_view token,
                                                                std::chrono::milliseconds ttl) {
    const auto now = clock_.now();
    std::lock_guard lock(webhooks_mutex_);
    auto it = webhooks_.find(endpoint);
    if (it == webhooks_.end() || it->second.holder != token || it->second.lease_until <= now) co_return false;
    it->second.lease_until = now + ttl;
    co_return true;
}

asio::awaitable<result<void>> memory_store::release_webhook_lease(std::string_view endpoint, std::string_view token) {
    std::lock_guard lock(webhooks_mutex_);
    auto it = webhooks_.find(endpoint);
    if (it != webhooks_.end() && it->second.holder == token) it->second.holder.clear();
    co_return result<void>();
}

asio::awaitable<result<webhook_progress>> memory_store::load_webhook_progress(std::string_view endpoint) {
    const auto now = clock_.now();
    std::lock_guard lock(webhooks_mutex_);
    auto& w = webhooks_[std::string(endpoint)];
    if (w.start_ms < 0) w.start_ms = now.time_since_epoch().count();
    webhook_progress out;
    out.start_ms = w.start_ms;
    out.at.assign(w.at.begin(), w.at.end());
    co_return out;
}

asio::awaitable<result<bool>> memory_store::save_webhook_progress(
    std::string_view endpoint, std::string_view token,
    const std::vector<std::pair<std::uint32_t, session::event_position>>& changed) {
    const auto now = clock_.now();
    std::lock_guard lock(webhooks_mutex_);
    auto it = webhooks_.find(endpoint);
    if (it == webhooks_.end() || it->second.holder != token || it->second.lease_until <= now) co_return false;
    for (const auto& [stream, at] : changed)
        it->second.at[stream] = at;
    co_return true;
}

}  // namespace sessiond::store
