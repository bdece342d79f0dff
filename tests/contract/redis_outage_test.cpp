// sessiond on Redis when Redis goes away or stalls: fast 503s, /readyz
// follows, and it recovers by itself.

#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "support/contract_target.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {
bool wait_ready(contract_target& t, int status, std::chrono::milliseconds timeout) {
    return eventually([&] { return t.call("GET", "/readyz", "").status == status; }, timeout, 50ms);
}
}  // namespace

TEST_CASE("Redis stopped and restarted: 503 store_unavailable, not ready, then recovery") {
    contract_target t("redis", {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
    auto token = std::string(t.create("pat").json.as_object().at("token").as_string());
    REQUIRE(t.validate(token).status == 200);

    t.redis()->stop();
    auto started = std::chrono::steady_clock::now();
    auto r = t.validate(token);
    CHECK(r.status == 503);
    CHECK(r.code() == "store_unavailable");
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    auto c = t.create("pat");
    CHECK(c.status == 503);
    CHECK(wait_ready(t, 503, 5s));

    t.redis()->start();
    CHECK(wait_ready(t, 200, 10s));
    auto again = t.create("pat");
    CHECK(again.status == 201);
    CHECK(t.validate(std::string(again.json.as_object().at("token").as_string())).status == 200);
}

TEST_CASE("Redis frozen: requests fail within the command timeout, then recover") {
    contract_target t("redis", {"--redis-command-timeout", "300ms"});
    auto token = std::string(t.create("quinn").json.as_object().at("token").as_string());
    t.redis()->freeze();
    auto started = std::chrono::steady_clock::now();
    auto r = t.validate(token);
    auto took = std::chrono::steady_clock::now() - started;
    t.redis()->thaw();
    CHECK(r.status == 503);
    CHECK(r.code() == "store_unavailable");
    CHECK(took < 3s);
    CHECK(wait_ready(t, 200, 10s));
    CHECK(eventually([&] { return t.validate(token).status == 200; }, 20s, 100ms));
}

TEST_CASE("SIGTERM while a request waits on a frozen Redis: it is answered, then exit 0") {
    contract_target t("redis", {"--redis-command-timeout", "1s", "--drain-timeout", "10s"});
    auto token = std::string(t.create("ruth").json.as_object().at("token").as_string());
    t.redis()->freeze();
    http_connection conn(t.port());
    REQUIRE(conn.send(format_request("POST", "/v1/sessions/validate", R"({"token":")" + token + "\"}",
                                     {{"X-API-Key", test_keys::all}})));
    // The request reached sessiond and waits on Redis.
    REQUIRE(eventually([&] { return metric(t, "sessiond_redis_operations_in_flight") >= 1; }, 10s));
    t.daemon().proc().signal(SIGTERM);
    auto r = conn.read_response(10s);
    t.redis()->thaw();
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(t.daemon().proc().wait(10s) == std::optional<int>(0));
}

TEST_CASE("Redis refusing a command is told apart from Redis unreachable: NOPERM fails readiness, OOM does not",
          "[redis][refusal]") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    const auto token = str(t.create("refusals").json, "token");
    REQUIRE(t.call("GET", "/readyz", "").status == 200);

    SECTION("NOPERM: the Redis user may not run sessiond's scripts") {
        redis.command({"ACL", "SETUSER", "default", "-evalsha", "-eval"});
        auto r = t.create("refusals-2");
        CHECK(r.status == 503);
        CHECK(r.code() == "store_unavailable");
        CHECK_THAT(str(r.json, "detail"), Catch::Contains("NOPERM"));
        CHECK(metric(t, "sessiond_redis_errors_total{kind=\"noperm\"}") >= 1);
        // Reachable, but unable to serve: not ready.
        CHECK(wait_ready(t, 503, 5s));
        redis.command({"ACL", "SETUSER", "default", "+@all"});
        CHECK(eventually([&] { return t.create("refusals-3").status == 201; }, 10s, 50ms));
        CHECK(wait_ready(t, 200, 20s));
    }
    SECTION("OOM: Redis at maxmemory refuses writes; reads go on and the instance stays ready") {
        redis.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
        redis.command({"CONFIG", "SET", "maxmemory", "1"});  // below what is used: every write refused
        auto r = t.create("refusals-oom");
        CHECK(r.status == 503);
        CHECK(r.code() == "store_unavailable");
        CHECK_THAT(str(r.json, "detail"), Catch::Contains("OOM"));
        CHECK(metric(t, "sessiond_redis_errors_total{kind=\"oom\"}") >= 1);
        CHECK(t.validate(token).status == 200);
        CHECK(t.call("GET", "/readyz", "").status == 200);
        redis.command({"CONFIG", "SET", "maxmemory", "0"});
        CHECK(t.create("refusals-oom").status == 201);
    }
    // Unreachable is still its own detail.
    t.redis()->stop();
    auto down = t.validate(token);
    CHECK(down.status == 503);
    CHECK_THAT(str(down.json, "detail"), Catch::Contains("could not be reached"));
}
