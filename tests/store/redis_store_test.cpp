// The Redis store against a real redis-server, below the HTTP API: what its
// scripts store in the user index, how they find sessions through it, and
// that an index shared by two users keeps their sessions apart.

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/result_string.hpp"

#include "common/error.hpp"
#include "redis/client.hpp"
#include "redis/config.hpp"
#include "session/crypto.hpp"
#include "session/rules.hpp"
#include "store/redis_store.hpp"
#include "redis_store_fixture.hpp"
#include "support/resp_client.hpp"

using namespace sessiond;
using namespace sessiond::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using session::session_id;
using session::session_record;
using store::user_ref;

using fixture = redis_store_fixture;

namespace {

session_id id_of(std::uint16_t bucket, std::uint8_t fill) {
    session_id id;
    id.bucket = bucket;
    id.id.fill(fill);
    return id;
}

}  // namespace

TEST_CASE("index members are the raw 16 id bytes, and the scripts spell every session key from them",
          "[store][redis]") {
    fixture f;
    // Ids whose public spellings use every base64url character, in the
    // lowest and highest buckets and two in between.
    std::mt19937_64 rng(7);
    std::set<char> spelled;
    for (const std::uint16_t bucket : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{8191}, std::uint16_t{16383}}) {
        const user_ref user{"user-" + std::to_string(bucket), bucket, "idx" + std::to_string(bucket)};
        std::vector<session_id> ids = {id_of(bucket, 0x00), id_of(bucket, 0xFF)};
        for (int i = 0; i < 30; ++i) {
            session_id id{bucket, {}};
            for (auto& b : id.id)
                b = static_cast<std::uint8_t>(rng());
            ids.push_back(id);
        }
        for (const auto& id : ids) {
            f.create(id, user);
            for (const char c : id.to_string())
                spelled.insert(c);
        }

        resp_client redis(f.srv.port());
        const auto members = redis.command({"ZRANGE", f.store.user_key(user), "0", "-1"}).elements;
        REQUIRE(members.size() == ids.size());
        std::set<std::string> expected;
        for (const auto& id : ids)
            expected.insert(std::string(id.id.begin(), id.id.end()));
        for (const auto& m : members)
            CHECK(expected.count(m.str) == 1);

        // list finds every session through its member ...
        CHECK(f.listed(user) == std::set<session_id>(ids.begin(), ids.end()));
        // ... and revoke-all deletes every session key but the one kept.
        CHECK(f.remove_all(user, ids[5]) == ids.size() - 1);
        CHECK(f.listed(user) == std::set<session_id>{ids[5]});
        for (const auto& id : ids) {
            const auto exists = redis.command({"EXISTS", f.store.session_key(id)}).num;
            CHECK(exists == (id == ids[5] ? 1 : 0));
        }
    }
    CHECK(spelled.size() == 64);
}

TEST_CASE("at the per-user limit the scripts find, evict and return the earliest sessions", "[store][redis]") {
    fixture f;
    f.policy.max_sessions_per_user = 2;
    const user_ref user{"lim", 16383, "idx"};
    const session_id a = id_of(16383, 0xFB), b = id_of(16383, 0x00), c = id_of(16383, 0xFF);
    // Each later session has a later deadline: a's is the earliest.
    f.create(a, user);
    std::this_thread::sleep_for(5ms);
    f.create(b, user);
    std::this_thread::sleep_for(5ms);
    session_record r = f.record(c, user.user_id);
    auto created = f.run(f.store.create(r, user, f.policy));
    REQUIRE(created);
    REQUIRE(created->evicted.size() == 1);
    CHECK(created->evicted[0].id == a);
    CHECK(f.listed(user) == std::set<session_id>{b, c});
}

// Index names are 64-bit keyed hashes, so two users of one bucket may, very
// rarely, share an index. Sharing must be harmless: each user sees, evicts
// and revokes only their own sessions.
TEST_CASE("two users sharing an index see, evict and revoke only their own sessions", "[store][redis]") {
    fixture f;
    const user_ref alice{"alice", 77, "shared"}, bob{"bob", 77, "shared"};
    REQUIRE(f.store.user_key(alice) == f.store.user_key(bob));
    std::vector<session_id> a_ids, b_ids;
    for (std::uint8_t i = 0; i < 2; ++i) {
        // Deadlines interleave: alice's first session is the earliest of all.
        a_ids.push_back(f.create(id_of(77, static_cast<std::uint8_t>(0xA0 + i)), alice).id);
        std::this_thread::sleep_for(5ms);
        b_ids.push_back(f.create(id_of(77, static_cast<std::uint8_t>(0x10 + i)), bob).id);
        std::this_thread::sleep_for(5ms);
    }
    resp_client redis(f.srv.port());
    REQUIRE(redis.command({"ZCARD", f.store.user_key(alice)}).num == 4);

    CHECK(f.listed(alice) == std::set<session_id>(a_ids.begin(), a_ids.end()));
    CHECK(f.listed(bob) == std::set<session_id>(b_ids.begin(), b_ids.end()));

    auto bobs_sessions_are_valid = [&] {
        for (const auto& id : b_ids) {
            auto got = f.run(f.store.get(id));
            REQUIRE(got);
            REQUIRE(got->has_value());
            CHECK((*got)->user_id == "bob");
        }
        CHECK(f.listed(bob) == std::set<session_id>(b_ids.begin(), b_ids.end()));
    };

    SECTION("the per-user limit evicts only the user's own sessions and is met early, never exceeded") {
        // The create script looks only at the first entries of the index
        // (its order is the eviction order) and counts every entry: in a
        // shared index the other user's sessions count too. That makes the
        // limit stricter for both, never looser, and nobody else's session
        // is ever a victim.
        f.policy.max_sessions_per_user = 3;
        f.policy.on_limit = session::limit_policy::evict_lru;
        // Index a0 b0 a1 b1: one too many with a new one; a0 goes, b0 stays.
        auto third = f.run(f.store.create(f.record(id_of(77, 0xA2), "alice"), alice, f.policy));
        REQUIRE(third);
        REQUIRE(third->evicted.size() == 1);
        CHECK(third->evicted[0].id == a_ids[0]);
        CHECK(third->evicted[0].user_id == "alice");
        CHECK(f.listed(alice) == std::set<session_id>{a_ids[1], id_of(77, 0xA2)});
        bobs_sessions_are_valid();
        // Index b0 a1 b1 a2: rejecting, alice is refused at 2 of her own.
        f.policy.on_limit = session::limit_policy::reject;
        auto refused = f.run(f.store.create(f.record(id_of(77, 0xA3), "alice"), alice, f.policy));
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error() == sessiond::error::session_limit);
        CHECK(f.listed(alice) == std::set<session_id>{a_ids[1], id_of(77, 0xA2)});
        bobs_sessions_are_valid();
        // With a limit the index fits in, both are admitted as before.
        f.policy.max_sessions_per_user = 5;
        REQUIRE(f.run(f.store.create(f.record(id_of(77, 0x12), "bob"), bob, f.policy)));
        CHECK(redis.command({"ZCARD", f.store.user_key(bob)}).num == 5);
    }

    SECTION("revoking all of one user's sessions leaves the other's valid") {
        CHECK(f.remove_all(alice, std::nullopt) == 2);
        CHECK(f.listed(alice).empty());
        for (const auto& id : a_ids) {
            auto got = f.run(f.store.get(id));
            REQUIRE(got);
            CHECK_FALSE(got->has_value());
        }
        bobs_sessions_are_valid();
        CHECK(redis.command({"ZCARD", f.store.user_key(bob)}).num == 2);

        // With an exception, as the API's revoke-all "except" does.
        CHECK(f.remove_all(bob, b_ids[1]) == 1);
        CHECK(f.listed(bob) == std::set<session_id>{b_ids[1]});
    }
}

TEST_CASE("the scripts read the owner from the record header whatever its varint lengths", "[store][redis]") {
    fixture f;
    // User ids that prefix one another, and lengths of one- and two-byte
    // varints; versions of one and two bytes.
    const std::vector<std::string> users = {
        "b", "bo", "bob", std::string(127, 'u'), std::string(128, 'u'), std::string(200, 'u'), std::string(256, 'u')};
    std::vector<user_ref> refs;
    std::vector<session_id> ids;
    for (std::size_t i = 0; i < users.size(); ++i) {
        refs.push_back(user_ref{users[i], 9, "shared"});
        ids.push_back(id_of(9, static_cast<std::uint8_t>(i)));
        session_record r = f.record(ids.back(), users[i]);
        r.version = i % 2 == 0 ? 1 : 300;
        REQUIRE(f.run(f.store.create(r, refs.back(), f.policy)));
    }
    for (std::size_t i = 0; i < users.size(); ++i) {
        INFO("user id of " << users[i].size() << " bytes");
        CHECK(f.listed(refs[i]) == std::set<session_id>{ids[i]});
    }
    CHECK(f.remove_all(refs[4], std::nullopt) == 1);
    for (std::size_t i = 0; i < users.size(); ++i)
        CHECK(f.listed(refs[i]).size() == (i == 4 ? 0U : 1U));
}

TEST_CASE("an instance whose clock runs ahead drops no live session from its user's index", "[store][redis]") {
    // Expiry is Redis' business: it expires the keys on its own clock, and
    // the scripts prune indexes on the same clock, not on the caller's.
    fixture f;
    session::fake_clock ahead(std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()) +
                              std::chrono::hours(2));
    store::redis_store fast(f.client, ahead, "t:", store::record_sealer(f.keys, {}));
    const user_ref dora{"dora", 12, "dora-ix"};
    std::set<session_id> ids;
    for (std::uint8_t i = 0; i < 3; ++i)
        ids.insert(f.create(id_of(12, i), dora).id);

    // Through the fast instance: a list and a create (both prune), with
    // sessions whose deadlines (30 minutes away) its clock has passed.
    REQUIRE(f.run(fast.list_user(dora, std::nullopt, 100)));
    session_record late = f.record(id_of(12, 9), "dora");
    late.expires_at = ahead.now() + std::chrono::hours(3);
    late.idle_expires_at = ahead.now() + std::chrono::hours(1);
    REQUIRE(f.run(fast.create(late, dora, f.policy)));
    ids.insert(late.id);

    resp_client redis(f.srv.port());
    CHECK(redis.command({"ZCARD", f.store.user_key(dora)}).num == 4);
    CHECK(f.listed(dora) == ids);
    CHECK(f.remove_all(dora, std::nullopt) == 4);
    for (const auto& id : ids)
        CHECK(*f.run(f.store.get(id)) == std::nullopt);
}

TEST_CASE("a record with a chain of previous secrets is stored as format 4 and read back whole; the scripts read it",
          "[store][redis]") {
    fixture f;
    const user_ref user{"chained", 7, "idx-chained"};
    auto r = f.create(id_of(7, 0x42), user);
    // Three rotations within each other's grace.
    for (const char* next : {"s2", "s3", "s4"}) {
        auto rotated =
            session::rotate(r, r.secret_hash, session::digest_secret(session::as_bytes(next)), f.clock.now(), f.policy);
        REQUIRE(rotated.updated);
        REQUIRE(f.run(f.store.replace(r, *rotated.updated, user)).value());
        r = *rotated.updated;
    }
    REQUIRE(r.previous.size() == 3);
    resp_client redis(f.srv.port());
    const auto value = redis.command({"GET", f.store.session_key(r.id)});
    REQUIRE(value.kind == resp_value::bulk);
    CHECK(value.str[0] == 4);
    auto read = f.run(f.store.get(r.id));
    REQUIRE(read);
    REQUIRE(*read);
    CHECK(**read == r);
    // The scripts find the owner and the version in its header.
    CHECK(f.listed(user) == std::set<session_id>{r.id});
    auto stale = r;
    --stale.version;
    CHECK_FALSE(f.run(f.store.replace(stale, r, user)).value());
    CHECK(f.remove_all(user, std::nullopt) == 1);
}

TEST_CASE("a claimed name stays marked for the lifetime asked, by Redis' clock, and is a durable write",
          "[store][redis]") {
    fixture f;
    resp_client redis(f.srv.port());
    REQUIRE(f.run(f.store.claim_once("jti-a", 10min)).value());
    CHECK_FALSE(f.run(f.store.claim_once("jti-a", 10min)).value());
    const auto ttl = redis.command({"PTTL", "t:jti:{jti-a}"}).num;
    CHECK(ttl > std::chrono::milliseconds(10min - 10s).count());
    CHECK(ttl <= std::chrono::milliseconds(10min).count());

    // With durable writes on, the mark waits for its replicas as a
    // revocation does: none here, so the redemption is not acknowledged
    // (503), and the mark holds all the same.
    auto cfg = fixture::config(f.srv);
    cfg.wait_replicas = 1;
    cfg.wait_timeout = 100ms;
    redis::client durable(f.ioc, cfg, 1);
    store::redis_store waiting(durable, f.clock, "t:", store::record_sealer(f.keys, {}));
    start_and_wait(f.ioc, durable);
    auto first = f.run(waiting.claim_once("jti-b", 1min));
    REQUIRE_FALSE(first);
    CHECK(first.error() == sessiond::error::store_unacknowledged);
    CHECK(redis.command({"EXISTS", "t:jti:{jti-b}"}).num == 1);
    CHECK_FALSE(f.run(f.store.claim_once("jti-b", 1min)).value());
    durable.stop();
}
