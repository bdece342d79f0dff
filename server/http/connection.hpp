#pragma once
// One client connection as the server's three parts see it: the listener
// admits it (listener.cpp), its coroutine serves it (connection.cpp), the
// drain ends it (drain.cpp). Private to http::server.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <chrono>
#include <memory>

#include "common/coarse_clock.hpp"
#include "http/exchange_fsm.hpp"
#include "http/server.hpp"

namespace sessiond::http {

// One client connection. Its deadlines are coarse: the server's sweep
// (sweep_loop) cancels the socket of a connection past its deadline, which
// costs one store per operation instead of a timer per operation. Touched
// only on the server's thread, like the server's table of connections.
struct server::connection {
    using clock = std::chrono::steady_clock;
    connection(boost::asio::ip::tcp::socket s, boost::asio::ip::address from, const exchange_limits& limits,
               bool in_reserve)
        : socket(std::move(s)), client(std::move(from)), fsm(limits, in_reserve), reserved(in_reserve) {}
    // Three per request: the coarse clock, as the sweep is coarser still.
    void expires_after(clock::duration d) { deadline = coarse_steady_now() + d; }

    boost::asio::ip::tcp::socket socket;
    boost::asio::ip::address client;
    std::size_t client_slot = client_counts::uncounted;
    clock::time_point deadline = clock::time_point::max();
    std::unique_ptr<peer_certificate> peer;  // mTLS: the verified client certificate's names
    exchange_fsm fsm;                        // what its exchanges do next
    bool idle = false;                       // waiting for a request
    bool reserved = false;                   // in the probe reserve: one probe, then close
    stream_writer* streaming = nullptr;      // its streamed response's writer, while it runs (the drain stops it)
    connection* idle_older = nullptr;        // the server's list of idle connections
    connection* idle_newer = nullptr;
};

// Ends a connection after a response so that the peer reads the response
// rather than a reset: stop sending, then discard what it still sends for a
// short while (bounded by `set_deadline`, in bytes too).
template <class Stream, class SetDeadline>
boost::asio::awaitable<void> close_gracefully(Stream& stream, boost::asio::ip::tcp::socket& socket,
                                              SetDeadline set_deadline) {
    boost::system::error_code ec;
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
    if (!ec) {
        set_deadline(std::chrono::milliseconds(500));
        std::array<char, 4096> sink;
        for (std::size_t total = 0; total < 256 * 1024;) {
            auto [rec, n] = co_await stream.async_read_some(boost::asio::buffer(sink),
                                                            boost::asio::as_tuple(boost::asio::use_awaitable));
            if (rec) break;
            total += n;
        }
    }
    socket.close(ec);
}

}  // namespace sessiond::http
