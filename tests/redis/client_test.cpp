// The client against a real redis-server: commands, pipelining, scripts.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "helpers.hpp"
#include "unavailable.hpp"

using namespace sessiond;
using namespace sessiond::test;
using redis::command;
using redis::error;
namespace asio = boost::asio;

TEST_CASE("client connects, runs commands and reports error replies", "[redis][client]") {
    redis_server srv;
    asio::io_context ioc;
    redis::client c(ioc, test_config(srv), 1);
    CHECK_FALSE(c.ready());
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    CHECK_FALSE(c.last_error());

    auto set = exec(ioc, c, command("SET", "greeting", "hello"));
    REQUIRE_FALSE(set.ec);
    CHECK(set.value.is_status());
    CHECK(set.value.str() == "OK");

    auto get = exec(ioc, c, command("GET", "greeting"));
    REQUIRE_FALSE(get.ec);
    CHECK(get.value.is_string());
    CHECK(get.value.str() == "hello");

    auto missing = exec(ioc, c, command("GET", "nothing"));
    REQUIRE_FALSE(missing.ec);
    CHECK(missing.value.is_nil());

    auto incr = exec(ioc, c, command("INCRBY", "n", 41));
    REQUIRE_FALSE(incr.ec);
    CHECK(incr.value.integer() == 41);

    exec(ioc, c, command("RPUSH", "list", "a", "b"));
    auto range = exec(ioc, c, command("LRANGE", "list", 0, -1));
    REQUIRE(range.value.is_array());
    REQUIRE(range.value.elements().size() == 2);
    CHECK(range.value.elements()[1].str() == "b");

    auto wrongtype = exec(ioc, c, command("GET", "list"));
    CHECK(wrongtype.ec == error::wrongtype);
    CHECK(wrongtype.value.is_error());
    CHECK(wrongtype.value.str().starts_with("WRONGTYPE"));

    auto unknown = exec(ioc, c, command("NOSUCHCOMMAND"));
    CHECK(unknown.ec == error::server_error);
    CHECK_FALSE(test::unavailable(unknown.ec));

    // The handshake named the connection.
    CHECK(srv.cli({"CLIENT", "LIST"}).find("name=sessiond") != std::string::npos);

    c.stop();
    auto after = exec(ioc, c, command("GET", "greeting"));
    CHECK(after.ec == asio::error::operation_aborted);
    CHECK_FALSE(c.ready());
}

TEST_CASE("client SELECTs the URL's database", "[redis][client]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.db = 5;
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    REQUIRE_FALSE(exec(ioc, c, command("SET", "in5", "yes")).ec);
    CHECK(srv.cli({"-n", "5", "GET", "in5"}).find("yes") != std::string::npos);
    CHECK(srv.cli({"-n", "0", "EXISTS", "in5"}).find("0") != std::string::npos);
}

TEST_CASE("100,000 pipelined commands from many handlers, each matched to its own key", "[redis][client][pipeline]") {
    redis_server srv;
    constexpr int total = 100000;
    constexpr int threads = 4;
    constexpr int workers_per_thread = 4;
    constexpr int window = 256;  // in flight per worker
    std::atomic<int> matched{0};
    std::atomic<int> mismatched{0};
    std::atomic<int> errors{0};

    // Each worker SETs k<i> to v<i>, then GETs it and checks the value, keeping
    // `window` commands of its own in flight, from callbacks on its thread.
    struct worker {
        redis::client& c;
        std::atomic<int>& matched;
        std::atomic<int>& mismatched;
        std::atomic<int>& errors;
        int& left;  // commands of this thread's workers still to finish
        int next;
        int end;

        void issue(const std::shared_ptr<worker>& self) {
            if (next >= end) return;
            const int i = next++;
            const std::string key = "k" + std::to_string(i);
            c.async_exec(command("SET", key, "v" + std::to_string(i)),
                         [self, i](boost::system::error_code ec, redis::reply) {
                             if (ec) {
                                 ++self->errors;
                                 --self->left;
                                 return self->issue(self);
                             }
                             self->c.async_exec(command("GET", "k" + std::to_string(i)),
                                                [self, i](boost::system::error_code ec, redis::reply r) {
                                                    if (ec)
                                                        ++self->errors;
                                                    else if (r.str() == "v" + std::to_string(i))
                                                        ++self->matched;
                                                    else
                                                        ++self->mismatched;
                                                    --self->left;
                                                    self->issue(self);
                                                });
                         });
        }
    };

    // As in the server, each thread runs its own io_context with its own
    // client (a client belongs to one thread); all of them share one Redis.
    std::vector<std::thread> pool;
    std::atomic<int> not_ready{0};
    const int per = total / (threads * workers_per_thread);
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            asio::io_context ioc;
            auto cfg = test_config(srv);
            cfg.connections = 2;
            cfg.command_timeout = 10s;  // sanitizer builds are slow; timeouts are not under test here
            redis::client c(ioc, cfg, 1);
            c.start();
            if (!wait_ready(ioc, c, 5s)) {
                ++not_ready;
                return;
            }
            run_for(ioc, 100ms);  // let every connection come up
            int left = workers_per_thread * per;
            for (int w = 0; w < workers_per_thread; ++w) {
                const int first = (t * workers_per_thread + w) * per;
                auto wk = std::make_shared<worker>(worker{c, matched, mismatched, errors, left, first, first + per});
                for (int k = 0; k < window; ++k)
                    wk->issue(wk);
            }
            run_until(
                ioc, [&] { return left == 0; }, 120s);
            c.stop();
            run_for(ioc, 10ms);  // let the callbacks holding workers end
        });
    for (auto& t : pool)
        t.join();
    REQUIRE(not_ready == 0);
    CHECK(errors == 0);
    CHECK(mismatched == 0);
    CHECK(matched == total);
    CHECK(srv.cli({"DBSIZE"}).find(std::to_string(total)) != std::string::npos);
}

TEST_CASE("coroutines co_await commands with use_awaitable and as_tuple", "[redis][client][coro]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.connections = 2;
    redis::client c(ioc, cfg, 2);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));

    constexpr int coroutines = 50;
    constexpr int per = 200;
    int ok = 0;
    int bad = 0;
    for (int k = 0; k < coroutines; ++k) {
        asio::co_spawn(
            asio::make_strand(ioc),
            [&, k]() -> asio::awaitable<void> {
                for (int i = 0; i < per; ++i) {
                    const std::string key = "c" + std::to_string(k) + ":" + std::to_string(i);
                    co_await c.async_exec(command("SET", key, key), asio::use_awaitable);
                    auto [ec, r] = co_await c.async_exec(command("GET", key), asio::as_tuple(asio::use_awaitable));
                    if (!ec && r.str() == key)
                        ++ok;
                    else
                        ++bad;
                }
            },
            asio::detached);
    }
    REQUIRE(run_until(
        ioc, [&] { return ok + bad == coroutines * per; }, 60s));
    CHECK(bad == 0);
    CHECK(ok == coroutines * per);

    // An error reply is thrown as system_error by plain use_awaitable.
    std::optional<boost::system::error_code> thrown;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                co_await c.async_exec(command("HGET", "c0:0", "f"), asio::use_awaitable);
                thrown = boost::system::error_code{};
            } catch (const boost::system::system_error& e) {
                thrown = e.code();
            }
        },
        asio::detached);
    REQUIRE(run_until(
        ioc, [&] { return thrown.has_value(); }, 5s));
    CHECK(*thrown == error::wrongtype);
}

TEST_CASE("scripts run by EVALSHA and survive SCRIPT FLUSH", "[redis][client][script]") {
    redis_server srv;
    asio::io_context ioc;
    redis::client c(ioc, test_config(srv), 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));

    const redis::script incr_by("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    auto eval = [&](const std::string& key, const std::string& by) {
        std::optional<exec_result> out;
        c.async_eval(incr_by, {key}, {by}, [&](boost::system::error_code ec, redis::reply r) {
            out = exec_result{ec, std::move(r)};
        });
        REQUIRE(run_until(
            ioc, [&] { return out.has_value(); }, 5s));
        return std::move(*out);
    };

    auto first = eval("counter", "5");  // not loaded yet: NOSCRIPT, SCRIPT LOAD, EVALSHA
    REQUIRE_FALSE(first.ec);
    CHECK(first.value.integer() == 5);
    CHECK(srv.cli({"SCRIPT", "EXISTS", incr_by.sha1()}).find("1") != std::string::npos);

    auto second = eval("counter", "2");
    REQUIRE_FALSE(second.ec);
    CHECK(second.value.integer() == 7);

    CHECK(srv.cli({"SCRIPT", "FLUSH"}).find("OK") != std::string::npos);
    auto third = eval("counter", "3");
    REQUIRE_FALSE(third.ec);
    CHECK(third.value.integer() == 10);

    // A script's own error reaches the caller as an error reply.
    const redis::script broken("return redis.call('NOSUCH')");
    std::optional<exec_result> out;
    c.async_eval(broken, {}, {}, [&](boost::system::error_code ec, redis::reply r) {
        out = exec_result{ec, std::move(r)};
    });
    REQUIRE(run_until(
        ioc, [&] { return out.has_value(); }, 5s));
    CHECK(out->ec == error::server_error);
    CHECK(out->value.is_error());

    // With a coroutine.
    std::optional<long long> got;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            // Named vectors: GCC 12 rejects a braced list inside a co_await expression.
            std::vector<std::string> keys{"counter"};
            std::vector<std::string> args{"1"};
            auto r = co_await c.async_eval(incr_by, keys, args, asio::use_awaitable);
            got = r.integer();
        },
        asio::detached);
    REQUIRE(run_until(
        ioc, [&] { return got.has_value(); }, 5s));
    CHECK(*got == 11);
}
