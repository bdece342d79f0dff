#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "redis/backoff.hpp"
#include "redis/client.hpp"
#include "redis/error.hpp"
#include "redis/handshake.hpp"
#include "redis/pipeline.hpp"

using namespace sessiond::redis;
using boost::system::error_code;
using clock_type = pipeline::clock;
using namespace std::chrono_literals;

namespace {

struct outcome {
    error_code ec;
    reply r;
    int order = 0;
};

// A completion that records into `slot`, run inline on the io_context.
detail::completion recorder(std::vector<std::optional<outcome>>& slots, std::size_t i, int& counter) {
    return detail::completion([&slots, i, &counter](error_code ec, reply r) {
        slots[i] = outcome{ec, std::move(r), counter++};
    });
}

}  // namespace

TEST_CASE("pipeline matches replies in order and batches output", "[redis][pipeline]") {
    boost::asio::io_context ioc;
    pipeline p(0);
    p.open();
    std::vector<std::optional<outcome>> slots(3);
    int counter = 0;
    const auto t = clock_type::now() + 1s;

    auto c0 = recorder(slots, 0, counter);
    auto r0 = p.push("A", c0, t);
    CHECK_FALSE(r0.ec);
    CHECK(r0.schedule_flush);  // first command: the caller schedules a flush
    CHECK_FALSE(c0);           // taken
    auto c1 = recorder(slots, 1, counter);
    CHECK_FALSE(p.push("BB", c1, t).schedule_flush);  // flush already scheduled
    auto c2 = recorder(slots, 2, counter);
    CHECK_FALSE(p.push("C", c2, t).schedule_flush);
    CHECK(p.in_flight() == 3);

    std::string buf = "stale";
    REQUIRE(p.take_output(buf));
    CHECK(buf == "ABBC");  // all queued commands in one write
    std::string next;
    CHECK_FALSE(p.take_output(next));  // nothing more: the flush ends
    auto c3 = recorder(slots, 0, counter);
    auto r3 = p.push("D", c3, t);
    CHECK(r3.schedule_flush);  // a new flush is needed
    REQUIRE(p.take_output(buf));
    CHECK(buf == "D");

    for (int i = 0; i < 3; ++i)
        p.pop().done.complete({}, reply::make_integer(i), ioc.get_executor());
    ioc.run();  // nothing should be left to run, completion ran inline or posted
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(slots[i]);
        CHECK(slots[i]->r.integer() == static_cast<long long>(i));
    }
    CHECK(p.in_flight() == 1);
}

TEST_CASE("pipeline refuses when closed or at its bound, keeping the completion", "[redis][pipeline]") {
    pipeline p(2);
    std::vector<std::optional<outcome>> slots(4);
    int counter = 0;
    const auto t = clock_type::now() + 1s;
    auto c = recorder(slots, 0, counter);
    CHECK(p.push("X", c, t).ec == error::not_connected);
    CHECK(c);
    p.open();
    CHECK_FALSE(p.push("X", c, t).ec);
    auto c1 = recorder(slots, 1, counter);
    CHECK_FALSE(p.push("X", c1, t).ec);
    auto c2 = recorder(slots, 2, counter);
    CHECK(p.push("X", c2, t).ec == error::busy);
    CHECK(c2);
    CHECK(p.in_flight() == 2);
    // internal commands (handshake, PING) ignore the bound
    p.push_internal("P", recorder(slots, 3, counter), t);
    CHECK(p.in_flight() == 3);
}

TEST_CASE("pipeline grows its ring past its initial size keeping order", "[redis][pipeline]") {
    boost::asio::io_context ioc;
    pipeline p(0);
    p.open();
    std::vector<int> got;
    int popped = 0;
    for (int i = 0; i < 1000; ++i) {
        detail::completion c([&got, i](error_code, reply) { got.push_back(i); });
        p.push("x", c, clock_type::time_point::max());
        if (i % 3 == 0) {  // interleave pops so that the ring wraps
            p.pop().done.complete({}, {}, ioc.get_executor());
            ++popped;
        }
    }
    while (p.in_flight() > 0)
        p.pop().done.complete({}, {}, ioc.get_executor());
    ioc.run();
    REQUIRE(got.size() == 1000);
    for (int i = 0; i < 1000; ++i)
        REQUIRE(got[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("pipeline tick decides timeout and idle PING", "[redis][pipeline]") {
    pipeline p(0);
    const auto now = clock_type::now();
    CHECK(p.on_tick(now, 1s) == pipeline::tick_action::none);  // closed: no PING
    p.open();
    p.note_activity(now);
    CHECK(p.on_tick(now + 500ms, 1s) == pipeline::tick_action::none);
    CHECK(p.on_tick(now + 1s, 1s) == pipeline::tick_action::ping);
    CHECK(p.on_tick(now + 1h, 0s) == pipeline::tick_action::none);  // 0 = never

    detail::completion c([](error_code, reply) {});
    p.push("GET", c, now + 200ms);
    CHECK(p.on_tick(now + 100ms, 1s) == pipeline::tick_action::none);
    CHECK(p.on_tick(now + 200ms, 1s) == pipeline::tick_action::timeout);

    std::vector<pipeline::entry> failed;
    p.take_all(failed);
    CHECK(failed.size() == 1);
    CHECK(failed[0].deadline == now + 200ms);
    CHECK(p.in_flight() == 0);
    CHECK_FALSE(p.is_open());
    std::string buf;
    CHECK_FALSE(p.take_output(buf));  // unwritten bytes dropped
}

TEST_CASE("completion runs on the handler's executor, never inline from post", "[redis][completion]") {
    boost::asio::io_context ioc;
    auto strand = boost::asio::make_strand(ioc);
    bool on_strand = false;
    bool ran = false;
    detail::completion c(boost::asio::bind_executor(strand, [&](error_code ec, reply r) {
        on_strand = strand.running_in_this_thread();
        ran = !ec && r.str() == "v";
    }));
    c.complete({}, reply::make_string("v"), ioc.get_executor());
    CHECK_FALSE(ran);  // another executor: dispatched, not run here
    ioc.run();
    CHECK(ran);
    CHECK(on_strand);

    ioc.restart();
    error_code got;
    detail::completion p([&](error_code ec, reply) { got = ec; });
    p.post(error::busy, ioc.get_executor());
    CHECK_FALSE(got);
    ioc.run();
    CHECK(got == error::busy);

    // A handler too big for the inline buffer goes to the heap and still works.
    ioc.restart();
    std::array<char, 512> big{};
    big[511] = 'z';
    char seen = 0;
    detail::completion h([big, &seen](error_code, reply) { seen = big[511]; });
    detail::completion moved = std::move(h);
    moved.complete({}, {}, ioc.get_executor());
    ioc.run();
    CHECK(seen == 'z');
}

TEST_CASE("backoff doubles up to the cap, with jitter, and resets", "[redis][backoff]") {
    backoff b(50ms, 2000ms, 42);
    const std::chrono::milliseconds caps[] = {50ms, 100ms, 200ms, 400ms, 800ms, 1600ms, 2000ms, 2000ms, 2000ms};
    for (auto cap : caps) {
        const auto d = b.next();
        CHECK(d >= cap / 2);
        CHECK(d <= cap);
    }
    b.reset();
    const auto d = b.next();
    CHECK(d >= 25ms);
    CHECK(d <= 50ms);
    // jitter: many delays at the cap are not all equal
    backoff j(100ms, 100ms, 7);
    std::set<long> seen;
    for (int i = 0; i < 50; ++i)
        seen.insert(static_cast<long>(j.next().count()));
    CHECK(seen.size() > 5);
}

TEST_CASE("handshake sends AUTH, SELECT and SETNAME as configured", "[redis][handshake]") {
    config c;
    auto none = handshake_steps(c);
    REQUIRE(none.size() == 1);
    CHECK(none[0].cmd.bytes() == command("CLIENT", "SETNAME", "sessiond").bytes());
    CHECK_FALSE(none[0].required);

    c.client_name.clear();
    auto ping = handshake_steps(c);
    REQUIRE(ping.size() == 1);
    CHECK(ping[0].cmd.name() == "PING");

    c.password = "pw";
    c.db = 2;
    auto steps = handshake_steps(c);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].cmd.bytes() == command("AUTH", "pw").bytes());
    CHECK(steps[0].required);
    CHECK(steps[1].cmd.bytes() == command("SELECT", "2").bytes());
    CHECK(steps[1].required);

    c.user = "app";
    CHECK(handshake_steps(c)[0].cmd.bytes() == command("AUTH", "app", "pw").bytes());
}

TEST_CASE("tick period follows the shortest timeout", "[redis][config]") {
    config c;
    CHECK(tick_for(c) == 62ms);  // 500 ms / 8
    c.command_timeout = 200ms;
    CHECK(tick_for(c) == 25ms);
    c.command_timeout = 10ms;
    CHECK(tick_for(c) == 5ms);
    c.command_timeout = 0ms;
    c.connect_timeout = 0ms;
    CHECK(tick_for(c) == 100ms);
}

TEST_CASE("pipeline holds output while written commands await replies", "[redis][pipeline]") {
    boost::asio::io_context ioc;
    pipeline p(0);
    p.open();
    const auto t = clock_type::time_point::max();
    auto push = [&](std::string_view bytes) {
        detail::completion c([](error_code, reply) {});
        return p.push(bytes, c, t).schedule_flush;
    };
    std::string buf;
    CHECK(push("A"));
    REQUIRE(p.take_output(buf, false));  // idle connection: written at once
    CHECK(buf == "A");
    CHECK(p.awaiting() == 1);
    CHECK_FALSE(p.take_output(buf, false));  // write done, nothing queued: flush ends

    CHECK(push("B"));
    CHECK_FALSE(p.take_output(buf, false));  // held: A awaits its reply
    CHECK_FALSE(push("C"));                  // the held flush is still pending
    CHECK(p.awaiting() == 1);
    CHECK(p.in_flight() == 3);

    p.pop().done.complete({}, {}, ioc.get_executor());  // A's reply arrived
    REQUIRE(p.take_output(buf, true));                  // the read forces the write
    CHECK(buf == "BC");
    CHECK(p.awaiting() == 2);

    CHECK_FALSE(p.take_output(buf, false));  // that write done: flush ends

    // A large batch goes out without waiting for replies.
    const std::string big(pipeline::hold_limit, 'x');
    CHECK(push(big));
    REQUIRE(p.take_output(buf, false));
    CHECK(buf.size() == pipeline::hold_limit);
    ioc.run();
}
