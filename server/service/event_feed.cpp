#include "service/event_feed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <limits>
#include <utility>

#include "log/log.hpp"

namespace sessiond::service {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

session::event_position position_of(const session::event& e) {
    return session::event_position::parse(e.id).value_or(session::event_position{});
}

// Reads in a row before the feed sleeps, when the store has more at once.
constexpr int max_reads_in_a_row = 16;

}  // namespace

bool event_filter::matches(const session::event& e) const noexcept {
    if (types != 0 && !(types & (1U << static_cast<unsigned>(e.type)))) return false;
    return user.empty() || e.user_id == user;
}

// --- a subscriber ------------------------------------------------------------

event_subscription::event_subscription(std::shared_ptr<event_feed> feed, event_filter filter)
    : feed_(std::move(feed)), filter_(std::move(filter)), timer_(feed_->ex_) {}

event_subscription::~event_subscription() {
    feed_->leave(this);
    if (counted_) feed_->open_->fetch_sub(1, std::memory_order_relaxed);
}

bool event_subscription::push(std::deque<session::event>& q, std::size_t& bytes, const session::event& e) {
    const auto& s = feed_->settings_;
    const auto w = event_feed::weight(e);
    if (q.size() >= s.queue_events || bytes + w > s.queue_bytes) return false;
    q.push_back(e);
    bytes += w;
    return true;
}

void event_subscription::overflow() {
    cut_ = true;
    std::deque<session::event>().swap(queue_);
    queue_bytes_ = 0;
    catching_up_.reset();
    delivered_.clear();
    wake();
}

bool event_subscription::offer(const session::event& e) {
    if (cut_) return false;
    if (!filter_.matches(e)) return true;
    if (!delivered_.empty())
        if (auto it = delivered_.find(e.stream); it != delivered_.end()) {
            if (position_of(e) <= it->second) return true;  // the catch-up delivered it
            delivered_.erase(it);                           // the feed is past the catch-up there
        }
    if (catching_up_) {
        if (push(catching_up_->live, catching_up_->live_bytes, e)) return true;
    } else if (push(queue_, queue_bytes_, e)) {
        wake();
        return true;
    }
    overflow();
    return false;
}

void event_subscription::join_live() {
    auto cu = std::move(catching_up_);
    const auto& live_at = feed_->cursor_.at;
    for (std::uint32_t s = 0; s < cu->cursor.at.size() && s < live_at.size(); ++s)
        if (cu->cursor.at[s] > live_at[s]) delivered_[s] = cu->cursor.at[s];
    for (const auto& e : cu->live) {
        if (position_of(e) <= cu->cursor.at[e.stream]) continue;
        if (!push(queue_, queue_bytes_, e)) {
            overflow();
            return;
        }
    }
}

asio::awaitable<store::result<void>> event_subscription::wait(std::chrono::steady_clock::time_point until) {
    if (cut_ || !queue_.empty()) co_return store::result<void>{};
    if (catching_up_) {
        const auto room = feed_->settings_.queue_events - queue_.size();
        const auto limit = std::clamp<std::size_t>(room, 1, store::max_event_read);
        auto got = co_await feed_->store_.read_all_events(catching_up_->cursor, limit);
        // The feed may have cut this subscriber meanwhile.
        if (!catching_up_) co_return store::result<void>{};
        if (!got) co_return got.error();
        bool whole = got->size() < limit;  // every stream was read to its end
        for (const auto& e : *got) {
            if (filter_.matches(e) && !push(queue_, queue_bytes_, e)) {
                whole = false;  // read again from here
                break;
            }
            catching_up_->cursor.advance(e);
        }
        if (whole) join_live();
        co_return store::result<void>{};
    }
    timer_.expires_at(until);
    co_await timer_.async_wait(use_tuple);
    co_return store::result<void>{};
}

std::deque<session::event> event_subscription::take() {
    queue_bytes_ = 0;
    return std::exchange(queue_, {});
}

void event_subscription::wake() {
    timer_.cancel();
}

// --- the feed --------------------------------------------------------------

event_feed::event_feed(const asio::any_io_executor& ex, store::session_store& store, const session::clock& clock,
                       event_feed_settings settings, std::shared_ptr<std::atomic<std::size_t>> open)
    : ex_(ex), store_(store), clock_(clock), settings_(settings), open_(std::move(open)), timer_(ex) {}

std::size_t event_feed::weight(const session::event& e) noexcept {
    return sizeof(session::event) + e.id.size() + e.session_id.size() + e.user_id.size() + e.instance.size() +
           e.caller.size() + e.reason.size() + e.tenant.size();
}

store::event_cursor event_feed::cursor_from(session::timestamp at) {
    store::event_cursor c;
    const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(at.time_since_epoch().count(), 1));
    // After the last possible position of the millisecond before.
    std::fill(c.at.begin(), c.at.end(), session::event_position{ms - 1, std::numeric_limits<std::uint64_t>::max()});
    return c;
}

store::event_cursor event_feed::resume_cursor(const session::event_ref& ref, std::chrono::milliseconds margin) {
    const auto from = static_cast<std::int64_t>(ref.at.ms) - margin.count();
    auto c = cursor_from(session::timestamp(std::chrono::milliseconds(std::max<std::int64_t>(from, 1))));
    c.at[ref.stream] = std::max(c.at[ref.stream], ref.at);
    return c;
}

std::shared_ptr<event_subscription> event_feed::subscribe(event_filter filter,
                                                          std::optional<session::event_ref> resume) {
    auto n = open_->load(std::memory_order_relaxed);
    do {
        if (n >= settings_.max_streams) return nullptr;
    } while (!open_->compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    auto s = std::make_shared<event_subscription>(shared_from_this(), std::move(filter));
    s->counted_ = true;
    if (resume)
        s->catching_up_ = std::make_unique<event_subscription::catch_up>(
            event_subscription::catch_up{resume_cursor(*resume, settings_.resume_margin), {}, 0});
    subscribers_.push_back(s.get());
    if (!polling_) {
        polling_ = true;
        cursor_ = cursor_from(clock_.now());
        asio::co_spawn(ex_, poll_loop(shared_from_this()), asio::detached);
    }
    return s;
}

void event_feed::leave(event_subscription* s) {
    std::erase(subscribers_, s);
    if (subscribers_.empty()) timer_.cancel();
}

asio::awaitable<void> event_feed::poll_loop([[maybe_unused]] std::shared_ptr<event_feed> self) {
    bool failing = false;
    while (!subscribers_.empty()) {
        for (int reads = 0; reads < max_reads_in_a_row; ++reads) {
            auto got = co_await store_.read_all_events(cursor_, store::max_event_read);
            if (!got) {
                if (!failing) log::warn("events: reading the store failed", {{"error", got.error().message()}});
                failing = true;
                break;
            }
            failing = false;
            // A subscriber the fan-out cuts stays listed until it is gone.
            for (const auto& e : *got) {
                cursor_.advance(e);
                for (auto* s : subscribers_)
                    s->offer(e);
            }
            if (got->size() < store::max_event_read) break;
        }
        if (subscribers_.empty()) break;
        timer_.expires_after(settings_.poll_interval);
        co_await timer_.async_wait(use_tuple);
    }
    polling_ = false;
}

}  // namespace sessiond::service
