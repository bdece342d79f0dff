#include "redis/standalone_router.hpp"

#include <functional>
#include <string_view>

#include "common/coarse_clock.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {

standalone_router::standalone_router(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings,
                                     std::size_t connections)
    : io_ex_(ioc.get_executor()), settings_(std::move(settings)) {
    connections_.reserve(connections);
    for (std::size_t i = 0; i < connections; ++i)
        connections_.push_back(std::make_shared<connection>(ioc, settings_, i));
}

standalone_router::~standalone_router() = default;

void standalone_router::start() {
    for (auto& c : connections_)
        c->start();
}

void standalone_router::stop() {
    for (auto& c : connections_)
        c->stop();
}

bool standalone_router::ready() const noexcept {
    for (const auto& c : connections_)
        if (c->ready()) return true;
    return false;
}

boost::system::error_code standalone_router::last_error() const {
    for (const auto& c : connections_)
        if (auto ec = c->last_error()) return ec;
    return {};
}

void standalone_router::submit(const command& cmd, detail::completion&& done) {
    const std::size_t n = connections_.size();
    const std::size_t home = cmd.has_key() ? std::hash<std::string_view>{}(cmd.key()) % n : next_++ % n;
    const auto timeout = settings_->cfg.command_timeout;
    const auto deadline = timeout.count() > 0 ? coarse_steady_now() + timeout : connection::clock::time_point::max();
    boost::system::error_code first;
    bool any_busy = false;
    for (std::size_t i = 0; i < n; ++i) {
        const auto ec = connections_[(home + i) % n]->submit(cmd, done, deadline);
        if (!ec) return;
        if (i == 0) first = ec;
        any_busy = any_busy || ec == error::busy;
    }
    done.post(any_busy ? make_error_code(error::busy) : first, io_ex_);
}

}  // namespace sessiond::redis
