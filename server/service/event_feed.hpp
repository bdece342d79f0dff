#pragma once
// The session events of every stream, fanned out to the subscribers of one
// I/O thread (the Server-Sent Events of GET /v1/events). Each thread has its
// feed, so a subscriber never leaves its connection's thread: the feed
// reads the store (read_all_events) only while it has subscribers, every
// poll interval, and hands each subscriber the events its filter takes,
// into a bounded queue. A subscriber whose queue would overflow is cut (its
// queue freed, told so once): sessiond never buffers without bound for a
// client that does not read.
//
// A subscriber that resumes (after an event_ref) first catches up on its
// own cursor, from that event's time less a margin in every stream (events
// are read across streams in no global order), skipping what the named
// stream held up to that event; meanwhile the feed queues what it reads for
// it, and the two are joined without a gap and without repeating what the
// catch-up delivered. Delivery is at least once: a consumer de-duplicates
// by event id (docs/events.md).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "session/event_json.hpp"
#include "session/events.hpp"
#include "session/rules.hpp"
#include "store/session_store.hpp"

namespace sessiond::service {

// Which events a subscriber takes.
struct event_filter {
    std::uint32_t types = 0;  // a bit per session::event_type; 0 = every type
    std::string user = {};    // empty = every user's (and the epochs of everyone or a tenant)
    bool matches(const session::event& e) const noexcept;
    void add_type(session::event_type t) noexcept { types |= 1U << static_cast<unsigned>(t); }
};

struct event_feed_settings {
    std::chrono::milliseconds poll_interval{250};   // between reads of the store while there are subscribers
    std::size_t queue_events = 1000;                // a subscriber's queue, at most
    std::size_t queue_bytes = 1 << 20;              // the same, in (approximate) bytes
    std::chrono::milliseconds resume_margin{5000};  // a resume starts this long before the event it names
    std::size_t max_streams = 64;                   // subscribers of the process, at most
};

class event_feed;

// A subscriber's end: what the feed queued for it, and whether it was cut.
// Used on its feed's thread only.
class event_subscription {
public:
    event_subscription(std::shared_ptr<event_feed> feed, event_filter filter);
    ~event_subscription();
    event_subscription(const event_subscription&) = delete;
    event_subscription& operator=(const event_subscription&) = delete;

    // Waits until events are queued, the subscription is cut or woken, or
    // `until` passes. A resuming subscriber catches up here (reads of the
    // store, as its queue has room). A store failure ends the catch-up with
    // the failure.
    boost::asio::awaitable<store::result<void>> wait(std::chrono::steady_clock::time_point until);
    // Takes what is queued, oldest first (the queue's room is back).
    std::deque<session::event> take();
    // Ends a wait() now (the drain).
    void wake();
    // The queue would have overflowed: it was dropped, nothing more comes.
    bool cut() const noexcept { return cut_; }

    // Offered one event the feed read (its filter not yet applied); false
    // when the subscriber was cut by it. Public for the feed and its tests.
    bool offer(const session::event& e);

private:
    friend class event_feed;
    struct catch_up {
        store::event_cursor cursor;
        std::deque<session::event> live;  // what the feed read meanwhile
        std::size_t live_bytes = 0;
    };
    bool push(std::deque<session::event>& q, std::size_t& bytes, const session::event& e);
    void overflow();
    void join_live();

    std::shared_ptr<event_feed> feed_;
    event_filter filter_;
    std::deque<session::event> queue_;
    std::size_t queue_bytes_ = 0;
    std::unique_ptr<catch_up> catching_up_;
    // Streams where the catch-up read further than the feed had when they
    // joined: the feed's events up to there were delivered already.
    std::unordered_map<std::uint32_t, session::event_position> delivered_;
    boost::asio::steady_timer timer_;
    bool cut_ = false;
    bool counted_ = false;  // holds one of the process's streams
};

class event_feed : public std::enable_shared_from_this<event_feed> {
public:
    // `open`: the subscribers of every thread's feed (the cap is for the process).
    event_feed(const boost::asio::any_io_executor& ex, store::session_store& store, const session::clock& clock,
               event_feed_settings settings, std::shared_ptr<std::atomic<std::size_t>> open);
    event_feed(const event_feed&) = delete;
    event_feed& operator=(const event_feed&) = delete;

    // A subscriber from now (`resume` none) or resuming after `resume`;
    // null when the process has max_streams subscribers already.
    std::shared_ptr<event_subscription> subscribe(event_filter filter, std::optional<session::event_ref> resume);

    const event_feed_settings& settings() const noexcept { return settings_; }
    const session::clock& clock() const noexcept { return clock_; }
    store::session_store& store() noexcept { return store_; }
    std::size_t subscribers() const noexcept { return subscribers_.size(); }

    // An event's weight in a queue's byte bound.
    static std::size_t weight(const session::event& e) noexcept;
    // Where a resume after `ref` starts each stream, `margin` before it.
    static store::event_cursor resume_cursor(const session::event_ref& ref, std::chrono::milliseconds margin);
    // Every stream from the instant `at` on.
    static store::event_cursor cursor_from(session::timestamp at);

private:
    friend class event_subscription;
    void leave(event_subscription* s);
    boost::asio::awaitable<void> poll_loop(std::shared_ptr<event_feed> self);

    boost::asio::any_io_executor ex_;
    store::session_store& store_;
    const session::clock& clock_;
    event_feed_settings settings_;
    std::shared_ptr<std::atomic<std::size_t>> open_;
    std::vector<event_subscription*> subscribers_;
    store::event_cursor cursor_;
    bool polling_ = false;
    boost::asio::steady_timer timer_;
};

}  // namespace sessiond::service
