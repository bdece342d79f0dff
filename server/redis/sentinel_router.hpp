#pragma once
// Routes every command to the primary that Redis Sentinel names.
//
// The router asks a sentinel for the primary of the monitored name
// (SENTINEL get-master-addr-by-name) and keeps a second connection to the
// same sentinel subscribed to +switch-master, so that a failover is followed
// the moment the sentinels announce it. A data connection is used only once
// ROLE says its node is the primary (the sentinels' answer may be stale; a
// replica must never take a write). The primary is asked for again, at most
// once per min_refresh_interval, when a data connection fails or times out,
// when a node answers READONLY (demoted under sessiond), when the watch
// connection (re)connects (it may have missed an announcement), and every
// topology_refresh. An unreachable or unknowing sentinel is left for the next.
//
// Reads go to the primary too: a replica lags, and a validation served by one
// could accept a session revoked a moment before.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/backoff.hpp"
#include "redis/node_pool.hpp"
#include "redis/router.hpp"

namespace sessiond::redis {

// The new primary in a +switch-master message ("<name> <old ip> <old port>
// <new ip> <new port>") about `master_name`; nullopt for another name or a
// malformed message.
std::optional<endpoint> parse_switch_master(std::string_view payload, std::string_view master_name);

class sentinel_router final : public router,
                              public connection_observer,
                              public std::enable_shared_from_this<sentinel_router> {
public:
    // data: the data nodes' connections (handshake with ROLE); sentinel and
    // watch: the sentinels' (watch subscribes).
    sentinel_router(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> data,
                    std::shared_ptr<const connection_settings> sentinel,
                    std::shared_ptr<const connection_settings> watch, std::size_t connections);
    ~sentinel_router() override;

    void start() override;
    void stop() override;
    bool ready() const noexcept override;
    boost::system::error_code last_error() const override;
    void submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) override;
    topology_status status() const override;
    std::vector<endpoint> primaries() const override;

    void on_ready(connection& c) override;
    void on_down(connection& c, const boost::system::error_code& why) override;
    void on_push(connection& c, reply&& message) override;
    void on_readonly(connection& c) override;

private:
    using clock = connection::clock;

    void open_sentinel();
    void next_sentinel();
    void lookup();
    void on_lookup(std::uint64_t gen, const boost::system::error_code& ec, const reply& r);
    void use_primary(const endpoint& where, std::string_view why);
    void tick();
    void on_tick();
    void update_ready() noexcept;
    bool is_sentinel(const connection& c) const noexcept { return &c == query_.get() || &c == watch_.get(); }

    boost::asio::io_context& ioc_;
    std::shared_ptr<const connection_settings> data_;
    std::shared_ptr<const connection_settings> sentinel_;
    std::shared_ptr<const connection_settings> watch_settings_;
    const std::size_t connections_;
    boost::asio::steady_timer timer_;

    // The owning thread only.
    std::size_t current_ = 0;         // the sentinel in use
    std::uint64_t sentinel_gen_ = 0;  // bumped at each switch; older lookups are ignored
    std::shared_ptr<connection> query_;
    std::shared_ptr<connection> watch_;
    std::unique_ptr<node_pool> primary_;
    endpoint primary_at_;
    // Pools of former primaries, stopped once what was sent to them has had
    // its time (a demoted node answers READONLY: nothing written).
    std::vector<std::pair<std::unique_ptr<node_pool>, clock::time_point>> retiring_;
    bool stopped_ = false;
    bool want_lookup_ = true;
    bool lookup_in_flight_ = false;
    bool sentinel_down_ = false;
    clock::time_point last_lookup_{};
    clock::time_point next_switch_{};
    std::size_t failed_in_a_row_ = 0;  // sentinels left since the last one that answered
    backoff round_backoff_;            // between rounds over every sentinel
    clock::time_point next_periodic_{};

    // Read by other threads.
    std::atomic<bool> ready_{false};
    mutable std::mutex status_mutex_;
    std::string primary_text_;              // guarded by status_mutex_
    boost::system::error_code last_error_;  // guarded by status_mutex_
};

}  // namespace sessiond::redis
