// The Redis store against replies of the wrong shape (a Redis that lies or
// a proxy that mangles): each is a failed operation (503 for a caller),
// never a silent 0, an empty list or "not found".

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "redis/client.hpp"
#include "redis/config.hpp"
#include "session/rules.hpp"
#include "store/redis_store.hpp"
#include "redis_store_fixture.hpp"
#include "support/lying_redis.hpp"
#include "support/result_string.hpp"

using namespace sessiond;
using namespace sessiond::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// A Redis store whose server answers the first `verb` with `lie`.
struct lied_to {
    lying_redis srv;
    asio::io_context ioc;
    redis::client client;
    session::wall_clock clock;
    store::redis_store store{
        client, clock,
        "t:", store::record_sealer(std::make_shared<const session::keyring>(session::keyring::make_ephemeral()), {})};

    lied_to(const std::string& verb, const std::string& lie)
        : srv(verb, lie), client(ioc, redis::parse_url(srv.url()).value(), 1) {
        start_and_wait(ioc, client);
    }
    ~lied_to() { client.stop(); }

    template <class T>
    T run(asio::awaitable<T> op) {
        return run_to_completion(ioc, std::move(op));
    }
};

const store::user_ref alice{"alice", 42, "idx"};

session::session_record record() {
    session::policy p;
    auto r = session::new_record(session::session_id::generate(42), session::digest_secret(session::as_bytes("s")),
                                 {"alice", "{}", {}, {}}, session::wall_clock().now(), p);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("a reply of the wrong type fails the store operation instead of reading as a value", "[store][redis]") {
    SECTION("GET answered with an integer") {
        lied_to f("GET", ":7\r\n");
        auto got = f.run(f.store.get(session::session_id::generate(42)));
        REQUIRE_FALSE(got);
        CHECK(got.error() == sessiond::error::store_unavailable);
    }
    SECTION("the remove script answered with an array") {
        lied_to f("EVALSHA", "*1\r\n:1\r\n");
        auto removed = f.run(f.store.remove(session::session_id::generate(42), alice));
        REQUIRE_FALSE(removed);
    }
    SECTION("the list script answered with a string, not an array") {
        lied_to f("EVALSHA", "$3\r\nabc\r\n");
        auto listed = f.run(f.store.list_user(alice, std::nullopt, 100));
        REQUIRE_FALSE(listed);  // not an empty list
    }
    SECTION("the list script answered with an odd number of elements") {
        lied_to f("EVALSHA", "*3\r\n$0\r\n\r\n$0\r\n\r\n$16\r\n0123456789abcdef\r\n");
        auto listed = f.run(f.store.list_user(alice, std::nullopt, 100));
        REQUIRE_FALSE(listed);
    }
    SECTION("the list script answered with a member that is no session id") {
        lied_to f("EVALSHA", "*4\r\n$0\r\n\r\n$0\r\n\r\n$3\r\nabc\r\n$3\r\nxyz\r\n");
        auto listed = f.run(f.store.list_user(alice, std::nullopt, 100));
        REQUIRE_FALSE(listed);
    }
    SECTION("the list script answered with a cursor that is no position") {
        lied_to f("EVALSHA", "*2\r\n$3\r\n1e3\r\n$3\r\nabc\r\n");
        auto listed = f.run(f.store.list_user(alice, std::nullopt, 100));
        REQUIRE_FALSE(listed);
    }
    SECTION("revoke-all answered with a negative count") {
        lied_to f("EVALSHA", "*1\r\n:-1\r\n");
        auto removed = f.run(f.store.remove_user(alice, std::nullopt, std::nullopt));
        REQUIRE_FALSE(removed);  // not "revoked 0"
    }
    SECTION("revoke-all answered with a bare count, not a batch") {
        lied_to f("EVALSHA", ":3\r\n");
        auto removed = f.run(f.store.remove_user(alice, std::nullopt, std::nullopt));
        REQUIRE_FALSE(removed);
    }
    SECTION("replace answered with a string, not 0 or 1") {
        lied_to f("EVALSHA", "$1\r\n1\r\n");
        auto r = record();
        auto next = r;
        ++next.version;
        auto written = f.run(f.store.replace(r, next, alice));
        REQUIRE_FALSE(written);  // neither written nor "lost to another write"
    }
    SECTION("create answered with an integer, not an array") {
        lied_to f("EVALSHA", ":0\r\n");
        session::policy p;
        auto created = f.run(f.store.create(record(), alice, p));
        REQUIRE_FALSE(created);
        CHECK(created.error() == sessiond::error::store_unavailable);
    }
}
