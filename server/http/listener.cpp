// The listener: binding, the accept loop (restarted if it throws), admission
// within the connection limits (per process, per client, the probe reserve,
// reclaiming idle connections), the refusal of what is over them, and the
// deadline sweep.
#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

#include "http/http_metrics.hpp"
#include "http/connection.hpp"
#include "http/exchange.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"

namespace sessiond::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

server::server(asio::io_context& ioc, const http_config& cfg, const router& routes, bool access_log,
               std::atomic<std::size_t>& open_connections, client_counts& per_client)
    : ioc_(ioc),
      cfg_(cfg),
      routes_(routes),
      access_log_(access_log),
      acceptor_(ioc),
      open_connections_(open_connections),
      per_client_(per_client) {}

server::~server() = default;

asio::awaitable<void> server::sweep_loop() {
    // A quarter of the shortest timeout, within [10 ms, 250 ms]: a deadline
    // is enforced at most that late.
    auto shortest = std::min({cfg_.read_timeout, cfg_.idle_timeout, cfg_.write_timeout});
    auto tick = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(10),
                                                      std::chrono::milliseconds(250));
    asio::steady_timer timer(ioc_);
    std::vector<std::shared_ptr<connection>> expired;
    for (;;) {
        timer.expires_after(tick);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec) co_return;
        auto now = coarse_steady_now();
        for (auto& [ptr, weak] : connections_)
            if (ptr->deadline <= now)
                if (auto c = weak.lock()) expired.push_back(std::move(c));
        for (auto& c : expired) {
            c->deadline = connection::clock::time_point::max();
            beast::error_code ignored;
            c->socket.cancel(ignored);
        }
        expired.clear();
    }
}

void server::start(std::optional<unsigned short> port, bool reuse_port) {
    auto address = asio::ip::make_address(cfg_.address);
    tcp::endpoint endpoint(address, port.value_or(cfg_.port));
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    if (reuse_port) acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    keep_running("http accept loop", &server::accept_loop);
    keep_running("http deadline sweep", &server::sweep_loop);
}

void server::keep_running(std::string_view task, asio::awaitable<void> (server::*loop)()) {
    asio::co_spawn(ioc_, (this->*loop)(), [this, task, loop](const std::exception_ptr& e) {
        if (!e) return;  // ended by the shutdown
        log::contained_exception(task, e);
        if (stopping_) return;
        // After a pause: an exception that comes back at once must not spin.
        auto pause = std::make_shared<asio::steady_timer>(ioc_, restart_pause);
        pause->async_wait([this, task, loop, pause](const beast::error_code& ec) {
            if (ec || stopping_) return;
            log::warn("restarting after an exception", {{"task", task}});
            keep_running(task, loop);
        });
    });
}

asio::awaitable<void> server::accept_loop() {
    asio::steady_timer backoff(acceptor_.get_executor());
    std::chrono::steady_clock::time_point last_accept_log{};
    for (;;) {
        // The connection's executor is its thread's io_context, which only
        // that thread runs: an implicit strand, without a strand's cost.
        auto [ec, socket] = co_await acceptor_.async_accept(ioc_, use_tuple);
        if (stopping_) {
            // Accepted as the drain began: its request may be on its way.
            if (!ec) admit(std::move(socket));
            co_return;
        }
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            // Once a second at most: a full descriptor table fails every accept.
            auto now = std::chrono::steady_clock::now();
            if (now - last_accept_log >= std::chrono::seconds(1)) {
                last_accept_log = now;
                log::warn("accept failed", {{"error", ec.message()}});
            }
            // Out of descriptors or memory: new connections cannot be served
            // now, but they can in a moment; keep the loop alive.
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        admit(std::move(socket));
    }
}

void server::admit(tcp::socket socket) {
    beast::error_code ignored;
    auto client = socket.remote_endpoint(ignored).address();
    if (on_accept_) on_accept_(client);
    // A client at its own cap is refused even while the process has
    // room; at the process limit the oldest idle connection makes room.
    auto slot = per_client_.try_add(client);
    bool over = !slot;
    if (!over && open_connections_.load(std::memory_order_relaxed) >= cfg_.max_connections) over = !reclaim_idle();
    bool reserved = over && reserve_admits(client);
    if (over && !reserved) {
        if (slot) per_client_.remove(*slot);
        metrics::connections_refused.inc();
        refuse(std::move(socket));
        return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<connection>(std::move(socket), std::move(client), limits(reserved), reserved);
    c->client_slot = slot.value_or(client_counts::uncounted);
    if (stopping_) c->fsm.on_drain_begun();
    if (reserved) reserved_.push_back(c.get());
    c->expires_after(cfg_.idle_timeout);
    connections_.emplace(c.get(), c);
    active_.store(active_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    metrics::connections_accepted.inc();
    auto* raw = c.get();
    asio::co_spawn(ioc_, serve(std::move(c)), [this, raw](const std::exception_ptr& e) {
        if (!e) return;
        // serve() contains what its requests throw; this is for what
        // escaped it: the connection is released, the server goes on.
        log::contained_exception("http connection", e);
        if (auto it = connections_.find(raw); it != connections_.end()) {
            if (auto alive = it->second.lock()) {
                beast::error_code ignored;
                alive->socket.close(ignored);
            }
            on_connection_closed(raw);
        }
    });
}

bool server::reclaim_idle() {
    for (auto* c = idle_oldest_; c; c = c->idle_newer) {
        // Bytes waiting make it a request on its way, not an idle connection;
        // a reserve connection frees no slot.
        beast::error_code ec;
        if (c->reserved || c->socket.available(ec) > 0 || ec) continue;
        set_idle(*c, false);
        c->socket.close(ec);  // its read ends (aborted), its coroutine releases the slot
        metrics::connections_reclaimed.inc();
        return true;
    }
    return false;
}

void server::set_idle(connection& c, bool idle) {
    if (c.idle == idle) return;
    c.idle = idle;
    if (idle) {
        c.idle_older = idle_newest_;
        c.idle_newer = nullptr;
        (idle_newest_ ? idle_newest_->idle_newer : idle_oldest_) = &c;
        idle_newest_ = &c;
    } else {
        (c.idle_older ? c.idle_older->idle_newer : idle_oldest_) = c.idle_newer;
        (c.idle_newer ? c.idle_newer->idle_older : idle_newest_) = c.idle_older;
        c.idle_older = c.idle_newer = nullptr;
    }
}

bool server::reserve_admits(const asio::ip::address& client) const {
    if (reserved_.size() >= probe_reserve) return false;
    auto same = std::count_if(reserved_.begin(), reserved_.end(), [&](auto* c) { return c->client == client; });
    return static_cast<std::size_t>(same) < probe_reserve_per_client;
}

void server::refuse(tcp::socket socket) {
    beast::error_code ec;
    if (tls_) {
        // Not a word of plain text to a TLS client: the close is the refusal.
        socket.close(ec);
        return;
    }
    response res{status::service_unavailable, 11};
    res.set(field::retry_after, "1");
    set_final_problem(res, sessiond::error::too_many_connections, "connection limit reached, retry later", {}, {});
    std::string out;
    serialize(res, out);
    // A fresh socket's send buffer takes the few hundred bytes at once: no
    // coroutine, no descriptor held while it is written.
    socket.non_blocking(true, ec);
    auto sent = ec ? 0 : socket.write_some(asio::buffer(out), ec);
    if (!ec && sent == out.size() && lingering_ < lingering_refusals) {
        ++lingering_;
        asio::co_spawn(ioc_, linger(std::move(socket)), log::contained{"http refusal linger"});
        return;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
}

asio::awaitable<void> server::linger(tcp::socket socket) {
    // Released however the coroutine ends, an exception included.
    struct release {
        std::size_t& lingering;
        ~release() { --lingering; }
    } slot{lingering_};
    beast::tcp_stream stream(std::move(socket));
    co_await close_gracefully(stream, stream.socket(), [&](auto d) { stream.expires_after(d); });
}

exchange_limits server::limits(bool reserved) const noexcept {
    return {reserved ? std::min(cfg_.read_timeout, probe_timeout) : cfg_.read_timeout, cfg_.idle_timeout,
            cfg_.write_timeout,
            std::min(drain_linger, std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.drain_timeout))};
}

}  // namespace sessiond::http
