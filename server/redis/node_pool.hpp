#pragma once
// The connections of one I/O thread to one Redis node: a key's commands go to
// the connection its hash picks (so they keep their order), or to the next
// ready one while that one is down; keyless commands go round-robin.
// Single-threaded like its connections.

#include <memory>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/contained.hpp"

#include "redis/connection.hpp"

namespace sessiond::redis {

// The deadline of a command submitted now: `timeout` from now (0 = none).
connection::clock::time_point command_deadline(std::chrono::milliseconds timeout) noexcept;

// Calls step(owner) every `period` on the timer's executor while `owner`
// lives and step returns true; an exception that escapes it is contained,
// logged as `task`, and the ticking goes on. The routers' periodic work.
template <class Owner, class Step>
void tick_every(boost::asio::steady_timer& timer, std::chrono::milliseconds period, std::weak_ptr<Owner> owner,
                const logger& log, std::string_view task, Step step) {
    timer.expires_after(period);
    timer.async_wait([&timer, period, owner = std::move(owner), &log, task, step](const boost::system::error_code& ec) {
        auto self = owner.lock();
        if (ec || !self) return;
        bool again = true;
        try {
            again = step(*self);
        } catch (...) {
            const std::string text = contain_exception(std::current_exception());
            emit(log, log_level::error, "exception contained", {{"task", task}, {"error", text}});
        }
        if (again) tick_every(timer, period, owner, log, task, step);
    });
}

class node_pool {
public:
    using clock = connection::clock;

    node_pool(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings, endpoint where,
              std::size_t connections, const std::weak_ptr<connection_observer>& observer = {});
    ~node_pool();
    node_pool(const node_pool&) = delete;
    node_pool& operator=(const node_pool&) = delete;

    void start();
    void stop();
    // At least one connection is ready to take commands (any thread).
    bool ready() const noexcept;
    boost::system::error_code last_error() const;
    const endpoint& where() const noexcept { return where_; }

    // Queues `cmd` on the connection `route` (a key; empty = round-robin)
    // picks, or the next ready one. On error (busy, not connected) `done` is
    // left with the caller.
    //
    // durable (with config::wait_replicas > 0): WAIT follows `cmd` on the same
    // connection, and `done` gets error::not_acknowledged (with `cmd`'s reply)
    // when fewer replicas than required acknowledged it within wait_timeout.
    boost::system::error_code submit(const command& cmd, std::string_view route, detail::completion& done,
                                     clock::time_point deadline, bool durable = false);
    // `first` (ASKING), then `cmd`, back to back on one connection; `first`'s
    // reply is dropped (an error there shows in `cmd`'s reply).
    boost::system::error_code submit_after(const command& first, const command& cmd, std::string_view route,
                                           detail::completion& done, clock::time_point deadline);

    // The deadline of a command submitted now.
    clock::time_point deadline() const noexcept;

private:
    template <class Push>
    boost::system::error_code spread(std::string_view route, Push&& push);

    boost::system::error_code submit_durable(connection& c, const command& cmd, detail::completion& done,
                                             clock::time_point deadline);

    boost::asio::io_context::executor_type io_ex_;
    std::shared_ptr<const connection_settings> settings_;
    endpoint where_;
    command wait_;  // WAIT replicas timeout
    std::vector<std::shared_ptr<connection>> connections_;
    std::size_t next_ = 0;  // round-robin position (the owning thread only)
};

}  // namespace sessiond::redis
