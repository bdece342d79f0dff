// The validation cache against real Redis, with two sessiond instances of
// one deployment where it matters: whatever changes a session — the other
// instance, an operator's DEL, FLUSHALL, Redis' own expiry, a SET — the
// cached record goes; a lost, restarted or frozen Redis never makes an
// instance vouch for what it can no longer know. Delays from a change to an
// instance refusing are printed (measured, asserted only against generous
// deadlines).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/process.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct created_session {
    std::string token, id;
};

created_session create(contract_target& t, const std::string& user, const std::string& extra = "") {
    auto c = t.create(user, extra);
    REQUIRE(c.status == 201);
    return {str(c.json, "token"), std::string(session_of(c).at("id").as_string())};
}

// The Redis key of the session with public id `id`.
std::string session_key(resp_client& redis, const std::string& id) {
    for (const auto& k : redis.keys())
        if (k.ends_with(":s:" + id)) return k;
    FAIL("no key for session " << id);
    return {};
}

// Validates through `t` until the token is answered from the cache (the
// hits counter moves), so that what follows tests a cached entry.
void warm(contract_target& t, const std::string& token) {
    // A miss fills one I/O thread's cache; 503 only while a topology change
    // is under way (never a refusal).
    const bool cached = eventually(
        [&] {
            const auto before = metric(t, "sessiond_cache_hits_total");
            const int status = t.validate(token).status;
            REQUIRE((status == 200 || status == 503));
            return status == 200 && metric(t, "sessiond_cache_hits_total") > before;
        },
        20s, 10ms);
    REQUIRE(cached);
}

// Validates through `t` until it refuses the token; the time that took, or
// nullopt past the deadline. Every answer must be 200 or 401, or also 503
// with `unavailable_ok` (right after a topology change, a read may still meet
// a node that is catching up: retryable, and never an acceptance).
std::optional<clock_type::duration> refused_within(contract_target& t, const std::string& token,
                                                   clock_type::duration deadline = 5s, bool unavailable_ok = false) {
    const auto start = clock_type::now();
    while (clock_type::now() - start < deadline) {
        const auto r = t.validate(token);
        if (r.status == 401) return clock_type::now() - start;
        if (unavailable_ok && r.status == 503) continue;
        REQUIRE(r.status == 200);
    }
    return std::nullopt;
}

double us(clock_type::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

TEST_CASE("cache: a revocation through one instance is refused by the next validations through another", "[cache]") {
    auto store = GENERATE(as<std::string>{}, "redis", "sentinel", "cluster");
    INFO("store: " << store);
    contract_target a(store);
    contract_target b(a, {});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));

    std::vector<double> delays;
    for (int i = 0; i < 20; ++i) {
        const auto s = create(a, "cache-user-" + std::to_string(i));
        warm(b, s.token);
        REQUIRE(a.revoke(s.token).status == 204);
        const auto took = refused_within(b, s.token);
        REQUIRE(took);
        delays.push_back(us(*took));
    }
    std::sort(delays.begin(), delays.end());
    std::printf("%-9s revoke on A -> B refuses: p50 %.0f us, max %.0f us (20 revocations, incl. one request)\n",
                store.c_str(), delays[delays.size() / 2], delays.back());
    CHECK(metric(b, "sessiond_cache_invalidations_total") >= 20);
    CHECK(metric(b, "sessiond_cache_hits_total") >= 20);
    // A's own writes were timed to their invalidation.
    CHECK(metric(a, "sessiond_cache_invalidation_delay_seconds_count") >= 1);
}

TEST_CASE(
    "cache: a rotation on one instance: the other accepts the new token and metadata, refuses the old one "
    "after the grace",
    "[cache]") {
    contract_target a("redis", {"--rotation-grace", "1s"});
    contract_target b(a, {"--rotation-grace", "1s"});
    const auto s = create(a, "rotating", R"("metadata":{"plan":"free"})");
    warm(b, s.token);

    auto rotated = a.rotate(s.token, R"("metadata":{"plan":"pro"})");
    REQUIRE(rotated.status == 200);
    const auto next = str(rotated.json, "token");
    // B's cached record had the old secret: the new token is accepted once
    // the invalidation arrived, with the new metadata.
    REQUIRE(eventually([&] { return b.validate(next).status == 200; }, 5s, 1ms));
    auto seen = b.validate(next);
    REQUIRE(seen.status == 200);
    CHECK(session_of(seen).at("metadata").as_object().at("plan").as_string() == "pro");
    CHECK(b.validate(s.token).status == 200);  // the previous token, within its grace

    std::this_thread::sleep_for(1200ms);
    auto reused = b.validate(s.token);
    CHECK(reused.status == 401);
    // A rotated token after its grace is taken as stolen: the whole session went.
    CHECK(b.validate(next).status == 401);
    CHECK(a.validate(next).status == 401);
}

TEST_CASE("cache: a session changed behind sessiond's back (DEL, FLUSHALL, expiry, SET) is refused", "[cache]") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    const auto invalidations = [&] { return metric(t, "sessiond_cache_invalidations_total"); };

    SECTION("DEL") {
        const auto s = create(t, "del");
        warm(t, s.token);
        REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
        const auto took = refused_within(t, s.token);
        REQUIRE(took);
        std::printf("DEL by another client -> refused after %.0f us\n", us(*took));
    }
    SECTION("FLUSHALL") {
        const auto s = create(t, "flushall");
        warm(t, s.token);
        const auto flushes = metric(t, "sessiond_cache_flushes_total");
        REQUIRE(redis.command({"FLUSHALL"}).str == "OK");
        REQUIRE(refused_within(t, s.token));
        CHECK(metric(t, "sessiond_cache_flushes_total") > flushes);
    }
    SECTION("expired by Redis") {
        const auto s = create(t, "expiry");
        warm(t, s.token);
        const auto before = invalidations();
        // Redis' expiry, not the record's: the cached record alone would
        // still say the session lives.
        REQUIRE(redis.command({"PEXPIRE", session_key(redis, s.id), "50"}).num == 1);
        REQUIRE(refused_within(t, s.token));
        CHECK(invalidations() > before);
    }
    SECTION("SET of another value") {
        const auto s = create(t, "set");
        const auto other = create(t, "set-other");
        warm(t, s.token);
        const auto value = redis.command({"GET", session_key(redis, other.id)});
        REQUIRE(value.kind == resp_value::bulk);
        // Another session's record under this key: sealed for another key,
        // it is no session.
        REQUIRE(redis.command({"SET", session_key(redis, s.id), value.str, "KEEPTTL"}).str == "OK");
        REQUIRE(refused_within(t, s.token));
        CHECK(t.validate(other.token).status == 200);
    }
}

TEST_CASE("cache: idle and absolute expiry hold for cached sessions", "[cache]") {
    contract_target t("redis", {"--touch-fraction", "0.9"});
    SECTION("idle") {
        const auto s = create(t, "idle", R"("idle_timeout":2)");
        warm(t, s.token);
        std::this_thread::sleep_for(2200ms);
        auto r = t.validate(s.token);
        CHECK(r.status == 401);
    }
    SECTION("absolute, however often it is validated") {
        const auto created = clock_type::now();
        const auto s = create(t, "absolute", R"("absolute_timeout":2)");
        warm(t, s.token);
        while (clock_type::now() < created + 1700ms) {
            REQUIRE(t.validate(s.token).status == 200);
            std::this_thread::sleep_for(100ms);
        }
        std::this_thread::sleep_until(created + 2300ms);
        CHECK(t.validate(s.token).status == 401);
    }
}

TEST_CASE("cache: a due touch is written to Redis; validations within the touch window are served from the cache",
          "[cache]") {
    contract_target t("redis", {"--touch-fraction", "0.5"});
    resp_client redis(t.redis()->port());
    const auto s = create(t, "toucher", R"("idle_timeout":4)");
    warm(t, s.token);
    const auto key = session_key(redis, s.id);
    const auto ttl_before = redis.command({"PTTL", key}).num;
    const auto hits = metric(t, "sessiond_cache_hits_total");
    const auto misses = metric(t, "sessiond_cache_misses_total");
    for (int i = 0; i < 10; ++i)
        REQUIRE(t.validate(s.token).status == 200);
    // Each I/O thread reads it once at most; the rest are hits, and no write.
    CHECK(metric(t, "sessiond_cache_hits_total") - hits >= 8);
    CHECK(metric(t, "sessiond_cache_misses_total") - misses <= 2);
    CHECK(redis.command({"PTTL", key}).num <= ttl_before);
    // Past half the idle window the next validation extends it in Redis.
    std::this_thread::sleep_for(2200ms);
    REQUIRE(t.validate(s.token).status == 200);
    CHECK(redis.command({"PTTL", key}).num > ttl_before - 2200 + 1000);
    // And the session lives past its first idle deadline.
    std::this_thread::sleep_for(2200ms);
    CHECK(t.validate(s.token).status == 200);
}

TEST_CASE("cache: the invalidation link killed, Redis restarted, Redis frozen: never a stale acceptance",
          "[cache][outage]") {
    SECTION("CLIENT KILL of the invalidation links") {
        contract_target a("redis");
        contract_target b(a, {});
        resp_client redis(a.redis()->port());
        const auto s = create(a, "killed-link");
        warm(b, s.token);
        const auto flushes = metric(b, "sessiond_cache_flushes_total");
        // Kill the links (subscribed connections) and delete the session
        // while they reconnect: no invalidation can reach B for it.
        REQUIRE(redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}).num >= 2);
        REQUIRE(eventually([&] { return metric(b, "sessiond_cache_flushes_total") > flushes; }, 5s, 1ms));
        REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
        CHECK(b.validate(s.token).status == 401);
        // Tracking comes back, and with it the cache.
        REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 10s));
        const auto again = create(a, "killed-link-2");
        warm(b, again.token);
    }
    SECTION("Redis restarted (its data gone)") {
        contract_target t("redis", {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
        const auto s = create(t, "restart");
        warm(t, s.token);
        t.redis()->stop();
        // Down: nothing can be known, nothing is vouched for.
        for (int i = 0; i < 5; ++i)
            CHECK(t.validate(s.token).status == 503);
        t.redis()->start();
        // The first answer that is not 503 is the refusal.
        int answered = 0;
        REQUIRE(eventually(
            [&] {
                answered = t.validate(s.token).status;
                return answered != 503;
            },
            20s, 20ms));
        CHECK(answered == 401);
    }
    SECTION("Redis frozen, a revocation sent meanwhile") {
        contract_target a("redis", {"--redis-command-timeout", "300ms"});
        contract_target b(a, {"--redis-command-timeout", "300ms"});
        const auto s = create(a, "frozen");
        warm(b, s.token);
        const auto key = [&] {
            resp_client redis(a.redis()->port());
            return session_key(redis, s.id);
        }();
        a.redis()->freeze();
        // Past the links' freshness bound, B no longer answers from the cache.
        std::this_thread::sleep_for(1500ms);
        CHECK(b.validate(s.token).status == 503);
        // Sent while frozen, executed when Redis resumes.
        auto deleted = std::async(std::launch::async, [&] {
            resp_client redis(a.redis()->port());
            return redis.command({"DEL", key}).num;
        });
        std::this_thread::sleep_for(200ms);
        a.redis()->thaw();
        REQUIRE(deleted.get() == 1);
        // B's connections may still be recovering from the freeze: 503 until then.
        const auto took = refused_within(b, s.token, 5s, true);
        REQUIRE(took);
        std::printf("frozen Redis resumed: B refuses %.0f us after the DEL was acknowledged\n", us(*took));
    }
}

TEST_CASE("cache: off, every validation reads Redis", "[cache]") {
    contract_target t("redis", {"--cache", "false"});
    const auto s = create(t, "uncached");
    for (int i = 0; i < 5; ++i)
        REQUIRE(t.validate(s.token).status == 200);
    CHECK(metric(t, "sessiond_cache_hits_total") == 0);
    CHECK(metric(t, "sessiond_cache_tracking_threads") == 0);
    resp_client redis(t.redis()->port());
    REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
    CHECK(t.validate(s.token).status == 401);
}

TEST_CASE("cache: a Sentinel failover drops every entry; what changes after it is seen", "[cache][sentinel]") {
    sentinel_setup s;
    const std::vector<std::string> args{
        "--redis-url", s.url(), "--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"};
    contract_target a("sentinel", args);
    contract_target b(a, {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
    const auto before = create(a, "failover");
    warm(b, before.token);
    const auto flushes = metric(b, "sessiond_cache_flushes_total");

    const auto old_master = s.master_port();
    s.failover();
    s.wait_for_new_master(old_master, 30s);
    // Each I/O thread of B follows the new primary and drops its entries.
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_flushes_total") >= flushes + 2; }, 30s, 10ms));
    REQUIRE(eventually([&] { return a.revoke(before.token).status == 204; }, 30s, 20ms));
    const auto took = refused_within(b, before.token, 5s, true);
    REQUIRE(took);
    std::printf("after a Sentinel failover: B refuses a revocation through A after %.0f us\n", us(*took));
    // Tracking follows the new primary: the cache serves again.
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 30s));
    const auto after = create(a, "failover-after");
    warm(b, after.token);
}

namespace {

// The bucket a public session id carries: its first 16 bits (base64url).
std::string bucket_of(const std::string& id) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned bits = 0;
    for (int i = 0; i < 3; ++i)
        bits = bits << 6 | static_cast<unsigned>(alphabet.find(id.at(static_cast<std::size_t>(i))));
    return std::to_string(bits >> 2);
}

}  // namespace

TEST_CASE("cache: a Cluster slot moved or failed over drops every entry; what changes after it is seen",
          "[cache][cluster]") {
    cluster_setup c;
    const std::vector<std::string> timeouts{"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"};
    auto args = timeouts;
    args.insert(args.begin(), {"--redis-url", c.url()});
    contract_target a("cluster", args);
    contract_target b(a, timeouts);
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    const auto s = create(a, "cluster-cached");
    const int slot = c.slot_of("{" + bucket_of(s.id) + "}");
    const auto owner = c.owner_of_slot(slot);
    warm(b, s.token);
    const auto flushes = metric(b, "sessiond_cache_flushes_total");

    SECTION("the session's slot migrated to another primary") {
        unsigned short to = 0;
        for (int other : {0, 5500, 11000, 16383})
            if (c.owner_of_slot(other) != owner) to = c.owner_of_slot(other);
        REQUIRE(to != 0);
        c.migrate_slot(slot, to);
        REQUIRE(c.owner_of_slot(slot) == to);
    }
    SECTION("the session's primary failed over to its replica") {
        c.manual_failover(c.replica_of(owner));
        REQUIRE(c.owner_of_slot(slot) != owner);
    }
    // B learns of the change (a MOVED, or its periodic refresh) and drops
    // everything; the session itself lives on (503 only while a failover
    // is under way, never a refusal).
    REQUIRE(eventually(
        [&] {
            const int status = b.validate(s.token).status;
            CHECK((status == 200 || status == 503));
            return metric(b, "sessiond_cache_flushes_total") > flushes;
        },
        20s, 20ms));
    REQUIRE(eventually([&] { return b.validate(s.token).status == 200; }, 20s, 20ms));
    warm(b, s.token);  // cached again, from the slot's new primary
    REQUIRE(eventually([&] { return a.revoke(s.token).status == 204; }, 20s, 20ms));
    const auto took = refused_within(b, s.token, 5s, true);
    REQUIRE(took);
    std::printf("cluster change: B refuses a revocation through A after %.0f us\n", us(*took));
}

TEST_CASE("cache: during a scale-out, a session answered through ASK by a new node is not served stale",
          "[cache][cluster]") {
    // A new, empty primary joins; the session's slot starts moving to it and
    // its key moves: every read of it is answered through ASK by the new
    // node, which owns no slot yet. A revocation through A, there, must be
    // refused by B as promptly as anywhere else, the migration left open.
    cluster_setup c;
    const std::vector<std::string> timeouts{"--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"};
    auto args = timeouts;
    args.insert(args.begin(), {"--redis-url", c.url()});
    contract_target a("cluster", args);
    contract_target b(a, timeouts);
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    const auto s = create(a, "scale-out-cached");
    const int slot = c.slot_of("{" + bucket_of(s.id) + "}");
    const auto source = c.owner_of_slot(slot);

    const auto fresh = c.add_primary();
    c.begin_migration(slot, fresh);
    c.move_keys(slot, fresh);
    const auto asks = metric(b, "sessiond_redis_redirects_total{kind=\"ask\"}");
    // B reads the session through ASK from the new node until it serves it
    // from its cache (its links now include that node).
    warm(b, s.token);
    CHECK(metric(b, "sessiond_redis_redirects_total{kind=\"ask\"}") > asks);
    REQUIRE(c.owner_of_slot(slot) == source);  // still migrating

    REQUIRE(eventually([&] { return a.revoke(s.token).status == 204; }, 20s, 20ms));
    const auto took = refused_within(b, s.token, 5s, true);
    REQUIRE(took);
    std::printf("scale-out, slot migrating to an empty node: B refuses a revocation through A after %.0f us\n",
                us(*took));
    // Nothing through ASK is cached stale either after the move completes.
    c.finish_migration(slot, source, fresh);
    REQUIRE(c.owner_of_slot(slot) == fresh);
    CHECK(b.validate(s.token).status == 401);
    CHECK(a.validate(s.token).status == 401);
}
