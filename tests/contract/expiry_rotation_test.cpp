// Time-dependent rules with short real timeouts, rotation and reuse
// detection, the per-user limit, and atomicity under concurrency.

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/timing.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

// The rules that need time to pass run on the two store implementations
// (the embedded store and the Redis store's scripts and TTLs; Sentinel and
// Cluster route the same scripts) with real, short timeouts; every rule is
// also tested against a fake clock in tests/service. A check that the
// session is still alive is made only while the machine has kept to the
// schedule (a stalled machine is reported, not failed); a check that it
// has expired waits at least the whole timeout after the reply that set it.
using steady = std::chrono::steady_clock;

std::vector<std::string> timing_stores() {
    return {"memory", "redis"};
}

TEST_CASE("idle expiry slides with use and the absolute expiry caps it") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store,
                      {"--session-idle-timeout", "2s", "--session-absolute-timeout", "5s", "--touch-fraction", "0"});
    auto idle = str(t.create("gina").json, "token");
    const auto asked = steady::now();
    auto active = t.create("gina");
    const auto created = steady::now();
    auto busy = str(active.json, "token");
    auto expires_at = std::string(session_of(active).at("expires_at").as_string());

    // Kept alive by use past the idle timeout ...
    auto last_use = asked;
    for (int i = 0; i < 6; ++i) {
        std::this_thread::sleep_for(500ms);
        const auto sent = steady::now();
        auto v = t.validate(busy);
        // Judged if the reply came within the idle timeout of the last use
        // (a check made before sending would leave the request itself unbounded).
        if (!within(last_use, 1900ms)) break;
        REQUIRE(v.status == 200);
        last_use = sent;
        CHECK(session_of(v).at("expires_at").as_string() == expires_at);  // never moves
        CHECK(session_of(v).at("idle_expires_at").as_string() <= expires_at);
    }
    // ... while the unused one expired after its idle timeout.
    std::this_thread::sleep_until(created + 2100ms);
    auto gone = t.validate(idle);
    CHECK(gone.status == 401);
    CHECK(gone.code() == "invalid_session");

    // The absolute timeout ends the busy one too, however much it is used.
    while (steady::now() < created + 5100ms) {
        std::this_thread::sleep_for(500ms);
        t.validate(busy);
    }
    CHECK(t.validate(busy).status == 401);
}

TEST_CASE("per-session timeouts at creation, and touch=false does not extend") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--touch-fraction", "0"});
    const auto asked = steady::now();
    auto c = t.create("hank", R"("idle_timeout":2,"absolute_timeout":60)");
    const auto created = steady::now();
    REQUIRE(c.status == 201);
    auto token = str(c.json, "token");
    const auto& s = session_of(c);
    CHECK(s.at("idle_expires_at").as_string() > s.at("created_at").as_string());
    std::this_thread::sleep_for(1000ms);
    auto peek = t.validate(token, R"("touch":false)");
    if (within(asked, 1900ms)) {
        REQUIRE(peek.status == 200);
        CHECK(session_of(peek).at("idle_expires_at") == s.at("idle_expires_at"));
    }
    std::this_thread::sleep_until(created + 2100ms);
    CHECK(t.validate(token).status == 401);
}

TEST_CASE("the touch is skipped until the threshold, and the reply shows the stored expiry") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--session-idle-timeout", "4s", "--touch-fraction", "0.5"});
    const auto asked = steady::now();
    auto c = t.create("ivy");
    const auto created = steady::now();
    auto token = str(c.json, "token");
    auto first = std::string(session_of(c).at("idle_expires_at").as_string());
    std::this_thread::sleep_for(300ms);
    auto early = t.validate(token);
    if (within(asked, 1900ms))
        CHECK(session_of(early).at("idle_expires_at").as_string() == first);  // below the threshold
    std::this_thread::sleep_until(created + 2200ms);
    auto later = t.validate(token);
    auto again = t.validate(token);
    // Judged if the replies came before the first idle deadline (4 s), and
    // so within 2 s of the touch.
    if (!within(asked, 3900ms)) return;
    REQUIRE(later.status == 200);
    CHECK(session_of(later).at("idle_expires_at").as_string() > first);  // past it: extended
    CHECK(session_of(again).at("idle_expires_at") == session_of(later).at("idle_expires_at"));
}

TEST_CASE("rotation keeps the session, the old token has a grace period, reuse after it revokes all") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--rotation-grace", "2s"});
    auto c = t.create("jack", R"("metadata":{"v":1})");
    auto old_token = str(c.json, "token");
    const auto& s = session_of(c);

    const auto asked = steady::now();
    auto r = t.rotate(old_token, R"("metadata":{"v":2})");
    const auto rotated = steady::now();
    REQUIRE(r.status == 200);
    CHECK(r.header("cache-control") == "no-store");
    auto new_token = str(r.json, "token");
    CHECK(new_token != old_token);
    const auto& rs = session_of(r);
    CHECK(rs.at("id") == s.at("id"));
    CHECK(rs.at("expires_at") == s.at("expires_at"));
    CHECK(rs.at("created_at") == s.at("created_at"));
    CHECK(rs.at("authenticated_at") == s.at("authenticated_at"));  // not reauthenticated
    CHECK(rs.at("rotated_at").is_string());
    CHECK(rs.at("metadata").as_object().at("v").as_int64() == 2);
    CHECK_THAT(str(r.json, "cookie"), Catch::StartsWith("__Host-sid=" + new_token + ";"));

    CHECK(t.validate(new_token).status == 200);
    // Judged if the replies came within the old token's grace.
    const auto in_flight = t.validate(old_token);
    const auto from_old = t.rotate(old_token);
    if (within(asked, 1900ms)) {
        CHECK(in_flight.status == 200);  // in flight: still fine
        CHECK(from_old.status == 401);   // only the current token rotates
    }

    std::this_thread::sleep_until(rotated + 2100ms);
    auto theft = t.validate(old_token);
    CHECK(theft.status == 401);
    CHECK(theft.code() == "invalid_session");
    CHECK(t.validate(new_token).status == 401);  // the whole session is gone
    CHECK(t.daemon().proc().wait_for_log("session.reuse_detected", 5s));
}

TEST_CASE("reauthentication and max_auth_age") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store);
    auto token = str(t.create("kate").json, "token");
    std::this_thread::sleep_for(2100ms);
    auto stale = t.validate(token, R"("max_auth_age":2)");
    CHECK(stale.status == 401);
    CHECK(stale.code() == "reauthentication_required");
    CHECK(t.validate(token, R"("max_auth_age":60)").status == 200);

    const auto asked = steady::now();
    auto r = t.rotate(token, R"("reauthenticated":true)");
    REQUIRE(r.status == 200);
    CHECK(session_of(r).at("authenticated_at") == session_of(r).at("rotated_at"));
    auto fresh = t.validate(str(r.json, "token"), R"("max_auth_age":2)");
    if (within(asked, 1900ms)) CHECK(fresh.status == 200);
}

TEST_CASE("per-user limit: evict least recently used") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--max-sessions-per-user", "2", "--touch-fraction", "0"});
    auto a = str(t.create("liam").json, "token");
    std::this_thread::sleep_for(20ms);
    auto b = str(t.create("liam").json, "token");
    std::this_thread::sleep_for(20ms);
    REQUIRE(t.validate(a).status == 200);  // a is now more recently used than b
    std::this_thread::sleep_for(20ms);
    auto c = t.create("liam");
    REQUIRE(c.status == 201);
    CHECK(t.validate(b).status == 401);  // evicted
    CHECK(t.validate(a).status == 200);
    CHECK(t.validate(str(c.json, "token")).status == 200);
    CHECK(
        t.call("GET", "/v1/users/liam/sessions", test_keys::admin).json.as_object().at("sessions").as_array().size() ==
        2);
    CHECK(t.create("other-user").status == 201);  // per user, not global
    CHECK(t.daemon().proc().wait_for_log("session.evicted", 5s));
}

TEST_CASE("per-user limit: reject with 409") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--max-sessions-per-user", "2", "--session-limit-policy", "reject"});
    auto a = str(t.create("mia").json, "token");
    REQUIRE(t.create("mia").status == 201);
    auto third = t.create("mia");
    CHECK(third.status == 409);
    CHECK(third.code() == "session_limit");
    CHECK(t.revoke(a).status == 204);
    CHECK(t.create("mia").status == 201);  // room again
}

TEST_CASE("concurrent rotations of one token yield exactly one new valid token") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--rotation-grace", "30s"});
    for (int round = 0; round < 3; ++round) {
        auto token = str(t.create("nina").json, "token");
        std::vector<std::thread> threads;
        std::mutex m;
        std::vector<std::string> winners;
        std::atomic<int> others{0};
        for (int i = 0; i < 12; ++i) {
            threads.emplace_back([&] {
                auto r = t.rotate(token);
                if (r.status == 200) {
                    std::lock_guard lock(m);
                    winners.push_back(str(r.json, "token"));
                } else if (r.status == 401) {
                    ++others;
                }
            });
        }
        for (auto& th : threads)
            th.join();
        REQUIRE(winners.size() == 1);
        CHECK(others == 11);
        CHECK(t.validate(winners[0]).status == 200);
    }
}

TEST_CASE("concurrent creates never leave more sessions than the per-user limit") {
    auto store = GENERATE(from_range(contract_stores()));
    auto policy = GENERATE(as<std::string>{}, "reject", "evict_lru");
    INFO("store: " << store << ", policy: " << policy);
    contract_target t(store, {"--max-sessions-per-user", "3", "--session-limit-policy", policy});
    std::atomic<int> created{0}, limited{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
        threads.emplace_back([&] {
            for (int k = 0; k < 3; ++k) {
                auto r = t.create("olga");
                if (r.status == 201) ++created;
                if (r.status == 409) ++limited;
            }
        });
    }
    for (auto& th : threads)
        th.join();
    auto listed = t.call("GET", "/v1/users/olga/sessions", test_keys::admin);
    auto n = listed.json.as_object().at("sessions").as_array().size();
    CHECK(n == 3);
    if (policy == "reject") {
        CHECK(created == 3);
        CHECK(limited == 45);
    } else {
        CHECK(created == 48);
    }
}

TEST_CASE("a token rotated away beyond the four kept is a reuse on every entry point: the session is revoked") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);

    // Each case: create, rotate five times within the grace (t0 → … → t5),
    // which keeps t1 to t4 within their grace but not t0, then present t0 in
    // one way.
    auto rotated_away = [&] {
        auto c = t.create("alice");
        REQUIRE(c.status == 201);
        auto t0 = str(c.json, "token");
        auto current = t0;
        for (int i = 0; i < 5; ++i) {
            auto r = t.rotate(current);
            REQUIRE(r.status == 200);
            current = str(r.json, "token");
        }
        return std::pair{t0, current};
    };
    auto expect_revoked = [&](const api_reply& r, const std::string& current) {
        CHECK(r.status == 401);
        CHECK(r.code() == "invalid_session");
        // Said as for any refused token; the reason is in the metrics.
        CHECK(str(r.json, "detail") == "the session token is not valid");
        auto after = t.validate(current);
        CHECK(after.status == 401);
    };
    {
        auto [old, current] = rotated_away();
        expect_revoked(t.validate(old), current);
    }
    {
        auto [old, current] = rotated_away();
        expect_revoked(t.rotate(old), current);
    }
    {
        auto [old, current] = rotated_away();
        expect_revoked(t.revoke(old), current);
    }
    {
        auto [old, current] = rotated_away();
        expect_revoked(t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + old}}), current);
    }
    // The previous token within its grace still validates, and revoking with
    // it ends the session normally.
    auto c = t.create("bob");
    auto t0 = str(c.json, "token");
    auto t1 = str(t.rotate(t0).json, "token");
    CHECK(t.validate(t0).status == 200);
    CHECK(t.revoke(t0).status == 204);
    CHECK(t.validate(t1).status == 401);
}

TEST_CASE("two quick rotations: the first token still validates within its grace, and is a reuse after it") {
    auto store = GENERATE(from_range(timing_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--rotation-grace", "3s"});
    auto t1 = str(t.create("quick").json, "token");
    const auto asked = steady::now();
    auto r2 = t.rotate(t1);
    REQUIRE(r2.status == 200);
    auto t2 = str(r2.json, "token");
    auto r3 = t.rotate(t2);
    const auto rotated = steady::now();
    REQUIRE(r3.status == 200);
    auto t3 = str(r3.json, "token");
    // A request still in flight with T1, right after the second rotation,
    // and the others; neither superseded token may rotate (refused as not
    // current, nothing revoked).
    const auto in_flight = t.validate(t1);
    const auto auth_t1 = t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + t1}});
    const auto with_t2 = t.validate(t2);
    const auto with_t3 = t.validate(t3);
    const auto again_t1 = t.rotate(t1);
    const auto again_t2 = t.rotate(t2);
    const auto still_t3 = t.validate(t3);
    // Judged if every reply came within T1's grace (3 s), or the machine
    // stalled and the test says so.
    if (!within(asked, 2900ms)) return;
    CHECK(in_flight.status == 200);
    CHECK(session_of(in_flight).at("id") == session_of(r3).at("id"));
    CHECK(auth_t1.status == 200);
    CHECK(with_t2.status == 200);
    CHECK(with_t3.status == 200);
    for (const auto* again : {&again_t1, &again_t2}) {
        CHECK(again->status == 401);
        CHECK(again->code() == "invalid_session");
    }
    CHECK(still_t3.status == 200);
    CHECK_FALSE(t.daemon().proc().log().find("session.reuse_detected") != std::string::npos);

    // After its grace T1 is a theft: the whole session goes.
    std::this_thread::sleep_until(rotated + 3100ms);
    auto theft = t.validate(t1);
    CHECK(theft.status == 401);
    CHECK(t.validate(t3).status == 401);
    CHECK(t.daemon().proc().wait_for_log("session.reuse_detected", 5s));
}

TEST_CASE("rotations racing validations of the same session never answer like a dead session") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    // touch-fraction 0: every validation writes, so rotations race writes.
    contract_target t(store, {"--touch-fraction", "0"});
    auto c = t.create("alice");
    REQUIRE(c.status == 201);
    std::string token = str(c.json, "token");

    // Validators send the current token or, while a rotation is in flight or
    // just done, the previous one; never one two rotations old (that would
    // be a reuse, rightly revoking the session). in_flight[g % 2] counts
    // validations still under way with a token of generation g.
    std::mutex m;
    std::condition_variable cv;
    int generation = 0;
    int in_flight[2] = {0, 0};
    std::atomic<bool> done{false};
    std::atomic<int> validations{0}, refused{0};
    std::vector<std::thread> validators;
    for (int i = 0; i < 3; ++i)
        validators.emplace_back([&] {
            while (!done) {
                std::string current;
                int g = 0;
                {
                    std::lock_guard lock(m);
                    current = token;
                    g = generation;
                    ++in_flight[g % 2];
                }
                if (t.validate(current).status != 200) ++refused;
                ++validations;
                std::lock_guard lock(m);
                --in_flight[g % 2];
                cv.notify_all();
            }
        });
    int rotated = 0, conflicts = 0, other = 0;
    for (int i = 0; i < 40; ++i) {
        std::string current;
        {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return in_flight[(generation + 1) % 2] == 0; });
            current = token;
        }
        auto r = t.rotate(current);
        if (r.status == 200) {
            ++rotated;
            std::lock_guard lock(m);
            token = str(r.json, "token");
            ++generation;
        } else if (r.status == 409 && r.code() == "concurrent_update") {
            ++conflicts;
            CHECK(r.header("retry-after") == "0");
        } else {
            ++other;
            UNSCOPED_INFO("rotation answered " << r.status << " " << r.body);
        }
    }
    done = true;
    for (auto& v : validators)
        v.join();
    INFO("rotated " << rotated << ", conflicts " << conflicts << ", validations " << validations);
    CHECK(other == 0);
    CHECK(rotated + conflicts == 40);
    CHECK(rotated > 30);
    CHECK(validations > 40);
    CHECK(refused == 0);  // the token in use was current, or previous within its grace
    CHECK(t.validate(token).status == 200);
}
