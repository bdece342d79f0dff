#pragma once
// The Redis client sessiond uses: a pool of pipelined connections on the
// server's own io_context, with asynchronous commands and Lua scripts.
//
// Threads: single-threaded by design. A client and its connections belong to
// one io_context, run by one thread (sessiond has one client per I/O thread);
// they keep their state without locks or strands. Call async_exec,
// async_eval, last_error and settings on that thread only; a caller on
// another thread posts to the io_context first. start(), stop() and ready()
// may be called from any thread (they post, or read an atomic).
//
// Completions: a handler runs on its associated executor: a coroutine
// (use_awaitable) resumes on its own executor, a callback bound with
// bind_executor on that executor. A handler without an associated executor
// runs on the io_context, in practice inline when the reply is read: it must
// not block. No handler is ever invoked from inside async_exec/async_eval;
// errors decided at once (busy, not_connected) are posted.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "redis/command.hpp"
#include "redis/completion.hpp"
#include "redis/config.hpp"
#include "redis/error.hpp"
#include "redis/reply.hpp"
#include "redis/router.hpp"
#include "redis/script.hpp"
#include "redis/tracking.hpp"

namespace sessiond::redis {

class client;

namespace detail {
// EVALSHA; on NOSCRIPT, SCRIPT LOAD and EVALSHA once more.
struct eval_op {
    client* owner;
    script code;
    // On the heap: `self` (holding this op) moves into the queue while the
    // command is being submitted.
    std::unique_ptr<const command> evalsha;
    bool durable = false;
    int step = 0;

    template <class Self>
    void operator()(Self& self);
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec, reply r);
};
}  // namespace detail

class client {
public:
    // Reads cfg.password_file and the TLS files (start-up only; throws
    // std::system_error / std::invalid_argument on failure). io_threads: how
    // many connections to open when cfg.connections is 0.
    client(boost::asio::io_context& ioc, config cfg, std::size_t io_threads);
    ~client();  // stop()
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Connects every connection in the background; returns at once.
    void start();
    // Closes every connection without reconnecting. Commands pending or sent
    // afterwards complete with boost::asio::error::operation_aborted.
    void stop();
    // At least one connection is up and authenticated (/readyz).
    bool ready() const noexcept;
    // The most recent connection failure, empty if none (logs, /readyz detail).
    boost::system::error_code last_error() const;
    // The deployment as this client sees it (any thread).
    topology_status status() const;
    const config& settings() const noexcept { return cfg_; }
    std::size_t connection_count() const noexcept { return connections_; }

    // Sends one command. Signature: void(boost::system::error_code, reply).
    // An error reply from Redis completes with its error code (error::noperm,
    // error::readonly, …, error::server_error) and the reply holding the message.
    template <class CompletionToken>
    auto async_exec(command cmd, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, reply)>(
            [this](auto handler, const command& c) {
                submit(c, c.key(), detail::completion(std::move(handler)), false);
            },
            token, std::move(cmd));
    }

    // EVALSHA sha numkeys keys… args…, loading the script (SCRIPT LOAD, on
    // every primary: a redirect may send the EVALSHA to another node than the
    // map names) and retrying once when Redis answers NOSCRIPT. Routed by
    // the first key.
    // Signature: void(boost::system::error_code, reply).
    template <class CompletionToken>
    auto async_eval(const script& s, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                    CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code, reply)>(
            detail::eval_op{this, s, std::make_unique<const command>(make_evalsha(s, keys, args)), false}, token, ioc_);
    }

    // async_eval of a script that writes what must survive a failover: with
    // config::wait_replicas, its reply comes once that many replicas have the
    // write, or error::not_acknowledged when they do not within wait_timeout.
    template <class CompletionToken>
    auto async_eval_durable(const script& s, const std::vector<std::string>& keys, const std::vector<std::string>& args,
                            CompletionToken&& token) {
        return boost::asio::async_compose<CompletionToken, void(boost::system::error_code, reply)>(
            detail::eval_op{this, s, std::make_unique<const command>(make_evalsha(s, keys, args)), true}, token, ioc_);
    }

    // Client-side caching: invalidation links to every primary, told of
    // every change to a key under `prefix` (tracking.hpp); they follow the
    // router's topology. Call before start(), at most once.
    invalidation_tracker& enable_tracking(std::string prefix);
    // The tracker, or null without enable_tracking().
    invalidation_tracker* tracker() const noexcept { return tracker_.get(); }

    // The EVALSHA command of a script call.
    static command make_evalsha(const script& s, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args);

private:
    friend struct detail::eval_op;
    // route: the key that decides the node (a command's own key, or the
    // script's key for its SCRIPT LOAD); empty = any.
    void submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable);
    // To every primary (SCRIPT LOAD).
    void broadcast(const command& cmd, detail::completion&& done);

    boost::asio::io_context& ioc_;
    config cfg_;
    std::size_t connections_ = 0;
    std::shared_ptr<const connection_settings> settings_;
    std::shared_ptr<router> router_;
    std::shared_ptr<invalidation_tracker> tracker_;
    std::atomic<bool> stopped_{false};
};

// The period of a connection's tick, which checks command and connect deadlines
// and idle PINGs: an eighth of the shortest timeout, between 5 and 100 ms.
std::chrono::milliseconds tick_for(const config& cfg);

// Members are read before `self` (which holds *this) moves into the completion.
template <class Self>
void detail::eval_op::operator()(Self& self) {
    step = 1;
    client* c = owner;
    const command* cmd = evalsha.get();
    const bool durable_write = durable;
    completion done(std::move(self));
    c->submit(*cmd, cmd->key(), std::move(done), durable_write);
}

template <class Self>
void detail::eval_op::operator()(Self& self, boost::system::error_code ec, reply r) {
    client* c = owner;
    if (step == 1 && ec == error::noscript) {
        step = 2;
        const command load = command::keyless("SCRIPT", "LOAD", code.source());
        completion done(std::move(self));
        c->broadcast(load, std::move(done));
        return;
    }
    if (step == 2 && !ec) {
        step = 3;
        const command* cmd = evalsha.get();
        const bool durable_write = durable;
        completion done(std::move(self));
        c->submit(*cmd, cmd->key(), std::move(done), durable_write);
        return;
    }
    self.complete(ec, std::move(r));
}

}  // namespace sessiond::redis
