#pragma once
// Shared by the Redis client tests: bounded event-loop runs and one-shot commands.

#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include <boost/asio/io_context.hpp>

#include "redis/client.hpp"
#include "support/redis_server.hpp"

namespace sessiond::test {

using namespace std::chrono_literals;

// Runs ioc until pred() holds or `timeout` passes; returns pred().
inline bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < end) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    return pred();
}

// Runs ioc until the client has a usable connection or `timeout` passes.
inline bool wait_ready(boost::asio::io_context& ioc, const redis::client& c, std::chrono::milliseconds timeout) {
    return run_until(
        ioc, [&] { return c.ready(); }, timeout);
}

// Runs ioc for about `d` (lets background work happen).
inline void run_for(boost::asio::io_context& ioc, std::chrono::milliseconds d) {
    run_until(
        ioc, [] { return false; }, d);
}

struct exec_result {
    boost::system::error_code ec;
    redis::reply value;
    std::chrono::milliseconds took{};
};

// Sends one command and runs ioc until it completes (at most `timeout`; then
// the test fails).
inline exec_result exec(boost::asio::io_context& ioc, redis::client& c, redis::command cmd,
                        std::chrono::milliseconds timeout = 10s) {
    std::optional<exec_result> out;
    const auto start = std::chrono::steady_clock::now();
    c.async_exec(std::move(cmd), [&](boost::system::error_code ec, redis::reply r) {
        out = exec_result{
            ec, std::move(r),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
    });
    if (!run_until(
            ioc, [&] { return out.has_value(); }, timeout))
        throw std::runtime_error("command did not complete in time");
    return std::move(*out);
}

// A client configuration for a test server: short timeouts and backoff.
inline redis::config test_config(const redis_server& srv) {
    auto parsed = redis::parse_url(srv.url());
    redis::config cfg = parsed.value();
    cfg.connections = 1;
    cfg.command_timeout = 1000ms;
    cfg.connect_timeout = 1000ms;
    cfg.reconnect_min = 10ms;
    cfg.reconnect_max = 200ms;
    return cfg;
}

}  // namespace sessiond::test
