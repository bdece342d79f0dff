// The client when Redis goes away, freezes, or falls behind.

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/asio/error.hpp>

#include "helpers.hpp"
#include "unavailable.hpp"

using namespace sessiond;
using namespace sessiond::test;
using redis::command;
using redis::error;
namespace asio = boost::asio;

TEST_CASE("Redis restarted on the same port: fail fast during the outage, reconnect by itself",
          "[redis][client][outage]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.connections = 2;
    redis::client c(ioc, cfg, 2);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    REQUIRE_FALSE(exec(ioc, c, command("SET", "before", "1")).ec);

    srv.stop();
    REQUIRE(run_until(
        ioc, [&] { return !c.ready(); }, 5s));
    for (int i = 0; i < 20; ++i) {
        auto r = exec(ioc, c, command("GET", "k" + std::to_string(i)));
        INFO(r.ec.message());
        CHECK(test::unavailable(r.ec));
        CHECK(r.ec == error::not_connected);
        CHECK(r.took < 1s);  // fails fast, does not wait for a timeout
    }

    srv.start();
    REQUIRE(wait_ready(ioc, c, 10s));
    auto after = exec(ioc, c, command("SET", "after", "2"));
    CHECK_FALSE(after.ec);
    CHECK(after.value.str() == "OK");
    CHECK(srv.cli({"GET", "after"}).find("2") != std::string::npos);
}

TEST_CASE("Redis down at start: not ready, commands fail fast, ready once it comes up", "[redis][client][outage]") {
    redis_server srv;
    srv.stop();
    asio::io_context ioc;
    redis::client c(ioc, test_config(srv), 1);
    c.start();
    run_for(ioc, 300ms);
    CHECK_FALSE(c.ready());
    CHECK(c.last_error() == asio::error::connection_refused);
    auto r = exec(ioc, c, command("GET", "k"));
    CHECK(r.ec == error::not_connected);
    srv.start();
    REQUIRE(wait_ready(ioc, c, 10s));
    CHECK_FALSE(exec(ioc, c, command("GET", "k")).ec);
}

TEST_CASE("Redis frozen: commands time out, the client recovers after SIGCONT", "[redis][client][outage]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.command_timeout = 200ms;
    cfg.connect_timeout = 300ms;
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    REQUIRE_FALSE(exec(ioc, c, command("SET", "k", "v")).ec);

    srv.freeze();
    auto stuck = exec(ioc, c, command("GET", "k"));
    CHECK(stuck.ec == error::timeout);
    CHECK(test::unavailable(stuck.ec));
    CHECK(stuck.took >= 150ms);  // not before its deadline (allowing for clock granularity)
    CHECK(stuck.took < 3s);
    CHECK_FALSE(c.ready());  // the connection was reset

    // While frozen, reconnection attempts time out in their handshake; commands never hang.
    for (int i = 0; i < 5; ++i) {
        auto r = exec(ioc, c, command("GET", "k"));
        CHECK(test::unavailable(r.ec));
        CHECK(r.took < 3s);
        run_for(ioc, 100ms);
    }
    CHECK_FALSE(c.ready());

    srv.thaw();
    REQUIRE(wait_ready(ioc, c, 10s));
    auto ok = exec(ioc, c, command("GET", "k"));
    CHECK_FALSE(ok.ec);
    CHECK(ok.value.str() == "v");
}

TEST_CASE("idle PING detects a frozen Redis without any command", "[redis][client][outage]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.command_timeout = 200ms;
    cfg.ping_interval = 100ms;
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    srv.freeze();
    CHECK(run_until(
        ioc, [&] { return !c.ready(); }, 3s));
    CHECK(c.last_error() == error::timeout);
    srv.thaw();
    CHECK(wait_ready(ioc, c, 10s));
}

TEST_CASE("in-flight bound: excess commands get busy at once", "[redis][client][busy]") {
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.max_in_flight = 4;
    cfg.command_timeout = 5s;
    cfg.ping_interval = 0ms;  // no PING taking a slot
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    REQUIRE_FALSE(exec(ioc, c, command("SET", "k", "v")).ec);

    srv.freeze();
    std::vector<std::optional<boost::system::error_code>> results(10);
    std::vector<std::string> values(10);
    for (std::size_t i = 0; i < results.size(); ++i)
        c.async_exec(command("GET", "k"), [&, i](boost::system::error_code ec, redis::reply r) {
            results[i] = ec;
            values[i] = std::string(r.str());
        });
    auto completed = [&] {
        std::size_t n = 0;
        for (auto& r : results)
            n += r.has_value();
        return n;
    };
    REQUIRE(run_until(
        ioc, [&] { return completed() >= 6; }, 1s));
    run_for(ioc, 50ms);
    CHECK(completed() == 6);
    for (std::size_t i = 0; i < 4; ++i)
        CHECK_FALSE(results[i].has_value());  // in flight
    for (std::size_t i = 4; i < 10; ++i) {
        REQUIRE(results[i].has_value());
        CHECK(*results[i] == error::busy);
        CHECK_FALSE(test::unavailable(*results[i]));
    }

    srv.thaw();
    REQUIRE(run_until(
        ioc, [&] { return completed() == 10; }, 5s));
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK_FALSE(*results[i]);
        CHECK(values[i] == "v");
    }
}

TEST_CASE("connection events reach the injected logger with their fields", "[redis][client][log]") {
    struct event {
        redis::log_level level;
        std::string message;
        std::map<std::string, std::string> fields;
    };
    std::vector<event> events;
    redis_server srv;
    asio::io_context ioc;
    auto cfg = test_config(srv);
    cfg.log = [&](redis::log_level level, std::string_view message, std::span<const redis::log_field> fields) {
        event e{level, std::string(message), {}};
        for (const auto& f : fields)
            e.fields[std::string(f.key)] = std::visit(
                [](auto v) -> std::string {
                    if constexpr (std::is_same_v<decltype(v), std::string_view>)
                        return std::string(v);
                    else
                        return std::to_string(v);
                },
                f.value);
        events.push_back(std::move(e));
    };
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));
    REQUIRE(events.size() == 1);
    CHECK(events[0].level == redis::log_level::info);
    CHECK(events[0].message == "redis connection ready");
    CHECK(events[0].fields == std::map<std::string, std::string>{
                                  {"connection", "0"}, {"host", "127.0.0.1"}, {"port", std::to_string(srv.port())}});

    srv.stop();
    REQUIRE(run_until(
        ioc, [&] { return !c.ready(); }, 5s));
    REQUIRE(events.size() >= 2);
    CHECK(events[1].level == redis::log_level::warn);
    CHECK(events[1].message == "redis connection failed");
    CHECK(events[1].fields.at("port") == std::to_string(srv.port()));
    CHECK_FALSE(events[1].fields.at("error").empty());
    // Attempts while Redis stays down are reported at debug level only.
    run_for(ioc, 100ms);
    for (std::size_t i = 2; i < events.size(); ++i) {
        CHECK(events[i].level == redis::log_level::debug);
        CHECK(events[i].message == "redis connection failed again");
    }
}
