#pragma once
// The validation cache: session records one I/O thread read from Redis,
// kept only while Redis' invalidation links (redis/tracking.hpp) vouch for
// them, so that a validation can be answered without a round trip.
//
// What keeps an entry correct:
//  - Redis names every key that changes; the entry goes (invalidate()).
//  - A read in flight when its key's invalidation arrives (the reply and the
//    invalidation travel on different connections, in either order) does
//    not fill the cache: begin() registers it, invalidate() marks it.
//  - Whenever something may have been missed (a link down, a topology
//    change, a flush of Redis), clear() drops everything, and reads begun
//    before it fill nothing.
//  - A write through this instance marks its session in write_marks, shared
//    by every thread: an entry read before that write was acknowledged is
//    not served by any thread, even while Redis' invalidation is still on its
//    way to that thread's link (read-your-writes within an instance).
//  - An entry lives at most max_age, and at most max_entries are kept (the
//    least recently used goes). Each entry's age limit is between 3/4 of
//    max_age and max_age, spread by its session id, so that entries filled
//    together (a warm-up, the refill after a flush) are not all read again
//    in the same instant.
// The cache never decides validity: a hit is the stored record, which the
// service checks (secret digest in constant time, expiry against the clock)
// as it checks one read from Redis.
//
// One per I/O thread and single-threaded, but for write_marks.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>

#include "session/session_id.hpp"
#include "session/session_record.hpp"

namespace sessiond::store {

struct cache_limits {
    std::size_t max_entries = 0;  // this thread's share; 0 = nothing is kept
    std::chrono::milliseconds max_age{};
};

// The writes this instance made, for every thread's cache. Stamps are
// nanoseconds of the steady clock. A session's mark shares one of `slots`
// with others: a collision only costs a read.
class write_marks {
public:
    using stamp = std::int64_t;
    static stamp now() noexcept;

    // After a write's reply (any thread).
    void mark(const session::session_id& id) noexcept;
    // The same with the stamp taken by the caller: a mark never moves back,
    // whatever the order in which threads store their stamps.
    void mark_at(const session::session_id& id, stamp at) noexcept;
    // After a write to sessions not known one by one (revoke-all).
    void mark_all() noexcept;
    // A write of `id`, or of everything, was marked at or after `since`.
    bool written_since(const session::session_id& id, stamp since) const noexcept;
    // After a write of the "not before" instants; whether one was marked at
    // or after `since`.
    void mark_not_before() noexcept;
    bool not_before_written_since(stamp since) const noexcept;

private:
    static constexpr std::size_t slots = 4096;
    std::array<std::atomic<stamp>, slots> marks_{};
    std::atomic<stamp> all_{0};
    std::atomic<stamp> not_before_{0};
};

class record_cache {
public:
    using clock = std::chrono::steady_clock;

    record_cache(cache_limits limits, std::shared_ptr<const write_marks> marks);
    record_cache(const record_cache&) = delete;
    record_cache& operator=(const record_cache&) = delete;

    // A read that may fill the cache, from before it is sent until its reply
    // is in (or it failed). Move-only; ends by itself when destroyed.
    class ticket {
    public:
        ticket() = default;
        ticket(ticket&& other) noexcept;
        ticket& operator=(ticket&&) = delete;
        ~ticket();

    private:
        friend class record_cache;
        record_cache* cache_ = nullptr;
        session::session_id id_{};
        std::uint64_t generation_ = 0;
        write_marks::stamp sent_ = 0;
    };

    // The record kept for `id`, or null (also when the entry is too old or
    // this instance wrote the session since it was read). Valid until the
    // next call on this cache.
    const session::session_record* find(const session::session_id& id, clock::time_point now);
    ticket begin(const session::session_id& id);
    // Keeps `read` (the live record the ticket's read returned) unless the
    // key changed, or everything was dropped, since begin().
    void fill(ticket& t, const session::session_record& read, clock::time_point now);

    void invalidate(const session::session_id& id);
    void clear();
    std::size_t size() const noexcept { return index_.size(); }

private:
    struct entry {
        session::session_id id;
        session::session_record record;
        clock::time_point expires;  // filled + its share of max_age
        write_marks::stamp sent;    // when the read that brought it was begun
    };
    struct pending {
        std::uint32_t reads = 0;
        bool changed = false;
    };

    void end(const session::session_id& id);
    void erase(std::unordered_map<session::session_id, std::list<entry>::iterator>::iterator it);

    cache_limits limits_;
    std::shared_ptr<const write_marks> marks_;
    std::list<entry> lru_;  // most recently used first
    std::unordered_map<session::session_id, std::list<entry>::iterator> index_;
    std::unordered_map<session::session_id, pending> pending_;
    std::uint64_t generation_ = 1;  // bumped by clear()
};

}  // namespace sessiond::store
