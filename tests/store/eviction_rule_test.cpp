// One eviction rule, which decides which of a user's sessions make room for
// a new one, and the two copies of it that run:
//   - the C++ rule, session::admit_ordered (server/session/rules.hpp). The
//     memory store (memory_store::create) calls it with its index of the
//     user's live sessions; session::admit calls it with a plain list of
//     sessions after dropping the expired ones and sorting the rest.
//   - the Lua copy in the Redis create script
//     (server/store/scripts/create.lua), run by redis_store::create.
// Random cases go through session::admit (the expected answer), the memory
// store and the Redis store, which must agree victim for victim and in the
// same order: the memory store's answer checks that its index is the input
// the rule expects (the order, the expired sessions left out), the Redis
// store's that the Lua copy decides as the C++ rule does.

#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "common/error.hpp"
#include "redis_store_fixture.hpp"
#include "store/memory_store.hpp"

using namespace sessiond;
using namespace sessiond::test;

namespace {

// A session of `user` whose store deadline is `deadline`.
session_record with_deadline(const user_ref& user, const session_id& id, session::timestamp created,
                             session::timestamp deadline) {
    session_record r;
    r.id = id;
    r.user_id = user.user_id;
    r.created_at = r.last_seen_at = r.authenticated_at = created;
    r.idle_timeout = std::chrono::hours(3);
    r.expires_at = created + std::chrono::hours(24);
    r.idle_expires_at = deadline;
    r.secret_hash = session::digest_secret(session::as_bytes(id.to_string()));
    return r;
}

}  // namespace

TEST_CASE("the memory store (the C++ rule) and the Redis create script (its Lua copy) evict as session::admit decides",
          "[store][redis][eviction]") {
    // Redis expires keys and prunes indexes on its own clock, so the stores'
    // clock is the real one, held still: deadlines lie on a 15-minute grid
    // around it, and those at or before it are expired for Redis, the memory
    // store and the rule alike (a session stored expired has no key and an
    // index entry the decision prunes).
    const auto real_now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    const auto decided_at = real_now;
    session::fake_clock clock(real_now);
    redis_store_fixture f(&clock);
    store::memory_store memory(f.ioc, clock, 1'000'000);

    std::mt19937_64 rng(20261201);
    int rejected = 0, evicting = 0;
    for (int round = 0; round < 150; ++round) {
        const auto bucket = static_cast<std::uint16_t>(rng() % session::bucket_count);
        const user_ref user{"user-" + std::to_string(round), bucket, "ix" + std::to_string(round)};
        session::policy p;
        p.max_sessions_per_user = 1 + rng() % 5;
        p.on_limit = rng() % 3 == 0 ? session::limit_policy::reject : session::limit_policy::evict_lru;

        // Deadlines from 30 minutes before the decision to an hour after it,
        // on a coarse grid so that ties (broken by id) happen often.
        std::vector<session::eviction_candidate> candidates;
        const auto count = rng() % 9;
        for (std::size_t i = 0; i < count; ++i) {
            const auto id = session_id::generate(bucket);
            const auto deadline = decided_at + std::chrono::minutes(15 * static_cast<int>(rng() % 7) - 30);
            const auto r = with_deadline(user, id, real_now, deadline);
            session::policy unlimited;
            REQUIRE(f.run(f.store.create(r, user, unlimited)));
            REQUIRE(f.run(memory.create(r, user, unlimited)));
            candidates.push_back({id, deadline});
        }

        const auto expected = session::admit(candidates, decided_at, p);
        const auto fresh =
            with_deadline(user, session_id::generate(bucket), decided_at, decided_at + std::chrono::hours(2));
        const auto in_redis = f.run(f.store.create(fresh, user, p));
        const auto in_memory = f.run(memory.create(fresh, user, p));

        INFO("round " << round << ": " << count << " sessions, limit " << p.max_sessions_per_user);
        if (expected.rejected) {
            ++rejected;
            REQUIRE_FALSE(in_redis);
            CHECK(in_redis.error() == sessiond::error::session_limit);
            REQUIRE_FALSE(in_memory);
            CHECK(in_memory.error() == sessiond::error::session_limit);
            continue;
        }
        REQUIRE(in_redis);
        REQUIRE(in_memory);
        std::vector<session_id> redis_victims, memory_victims;
        for (const auto& r : in_redis->evicted)
            redis_victims.push_back(r.id);
        for (const auto& r : in_memory->evicted)
            memory_victims.push_back(r.id);
        CHECK(redis_victims == expected.evict);
        CHECK(memory_victims == expected.evict);
        if (!expected.evict.empty()) ++evicting;
        for (const auto& id : expected.evict) {
            CHECK(*f.run(f.store.get(id)) == std::nullopt);
            CHECK(*f.run(memory.get(id)) == std::nullopt);
        }
    }
    // The cases cover both outcomes of the limit.
    CHECK(rejected > 5);
    CHECK(evicting > 20);
}
