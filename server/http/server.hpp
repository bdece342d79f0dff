#pragma once
// The HTTP/1.1 server: an accept loop that never dies (an exception that
// escapes it is logged and the loop restarts), one coroutine per
// connection (keep-alive, pipelining, size limits, read, idle and write
// deadlines), and a graceful shutdown that drains in-flight requests within
// a deadline. Its parts: listener.cpp (accept loop, admission, limits),
// connection.cpp (one connection's coroutine, which asks exchange_fsm what
// to do next), drain.cpp (the graceful shutdown).
//
// sessiond runs one server per I/O thread, each on its own io_context with
// its own listening socket on the same port (SO_REUSEPORT): the kernel
// spreads connections over the threads and a request never changes thread.
// Each connection's handlers are thus serialized by construction (the
// io_context is an implicit strand, run by one thread only), without the
// cost of a strand object; anything from another thread reaches a
// connection by asio::post to its executor. The server's own bookkeeping
// (open connections, the drain) is likewise touched only on its thread:
// shutdown() posts there, and the counts other threads read are atomics.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "http/client_counts.hpp"
#include "http/exchange_fsm.hpp"
#include "http/router.hpp"
#include "http/tls.hpp"

namespace sessiond::http {

class server {
public:
    // `open_connections` and `per_client` are shared by the servers of all
    // threads: the connection limits are for the process.
    server(boost::asio::io_context& ioc, const http_config& cfg, const router& routes, bool access_log,
           std::atomic<std::size_t>& open_connections, client_counts& per_client);

    // Beyond max-connections (or a client's cap), with no idle connection to
    // reclaim, a new connection may still take one of these slots; it is
    // served one health probe (GET or HEAD of a probe route) within
    // `probe_timeout`, and anything else gets 503. Per server.
    static constexpr std::size_t probe_reserve = 4;
    static constexpr std::size_t probe_reserve_per_client = 2;
    static constexpr std::chrono::milliseconds probe_timeout{2000};
    // Refused connections that linger (to deliver their 503 before the
    // close) at most; beyond, they are closed once the 503 is sent. Per server.
    static constexpr std::size_t lingering_refusals = 16;
    // Draining, an idle keep-alive connection waits this long (at most the
    // drain deadline) for a request before it closes: a client that read a
    // keep-alive response before the drain began may already be sending its
    // next request, which is then answered (with Connection: close).
    static constexpr std::chrono::milliseconds drain_linger{500};
    // Descriptors a server may hold beyond its share of max-connections.
    static constexpr std::size_t spare_descriptors = probe_reserve + lingering_refusals;
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // HTTPS: every connection is TLS, with the provider's context current
    // when it is accepted. Set before start(); the provider outlives the server.
    void use_tls(std::shared_ptr<const tls_provider> tls) { tls_ = std::move(tls); }

    // Binds and listens (throws std::system_error on failure), then accepts.
    // `port` overrides the configured one (the servers of later threads bind
    // the port the first one got); `reuse_port` lets them share it.
    void start(std::optional<unsigned short> port = std::nullopt, bool reuse_port = false);
    // The port actually bound (useful with port 0).
    unsigned short port() const { return port_; }

    // Stops accepting (connections already queued in the listener are
    // accepted and served first), gives idle connections drain_linger for a
    // request, lets requests in flight and requests already received finish
    // (their connections then close) and calls `on_drained` once, on the
    // server's thread, when the last connection is gone or the drain deadline
    // forced the rest closed. Any thread; the work is posted to the server's
    // thread. Calls after the first are ignored.
    void shutdown(std::function<void()> on_drained);

    // Connections of this server (any thread).
    std::size_t active_connections() const { return active_.load(std::memory_order_relaxed); }

    // Called on the server's thread with each accepted client's address,
    // before the connection is counted or served (instrumentation; tests make
    // it throw to exercise the accept loop's restart). Set before start().
    void on_accept(std::function<void(const boost::asio::ip::address&)> hook) { on_accept_ = std::move(hook); }

    // An accept loop or deadline sweep that ended with an exception is
    // logged and restarted after this pause (so a failure that repeats at
    // once cannot spin).
    static constexpr std::chrono::milliseconds restart_pause{200};

private:
    struct connection;

    // Spawns `loop`; an exception that ends it is logged, and the loop is
    // spawned again after restart_pause unless the server is stopping.
    void keep_running(std::string_view task, boost::asio::awaitable<void> (server::*loop)());
    boost::asio::awaitable<void> accept_loop();
    // Serves an accepted connection (or refuses it, over the limits).
    void admit(boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> sweep_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<connection> c);
    template <class Stream>
    boost::asio::awaitable<void> serve_on(connection& c, Stream& stream);
    void refuse(boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> linger(boost::asio::ip::tcp::socket socket);
    boost::asio::awaitable<void> handle(request& req, response& res, std::string_view request_id,
                                        router::match_result& m, const connection& c, stream_producer& producer);
    // Runs a streamed response's producer, then writes the last chunk.
    template <class Stream>
    boost::asio::awaitable<void> stream_body(connection& c, Stream& stream, stream_producer& producer, bool chunked);
    bool reclaim_idle();
    void set_idle(connection& c, bool idle);
    bool reserve_admits(const boost::asio::ip::address& client) const;
    void on_connection_closed(connection* c);
    void begin_drain(std::function<void()> on_drained);
    void finish_drain();
    // A connection's deadlines (drain_linger within the drain deadline).
    exchange_limits limits(bool reserved) const noexcept;

    boost::asio::io_context& ioc_;
    const http_config& cfg_;
    const router& routes_;
    const bool access_log_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;

    std::atomic<std::size_t> active_{0};           // written on the server's thread only
    std::atomic<std::size_t>& open_connections_;   // shared by every server
    client_counts& per_client_;                    // shared by every server
    std::atomic<bool> shutdown_requested_{false};  // shutdown() was called (any thread)
    // The server's thread only.
    bool stopping_ = false;
    std::unordered_map<connection*, std::weak_ptr<connection>> connections_;
    // Idle keep-alive connections, oldest first (linked through the connections).
    connection* idle_oldest_ = nullptr;
    connection* idle_newest_ = nullptr;
    std::vector<connection*> reserved_;  // connections in the probe reserve
    std::size_t lingering_ = 0;          // refusals still delivering their 503
    std::function<void()> on_drained_;
    std::unique_ptr<boost::asio::steady_timer> drain_timer_;
    std::function<void(const boost::asio::ip::address&)> on_accept_;
    std::shared_ptr<const tls_provider> tls_;
};

}  // namespace sessiond::http
