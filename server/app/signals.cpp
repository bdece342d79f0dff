#include "app/signals.hpp"

#include <cstdint>
#include <utility>

#include "log/log.hpp"

namespace sessiond::app {

signal_handlers::signal_handlers(io_threads& io, reload_target reload)
    : io_(io),
      reload_(std::move(reload)),
      stop_(io.workers[0]->ioc, SIGINT, SIGTERM),
      // Runs on thread 0: a few small local files, once per operator signal.
      hangup_(io.workers[0]->ioc, SIGHUP),
      // SIGUSR1 and SIGUSR2 mean nothing to sessiond; by default either
      // would end the process (a stray `kill -USR1`, a supervisor's habit).
      ignored_(io.workers[0]->ioc, SIGUSR1, SIGUSR2) {
    stop_.async_wait([this](const boost::system::error_code& ec, int sig) { on_stop(ec, sig); });
    hangup_.async_wait([this](const boost::system::error_code& ec, int) { on_hangup(ec); });
    ignored_.async_wait([this](const boost::system::error_code& ec, int sig) { on_ignored(ec, sig); });
}

void signal_handlers::on_stop(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (draining_) {
        log::warn("second signal, stopping now", {{"signal", sig}});
        io_.stop();
        return;
    }
    draining_ = true;
    log::info("shutting down", {{"signal", sig},
                                {"connections", io_.open_connections.load()},
                                {"drain_timeout_ms", static_cast<std::int64_t>(io_.cfg.http.drain_timeout.count())}});
    if (io_.ops.server) io_.ops.server->shutdown([] {});
    // Stopped once every server has drained and every webhook deliverer has
    // released its lease (so that another instance takes over at once).
    const std::size_t parts = io_.workers.size() + (io_.hooks ? 1 : 0);
    auto finished = [this, parts] {
        if (drained_.fetch_add(1) + 1 == parts) io_.stop();
    };
    if (io_.hooks) io_.hooks->stop(finished);
    for (auto& w : io_.workers)
        w->server->shutdown(finished);
    stop_.async_wait([this](const boost::system::error_code& e, int s) { on_stop(e, s); });
}

void signal_handlers::on_hangup(const boost::system::error_code& ec) {
    if (ec) return;
    reload_on_signal(reload_);
    hangup_.async_wait([this](const boost::system::error_code& e, int) { on_hangup(e); });
}

void signal_handlers::on_ignored(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::warn("signal ignored: sessiond has no use for it (SIGHUP reloads, SIGTERM stops)", {{"signal", sig}});
    ignored_.async_wait([this](const boost::system::error_code& e, int s) { on_ignored(e, s); });
}

}  // namespace sessiond::app
