// The graceful shutdown: stop accepting (serving what the kernel already
// queued), tell each connection's exchanges that the drain began, and end
// when the last connection closes or the drain deadline closes the rest.
#include "http/server.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>

#include "http/connection.hpp"
#include "log/log.hpp"

namespace sessiond::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

void server::shutdown(std::function<void()> on_drained) {
    if (shutdown_requested_.exchange(true)) return;
    asio::post(ioc_, [this, done = std::move(on_drained)]() mutable { begin_drain(std::move(done)); });
}

void server::begin_drain(std::function<void()> on_drained) {
    stopping_ = true;
    beast::error_code ignored;
    // Connections the kernel completed but nobody accepted yet would be
    // reset by the close, with their requests in them: serve them too.
    acceptor_.non_blocking(true, ignored);
    for (std::size_t n = 0; n < cfg_.max_connections; ++n) {
        tcp::socket socket(ioc_);
        beast::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec) break;
        admit(std::move(socket));
    }
    acceptor_.close(ignored);
    on_drained_ = std::move(on_drained);
    drain_timer_ = std::make_unique<asio::steady_timer>(ioc_, cfg_.drain_timeout);
    drain_timer_->async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        if (!connections_.empty())
            log::warn("drain deadline reached, closing connections", {{"connections", connections_.size()}});
        for (auto& [ptr, weak] : connections_)
            if (auto c = weak.lock()) {
                beast::error_code ignored;
                c->socket.close(ignored);
            }
        finish_drain();
    });
    // Idle keep-alive connections close after drain_linger without a
    // request; busy ones after the requests they received.
    for (auto& [ptr, weak] : connections_)
        if (auto c = weak.lock()) {
            c->fsm.on_drain_begun();
            // A streamed response ends now: its producer writes its last
            // words, and the connection closes.
            if (c->streaming) c->streaming->stop();
            if (c->idle)
                c->expires_after(
                    std::min<connection::clock::duration>(c->deadline - coarse_steady_now(), c->fsm.timeout()));
        }
    if (active_.load(std::memory_order_relaxed) == 0) finish_drain();
}

void server::finish_drain() {
    if (auto done = std::exchange(on_drained_, nullptr)) done();
}

}  // namespace sessiond::http
