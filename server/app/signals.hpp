#pragma once
// The signals a running daemon answers, on thread 0: SIGINT and SIGTERM
// drain the listeners then stop every thread (a second one stops at once),
// SIGHUP reloads (app/reload.hpp), SIGUSR1 and SIGUSR2 are logged and
// ignored.

#include <atomic>
#include <csignal>
#include <cstddef>

#include <boost/asio/signal_set.hpp>

#include "app/reload.hpp"
#include "app/threads.hpp"

namespace sessiond::app {

class signal_handlers {
public:
    // Handles the signals from now until `io` stops; `io` outlives this.
    signal_handlers(io_threads& io, reload_target reload);
    signal_handlers(const signal_handlers&) = delete;
    signal_handlers& operator=(const signal_handlers&) = delete;

private:
    void on_stop(const boost::system::error_code& ec, int sig);
    void on_hangup(const boost::system::error_code& ec);
    void on_ignored(const boost::system::error_code& ec, int sig);

    io_threads& io_;
    reload_target reload_;
    boost::asio::signal_set stop_;
    boost::asio::signal_set hangup_;
    boost::asio::signal_set ignored_;
    bool draining_ = false;
    std::atomic<std::size_t> drained_{0};
};

}  // namespace sessiond::app
