// The Redis store against a real redis-server, below the HTTP API: what its
// scripts store in the user index and how they find sessions through it.

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

#include "../session/result_string.hpp"

#include "redis/client.hpp"
#include "redis/config.hpp"
#include "session/crypto.hpp"
#include "session/rules.hpp"
#include "store/redis_store.hpp"
#include "support/redis_server.hpp"
#include "support/resp_client.hpp"

using namespace sessiond;
using namespace sessiond::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using session::session_id;
using session::session_record;
using store::user_ref;

namespace {

// A redis_store on its own redis-server, with the wall clock (Redis expires
// keys on its own clock).
struct fixture {
    redis_server srv;
    asio::io_context ioc;
    redis::client client;
    session::wall_clock clock;
    store::redis_store store;
    session::policy policy;

    fixture() : client(ioc, config(srv), 1), store(client, clock, "t:") {
        client.start();
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (!client.ready() && std::chrono::steady_clock::now() < end) {
            ioc.restart();
            ioc.run_for(5ms);
        }
        REQUIRE(client.ready());
    }
    ~fixture() { client.stop(); }

    static redis::config config(const redis_server& srv) {
        redis::config cfg = redis::parse_url(srv.url()).value();
        cfg.connections = 1;
        cfg.command_timeout = 2000ms;
        return cfg;
    }

    // Runs one store operation to completion.
    template <class T>
    T run(asio::awaitable<T> op) {
        std::optional<T> out;
        asio::co_spawn(
            ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (!out && std::chrono::steady_clock::now() < end) {
            ioc.restart();
            ioc.run_for(5ms);
        }
        REQUIRE(out);
        return std::move(*out);
    }

    session_record record(const session_id& id, const std::string& user_id) {
        auto r = session::new_record(id, session::digest_secret(session::as_bytes(id.to_string())),
                                     {user_id, "{}", {}, {}}, clock.now(), policy);
        REQUIRE(r);
        return *r;
    }

    session_record create(const session_id& id, const user_ref& user) {
        session_record r = record(id, user.user_id);
        auto created = run(store.create(r, user, policy));
        REQUIRE(created);
        return r;
    }

    std::set<session_id> listed(const user_ref& user) {
        auto list = run(store.list_user(user));
        REQUIRE(list);
        std::set<session_id> out;
        for (const auto& r : *list) {
            CHECK(r.user_id == user.user_id);
            out.insert(r.id);
        }
        return out;
    }
};

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
        auto removed = f.run(f.store.remove_user(user, ids[5]));
        REQUIRE(removed);
        CHECK(*removed == ids.size() - 1);
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
