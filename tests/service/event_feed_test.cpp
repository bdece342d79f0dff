// The event feed of one I/O thread (service::event_feed) over the embedded
// store: filters, the bounded queue that cuts a subscriber, the cap on
// subscribers, live delivery, and a resume that catches up and joins the
// live feed without a gap or a repeat.

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "service/event_feed.hpp"
#include "service/session_service.hpp"
#include "store/memory_store.hpp"
#include "support/result_string.hpp"

using namespace sessiond;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using session::event_type;

namespace {

session::event make_event(event_type t, std::string user, std::uint32_t stream = 7, std::uint64_t ms = 1000,
                          std::uint64_t seq = 0) {
    session::event e;
    e.type = t;
    e.user_id = std::move(user);
    e.stream = stream;
    e.id = session::event_position{ms, seq}.to_string();
    return e;
}

struct fixture {
    asio::io_context ioc;
    session::fake_clock clock;
    store::memory_store store{ioc, clock, 1000};
    service::session_service sessions{store,
                                      std::make_shared<const session::keyring>(session::keyring::make_ephemeral()),
                                      session::token_codec(), clock, session::policy{}};
    std::shared_ptr<std::atomic<std::size_t>> open = std::make_shared<std::atomic<std::size_t>>(0);
    std::shared_ptr<service::event_feed> feed;

    explicit fixture(service::event_feed_settings s = {10ms, 100, 1 << 20, 5000ms, 8}) {
        store::event_settings events;
        events.enabled = true;
        events.instance = "test";
        store.enable_events(events);
        feed = std::make_shared<service::event_feed>(ioc.get_executor(), store, clock, s, open);
    }

    // Runs the io_context until `done` or a deadline; false at the deadline.
    template <class F>
    bool run_until(F done, std::chrono::milliseconds limit = 5000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            ioc.restart();
            ioc.run_for(5ms);
        }
        return true;
    }

    std::string create(const std::string& user) {
        std::optional<std::string> id;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                // Named, not temporaries across the co_await (GCC 12).
                service::create_request request{user, std::nullopt, std::nullopt, std::nullopt};
                const service::actor who{"test", "r"};
                auto r = co_await sessions.create(std::move(request), who);
                REQUIRE(r);
                id = r->session.id.to_string();
            },
            asio::detached);
        REQUIRE(run_until([&] { return id.has_value(); }));
        return *id;
    }
};

// Collects what a subscription delivers, as a stream's producer would.
struct collector {
    std::vector<session::event> got;
    bool stop = false, done = false;
    asio::awaitable<void> run(std::shared_ptr<service::event_subscription> s) {
        while (!stop && !s->cut()) {
            auto waited = co_await s->wait(std::chrono::steady_clock::now() + 20ms);
            REQUIRE(waited);
            for (auto& e : s->take())
                got.push_back(std::move(e));
        }
        done = true;
    }
};

}  // namespace

TEST_CASE("event filter: by types, by user, both, or everything") {
    service::event_filter all;
    CHECK(all.matches(make_event(event_type::session_created, "alice")));
    CHECK(all.matches(make_event(event_type::epoch_changed, "")));

    service::event_filter revoked;
    revoked.add_type(event_type::session_revoked);
    revoked.add_type(event_type::session_created);
    CHECK(revoked.matches(make_event(event_type::session_revoked, "alice")));
    CHECK(revoked.matches(make_event(event_type::session_created, "bob")));
    CHECK_FALSE(revoked.matches(make_event(event_type::session_rotated, "alice")));

    service::event_filter alice;
    alice.user = "alice";
    CHECK(alice.matches(make_event(event_type::session_rotated, "alice")));
    CHECK_FALSE(alice.matches(make_event(event_type::session_rotated, "alicia")));
    CHECK_FALSE(alice.matches(make_event(event_type::epoch_changed, "")));  // everyone's epoch names no user

    alice.add_type(event_type::session_revoked);
    CHECK_FALSE(alice.matches(make_event(event_type::session_rotated, "alice")));
    CHECK(alice.matches(make_event(event_type::session_revoked, "alice")));
}

TEST_CASE("event feed: a subscriber whose queue would overflow is cut, its queue freed; others go on") {
    fixture f({10ms, 3, 1 << 20, 5000ms, 8});
    service::event_filter only_alice;
    only_alice.user = "alice";
    auto slow = f.feed->subscribe(only_alice, std::nullopt);
    auto other = f.feed->subscribe({}, std::nullopt);
    REQUIRE(slow);
    REQUIRE(other);
    for (std::uint64_t i = 0; i < 3; ++i) {
        CHECK(slow->offer(make_event(event_type::session_created, "alice", 7, 1000, i)));
        CHECK(slow->offer(make_event(event_type::session_created, "bob", 7, 1000, 10 + i)));  // not taken
    }
    CHECK_FALSE(slow->cut());
    CHECK(slow->take().size() == 3);  // room again
    for (std::uint64_t i = 0; i < 3; ++i)
        CHECK(slow->offer(make_event(event_type::session_created, "alice", 7, 2000, i)));
    CHECK_FALSE(slow->offer(make_event(event_type::session_created, "alice", 7, 3000, 0)));
    CHECK(slow->cut());
    CHECK(slow->take().empty());
    CHECK_FALSE(slow->offer(make_event(event_type::session_created, "alice", 7, 4000, 0)));  // nothing more

    CHECK(other->offer(make_event(event_type::session_created, "alice", 7, 4000, 0)));
    CHECK_FALSE(other->cut());
    CHECK(other->take().size() == 1);
}

TEST_CASE("event feed: the queue is bounded in bytes too") {
    // Room for about two events of this size.
    fixture f({10ms, 100, 2 * (sizeof(session::event) + 300), 5000ms, 8});
    auto s = f.feed->subscribe({}, std::nullopt);
    const std::string user(256, 'u');
    CHECK(s->offer(make_event(event_type::session_created, user, 7, 1000, 0)));
    CHECK(s->offer(make_event(event_type::session_created, user, 7, 1000, 1)));
    CHECK_FALSE(s->offer(make_event(event_type::session_created, user, 7, 1000, 2)));
    CHECK(s->cut());
}

TEST_CASE("event feed: at most max_streams subscribers in the process, freed as they go") {
    fixture f({10ms, 100, 1 << 20, 5000ms, 2});
    auto a = f.feed->subscribe({}, std::nullopt);
    auto b = f.feed->subscribe({}, std::nullopt);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(f.feed->subscribe({}, std::nullopt) == nullptr);
    CHECK(*f.open == 2);
    // Another thread's feed shares the count.
    auto other_thread =
        std::make_shared<service::event_feed>(f.ioc.get_executor(), f.store, f.clock, f.feed->settings(), f.open);
    CHECK(other_thread->subscribe({}, std::nullopt) == nullptr);
    a.reset();
    CHECK(*f.open == 1);
    CHECK(other_thread->subscribe({}, std::nullopt) != nullptr);
}

TEST_CASE("event feed: live events reach each subscriber its filter takes, in order, while it polls") {
    fixture f;
    service::event_filter bob;
    bob.user = "bob";
    auto everyone = f.feed->subscribe({}, std::nullopt);
    auto bobs = f.feed->subscribe(bob, std::nullopt);
    collector all, only_bob;
    asio::co_spawn(f.ioc, all.run(everyone), asio::detached);
    asio::co_spawn(f.ioc, only_bob.run(bobs), asio::detached);
    const auto a = f.create("alice");
    const auto b = f.create("bob");
    REQUIRE(f.run_until([&] { return all.got.size() >= 2 && !only_bob.got.empty(); }));
    // Two users, two streams: no order between them (only within one).
    REQUIRE(all.got.size() == 2);
    CHECK(((all.got[0].session_id == a && all.got[1].session_id == b) ||
           (all.got[0].session_id == b && all.got[1].session_id == a)));
    REQUIRE(only_bob.got.size() == 1);
    CHECK(only_bob.got[0].session_id == b);
    CHECK(only_bob.got[0].type == event_type::session_created);
    all.stop = only_bob.stop = true;
    REQUIRE(f.run_until([&] { return all.done && only_bob.done; }));
    everyone.reset();
    bobs.reset();
    CHECK(f.feed->subscribers() == 0);
}

TEST_CASE("event feed: a resume catches up after the event it names, then joins the live feed: no gap, no repeat") {
    fixture f;
    // A live subscriber keeps the feed polling throughout.
    auto live = f.feed->subscribe({}, std::nullopt);
    collector live_got;
    asio::co_spawn(f.ioc, live_got.run(live), asio::detached);
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(f.create("user-" + std::to_string(i)));
        f.clock.advance(1ms);
    }
    REQUIRE(f.run_until([&] { return live_got.got.size() == 5; }));
    // Resume after the second: the margin takes every stream back before
    // it, and the second's own stream skips it and what came before.
    // (The feed reads the streams in turn, not in time order: find it.)
    const auto named = std::find_if(live_got.got.begin(), live_got.got.end(),
                                    [&](const session::event& e) { return e.session_id == ids[1]; });
    REQUIRE(named != live_got.got.end());
    auto resumed = f.feed->subscribe({}, session::event_ref::of(*named));
    collector back;
    asio::co_spawn(f.ioc, back.run(resumed), asio::detached);
    ids.push_back(f.create("user-5"));
    REQUIRE(f.run_until([&] { return live_got.got.size() == 6; }));
    REQUIRE(f.run_until([&] {
        return std::any_of(back.got.begin(), back.got.end(), [&](const auto& e) { return e.session_id == ids[5]; });
    }));
    // A little longer: nothing comes twice.
    f.run_until([] { return false; }, 100ms);
    std::vector<std::string> seen;
    for (const auto& e : back.got)
        seen.push_back(e.session_id);
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    // Every event after the one named came; the one named did not (each is in
    // a stream of its own user's, so only the margin could bring earlier ones).
    for (std::size_t i = 2; i < ids.size(); ++i)
        CHECK(std::count(seen.begin(), seen.end(), ids[i]) == 1);
    CHECK(std::count(seen.begin(), seen.end(), ids[1]) == 0);
    live_got.stop = back.stop = true;
    REQUIRE(f.run_until([&] { return live_got.done && back.done; }));
}

TEST_CASE("event feed: where a resume starts each stream") {
    const session::event_ref ref{42, {10'000, 3}};
    const auto c = service::event_feed::resume_cursor(ref, 5000ms);
    CHECK(c.at[0] == session::event_position{4'999, std::numeric_limits<std::uint64_t>::max()});
    CHECK(c.at[session::events_meta_stream] == c.at[0]);
    CHECK(c.at[42] == ref.at);  // after the event named, in its stream
    // A margin larger than the event's time starts at the beginning.
    const auto all = service::event_feed::resume_cursor({1, {100, 0}}, 5000ms);
    CHECK(all.at[0] == session::event_position{0, std::numeric_limits<std::uint64_t>::max()});
}
