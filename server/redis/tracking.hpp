#pragma once
// Client-side caching (CLIENT TRACKING, Redis 6 and later): the invalidation
// links of one I/O thread, which tell a cache when what it holds changed.
//
// One link per node that may take writes (router::tracked(): the primaries,
// and in a Cluster their replicas too), a connection of its own: it asks its client id,
// turns on tracking in broadcasting mode for the key prefix redirected to
// itself (CLIENT TRACKING on REDIRECT <own id> BCAST PREFIX <prefix>: with
// RESP2 a redirect is the only way to receive invalidations), and subscribes
// to __redis__:invalidate. From then on Redis names every key under the
// prefix that changes on that node, whoever changed it (this instance,
// another one, a script, an operator) and however (a write, a delete, its
// expiry, an eviction); FLUSHALL and FLUSHDB come as a message without keys.
//
// Broadcasting rather than Redis' default mode (which remembers the keys
// each client read and tells only that client): it asks nothing of the data
// connections (no per-connection redirect to keep in step with this link
// across reconnects, no extra command per read) and keeps no per-key state
// in Redis. The price is a message to every link for every write under the
// prefix, read or not: writes to session keys are creates, rotations,
// revocations and touches, a small share of a session service's traffic.
//
// What a cache may rely on:
//  - epoch() changes whenever something may have been missed: a link went
//    down, the primaries or the slots they serve changed, or Redis flushed.
//    A read may fill the cache only if it was sent while established() and
//    the epoch is the same when its reply arrives.
//  - fresh(now): every link has heard from its node within stale_after. A
//    link that goes silent (a partition, a frozen node) stops cache hits
//    within that bound, well before its connection times out; as TCP keeps
//    order, a late answer means every invalidation sent before it has been
//    read, so nothing needs dropping then.
//
// Single-threaded, like the connections: everything runs on the owning
// io_context's thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/connection.hpp"

namespace sessiond::redis {

// Told of invalidations, on the tracker's thread.
class tracking_listener {
public:
    virtual ~tracking_listener() = default;
    // The key changed, expired or was evicted.
    virtual void on_invalidate(std::string_view key) = 0;
    // Anything may have changed: drop everything (the epoch has moved on).
    virtual void on_flush() = 0;
};

class invalidation_tracker final : public connection_observer,
                                   public std::enable_shared_from_this<invalidation_tracker> {
public:
    using clock = connection::clock;
    static constexpr std::chrono::milliseconds heartbeat{200};
    static constexpr std::chrono::milliseconds stale_after{1000};

    // settings: the data nodes' (handshake, TLS, timeouts); prefix: the keys
    // to be told about ("" = every key).
    invalidation_tracker(boost::asio::io_context& ioc, const connection_settings& settings, std::string prefix);
    ~invalidation_tracker() override;
    invalidation_tracker(const invalidation_tracker&) = delete;
    invalidation_tracker& operator=(const invalidation_tracker&) = delete;

    void set_listener(tracking_listener* listener) noexcept { listener_ = listener; }
    // Links to exactly these nodes from now on; always a flush (called with
    // the router's tracked() nodes at start and at every topology change).
    void track(const std::vector<endpoint>& nodes);
    void start();  // the heartbeat; links start as track() adds them
    void stop();

    bool established() const noexcept { return established_; }
    std::uint64_t epoch() const noexcept { return epoch_; }
    bool fresh(clock::time_point now) const noexcept;

    void on_ready(connection& c) override;
    void on_down(connection& c, const boost::system::error_code& why) override;
    void on_push(connection& c, reply&& message) override;

private:
    struct link {
        std::shared_ptr<connection> conn;
        std::uint64_t attempt = 0;  // bumped at each ready/down: older replies are ignored
        bool tracking_on = false;   // CLIENT TRACKING answered OK on this connection
        bool tracking = false;      // and SUBSCRIBE too: invalidations arrive
        bool ping_out = false;
        clock::time_point heard{};
    };

    link* find(const connection& c);
    void enable(link& l, long long own_id);
    void flush(std::string_view why);
    void update();
    bool beat();
    void refused(const link& l, std::string_view step, const boost::system::error_code& ec, const reply& r);

    boost::asio::io_context& ioc_;
    std::shared_ptr<const connection_settings> settings_;
    const std::string prefix_;
    boost::asio::steady_timer timer_;
    tracking_listener* listener_ = nullptr;
    std::vector<std::unique_ptr<link>> links_;
    std::uint64_t epoch_ = 1;
    bool established_ = false;
    bool stopped_ = false;
    bool refusal_logged_ = false;
};

}  // namespace sessiond::redis
