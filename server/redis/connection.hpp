#pragma once
// One pipelined connection to Redis: connects (TCP, TLS, AUTH/SELECT/SETNAME),
// writes queued commands in batches, matches replies in order, times out stuck
// commands, PINGs when idle and reconnects with backoff.
//
// Single-threaded by design: a connection belongs to one io_context, run by
// one thread, and everything but start(), stop() and ready() must be called
// on that thread. Its state needs no lock and its handlers no strand.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/backoff.hpp"
#include "redis/config.hpp"
#include "redis/handshake.hpp"
#include "redis/pipeline.hpp"
#include "redis/reply_decoder.hpp"

namespace sessiond::redis {

// What every connection of one kind (data node, sentinel, sentinel watch)
// shares; immutable after construction.
struct connection_settings {
    config cfg;
    std::shared_ptr<boost::asio::ssl::context> tls;  // null without TLS
    std::vector<handshake_step> handshake;
    std::chrono::milliseconds tick{};
    // Subscribed (SUBSCRIBE in the handshake): "message" arrays are pushed to
    // the observer instead of being matched to commands.
    bool subscriber = false;
};

class connection;

// Told what happens to a connection, on its thread; for the routers that
// follow a topology. Every method does nothing by default.
class connection_observer {
public:
    virtual ~connection_observer() = default;
    virtual void on_ready(connection&) {}
    // The connection failed (not when stopped); it reconnects by itself.
    virtual void on_down(connection&, const boost::system::error_code&) {}
    // A message of a subscribed connection.
    virtual void on_push(connection&, reply&&) {}
    // Redis answered READONLY: the node is no longer the primary.
    virtual void on_readonly(connection&) {}
};

class connection : public std::enable_shared_from_this<connection> {
public:
    using clock = pipeline::clock;

    // `where`: the node; `observer`: told of its events (may be empty).
    connection(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings, endpoint where,
               std::size_t index, std::weak_ptr<connection_observer> observer = {});
    ~connection();

    // Both post to the connection's thread, so any thread may call them.
    void start();  // connects in the background
    void stop();   // fails pending commands with operation_aborted; no reconnect

    // Connected, authenticated, taking commands (any thread).
    bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }
    std::size_t index() const noexcept { return index_; }
    const endpoint& where() const noexcept { return where_; }
    // Why the last connection attempt or connection failed (empty if none since
    // the last success).
    boost::system::error_code last_error() const;

    // Queues a command. On error (not connected, busy, or the
    // authentication error that keeps this connection down) `done` is left
    // with the caller.
    boost::system::error_code submit(const command& cmd, detail::completion& done, clock::time_point deadline);

private:
    using executor_type = boost::asio::io_context::executor_type;
    using tcp = boost::asio::ip::tcp;

    // One connection attempt's socket and buffers. Every handler of an attempt
    // holds it, so it outlives operations still finishing after a reset.
    struct transport {
        transport(const executor_type& ex, boost::asio::ssl::context* ctx);
        tcp::socket sock;
        std::optional<boost::asio::ssl::stream<tcp::socket&>> tls;
        std::string write_buf;
        std::array<char, 64 * 1024> read_buf;
    };
    using transport_ptr = std::shared_ptr<transport>;

    enum class state { idle, connecting, handshaking, ready, waiting, stopped };

    void do_connect();
    void on_connected(std::uint64_t gen, const transport_ptr& t);
    void do_handshake(const transport_ptr& t);
    void on_handshake_reply(std::uint64_t gen, std::size_t step, const boost::system::error_code& ec, const reply& r);
    void become_ready();
    void do_flush(bool force);
    void on_write(std::uint64_t gen, const boost::system::error_code& ec);
    void do_read(const transport_ptr& t);
    void on_read(std::uint64_t gen, const transport_ptr& t, const boost::system::error_code& ec, std::size_t n);
    void take_pushes();
    void do_tick();
    void on_tick();
    void send_ping();
    void fail(const boost::system::error_code& why);
    void schedule_flush();
    void log(log_level level, std::string_view message, std::initializer_list<log_field> fields) const;
    // Counts and logs (through the injected logger) an exception that
    // escaped `task`; the caller goes on.
    void contained(std::string_view task, const std::exception_ptr& e) const noexcept;
    // Completes a command's handler, containing what it throws.
    void complete(detail::completion& done, const boost::system::error_code& ec, reply r) noexcept;
    // Tells the observer, if any, containing what it throws.
    template <class Event>
    void notify(std::string_view task, Event&& event) noexcept;

    executor_type io_ex_;
    std::shared_ptr<const connection_settings> settings_;
    const endpoint where_;
    const std::size_t index_;
    std::weak_ptr<connection_observer> observer_;
    std::atomic<bool> ready_{false};  // read by other threads (/readyz)

    pipeline pipe_;
    boost::system::error_code last_error_;
    state state_ = state::idle;
    std::uint64_t gen_ = 0;  // connection attempt; handlers of older ones do nothing
    transport_ptr transport_;
    tcp::resolver resolver_;
    boost::asio::steady_timer timer_;
    reply_decoder decoder_;
    backoff backoff_;
    clock::time_point connect_deadline_{};
    clock::time_point retry_at_{};
    bool writing_ = false;
    bool was_up_ = false;      // for logging transitions only once
    bool ever_ready_ = false;  // a later ready is a reconnect (sessiond_redis_reconnects_total)
    std::vector<reply> replies_;
    std::vector<pipeline::entry> done_;
};

}  // namespace sessiond::redis
