// Bounded work per user: a user's sessions are listed page by page and
// revoked batch by batch, each store call examining at most store::max_walk
// (store::max_removal for a revoke-all batch)
// entries of the user's index, and the per-user limit is enforced by looking
// at the victims only. The same walk runs against both stores; Redis' own
// command statistics show how much work each script did.

#include <catch2/catch.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "redis_store_fixture.hpp"
#include "store/memory_store.hpp"
#include "support/resp_client.hpp"

using namespace sessiond;
using namespace sessiond::test;

namespace {

// The same operations on either store, run to completion.
struct either_store {
    redis_store_fixture& f;
    store::session_store& s;

    template <class T>
    T run(asio::awaitable<T> op) {
        return f.run(std::move(op));
    }

    // Every page of the user's sessions, in order; each page checked to hold
    // at most `page` sessions of this user only.
    std::vector<session_id> walk(const user_ref& user, std::size_t page, int* pages = nullptr,
                                 const std::function<void(const std::vector<session_id>&)>& between = {}) {
        std::vector<session_id> out;
        std::optional<store::user_cursor> after;
        int n = 0;
        do {
            auto listed = run(s.list_user(user, after, page));
            REQUIRE(listed);
            CHECK(listed->sessions.size() <= page);
            for (const auto& r : listed->sessions) {
                CHECK(r.user_id == user.user_id);
                out.push_back(r.id);
            }
            after = listed->next;
            if (between && after) between(out);
            REQUIRE(++n < 10'000);
        } while (after);
        if (pages) *pages = n;
        return out;
    }
};

// `count` sessions of `user` created in one burst, so that many share a
// deadline to the millisecond (ties are ordered by id).
std::vector<session_record> burst(redis_store_fixture& f, store::session_store& s, const user_ref& user,
                                  std::size_t count) {
    std::vector<session_record> out;
    session::policy unlimited;
    for (std::size_t i = 0; i < count; ++i) {
        auto r = f.record(session_id::generate(user.bucket), user.user_id);
        REQUIRE(f.run(s.create(r, user, unlimited)));
        out.push_back(r);
    }
    return out;
}

std::set<session_id> ids_of(const std::vector<session_record>& records) {
    std::set<session_id> out;
    for (const auto& r : records)
        out.insert(r.id);
    return out;
}

// Calls of one command since the last CONFIG RESETSTAT, scripts' calls included.
long long calls(resp_client& redis, const std::string& command) {
    const auto info = redis.command({"INFO", "commandstats"}).str;
    const auto at = info.find("cmdstat_" + command + ":calls=");
    if (at == std::string::npos) return 0;
    const auto* first = info.data() + at + command.size() + 15;
    long long n = 0;
    std::from_chars(first, info.data() + info.size(), n);
    return n;
}

}  // namespace

TEST_CASE("a user's sessions are listed page by page: every live session once, another user's never",
          "[store][redis][memory]") {
    redis_store_fixture f;
    store::memory_store memory(f.ioc, f.clock, 1'000'000);
    const bool is_redis = GENERATE(true, false);
    store::session_store* s = is_redis ? static_cast<store::session_store*>(&f.store) : &memory;
    INFO((is_redis ? "redis" : "memory") << " store");
    either_store e{f, *s};
    const user_ref alice{"alice", 300, "alice-ix"}, bob{"bob", 300, "bob-ix"};
    const auto sessions = burst(f, *s, alice, 2 * store::max_walk + 300);
    const auto bobs = burst(f, *s, bob, 5);

    SECTION("in pages of the size asked for, no session twice") {
        int pages = 0;
        auto walked = e.walk(alice, 100, &pages);
        CHECK(walked.size() == sessions.size());
        CHECK(std::set<session_id>(walked.begin(), walked.end()) == ids_of(sessions));
        CHECK(pages >= 24);
        CHECK(pages <= 25);                               // the last page may come back empty
        auto all = e.walk(alice, store::max_walk + 500);  // more than a call may examine: clamped
        CHECK(all.size() == sessions.size());
        CHECK(e.walk(bob, 100).size() == 5);
    }
    SECTION("a session revoked or touched during the walk: the others are listed once each") {
        // After the first page: the cursor's own session and one not yet
        // listed are revoked, and another not yet listed is touched (its
        // deadline moves to the end of the order).
        std::optional<session_id> gone_unseen;
        auto walked = e.walk(alice, 100, nullptr, [&](const std::vector<session_id>& seen) {
            if (gone_unseen) return;
            const std::set<session_id> listed(seen.begin(), seen.end());
            std::vector<session_record> unseen;
            for (const auto& r : sessions)
                if (!listed.count(r.id)) unseen.push_back(r);
            for (const auto& id : {seen.back(), unseen[7].id}) {
                auto removed = e.run(s->remove(id, alice));
                REQUIRE(removed);
                CHECK(removed->has_value());
            }
            gone_unseen = unseen[7].id;
            auto moved = unseen[300];
            moved.idle_expires_at += std::chrono::minutes(5);
            moved.version += 1;
            REQUIRE(*e.run(s->replace(unseen[300], moved, alice)));
        });
        REQUIRE(gone_unseen);
        std::map<session_id, int> times;
        for (const auto& id : walked)
            ++times[id];
        CHECK(times.count(*gone_unseen) == 0);
        CHECK(times.size() == sessions.size() - 1);
        for (const auto& [id, n] : times)
            CHECK(n == 1);
    }
    SECTION("revoke-all goes batch by batch, keeps the exception and another user's sessions") {
        std::size_t removed = 0;
        int batches = 0;
        std::optional<store::user_cursor> after;
        do {
            auto batch = e.run(s->remove_user(alice, sessions[3].id, after));
            REQUIRE(batch);
            CHECK(batch->removed <= store::max_removal);
            removed += batch->removed;
            after = batch->next;
            ++batches;
        } while (after);
        CHECK(removed == sessions.size() - 1);
        CHECK(batches >= 3);
        CHECK(e.walk(alice, 100) == std::vector<session_id>{sessions[3].id});
        CHECK(e.walk(bob, 100).size() == 5);
    }
    if (is_redis) {
        resp_client redis(f.srv.port());
        SECTION("in Redis, a page reads no more sessions than it returns") {
            redis.command({"CONFIG", "RESETSTAT"});
            auto page = e.run(s->list_user(alice, std::nullopt, 50));
            REQUIRE(page);
            CHECK(page->sessions.size() == 50);
            CHECK(calls(redis, "get") == 50);
        }
        SECTION("in Redis, one revoke-all batch reads at most max_removal sessions") {
            redis.command({"CONFIG", "RESETSTAT"});
            auto batch = e.run(s->remove_user(alice, std::nullopt, std::nullopt));
            REQUIRE(batch);
            CHECK(batch->removed == store::max_removal);
            CHECK(batch->next);
            CHECK(calls(redis, "get") == static_cast<long long>(store::max_removal));
            CHECK(calls(redis, "del") == static_cast<long long>(store::max_removal));
        }
    }
}

TEST_CASE("the per-user limit looks at the victims only, however many sessions the user has",
          "[store][redis][memory]") {
    redis_store_fixture f;
    store::memory_store memory(f.ioc, f.clock, 1'000'000);
    resp_client redis(f.srv.port());
    const bool is_redis = GENERATE(true, false);
    store::session_store* s = is_redis ? static_cast<store::session_store*>(&f.store) : &memory;
    INFO((is_redis ? "redis" : "memory") << " store");
    const user_ref carol{"carol", 301, "carol-ix"};
    const auto sessions = burst(f, *s, carol, 3000);
    std::vector<session::eviction_candidate> candidates;
    for (const auto& r : sessions)
        candidates.push_back({r.id, session::store_deadline(r)});
    session::policy p;
    p.max_sessions_per_user = 3000;

    p.on_limit = session::limit_policy::reject;
    redis.command({"CONFIG", "RESETSTAT"});
    auto refused = f.run(s->create(f.record(session_id::generate(301), "carol"), carol, p));
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == sessiond::error::session_limit);
    if (is_redis) CHECK(calls(redis, "get") == 1);

    // The rule's victim: the earliest deadline, ties by id.
    p.on_limit = session::limit_policy::evict_lru;
    const auto expected = session::admit(candidates, f.clock.now(), p);
    REQUIRE(expected.evict.size() == 1);
    redis.command({"CONFIG", "RESETSTAT"});
    auto admitted = f.run(s->create(f.record(session_id::generate(301), "carol"), carol, p));
    REQUIRE(admitted);
    REQUIRE(admitted->evicted.size() == 1);
    CHECK(admitted->evicted[0].id == expected.evict[0]);
    if (is_redis) CHECK(calls(redis, "get") == 1);

    // A limit lowered far below the user's count: one create evicts at most
    // max_walk sessions; the rest go with the creates that follow.
    p.max_sessions_per_user = 10;
    auto lowered = f.run(s->create(f.record(session_id::generate(301), "carol"), carol, p));
    REQUIRE(lowered);
    CHECK(lowered->evicted.size() == store::max_walk);
    std::size_t creates = 1;
    either_store e{f, *s};
    while (e.walk(carol, store::max_walk).size() > 10 && creates < 10) {
        REQUIRE(f.run(s->create(f.record(session_id::generate(301), "carol"), carol, p)));
        ++creates;
    }
    CHECK(creates == 3);
}
