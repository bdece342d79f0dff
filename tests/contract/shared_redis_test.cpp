// A Redis that is shared or lies: records rewritten by someone who can
// write to the keyspace but holds no token key are no sessions, and
// instances of two record formats serve one deployment side by side during
// a rolling upgrade.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "support/contract_target.hpp"
#include "support/process.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// The Redis key of the session with public id `id`.
std::string session_key(resp_client& redis, const std::string& id) {
    for (const auto& k : redis.keys())
        if (k.size() > id.size() && k.compare(k.size() - id.size(), id.size(), id) == 0 &&
            k.find(":s:") != std::string::npos)
            return k;
    FAIL("no key for session " << id);
    return {};
}

struct created_session {
    std::string token, id;
};

created_session create(contract_target& t, const std::string& user) {
    auto c = t.create(user);
    REQUIRE(c.status == 201);
    return {str(c.json, "token"), std::string(session_of(c).at("id").as_string())};
}

// The stored value with `from` (in the user id) replaced by `to`, same length.
std::string rewritten(std::string value, const std::string& from, const std::string& to) {
    auto at = value.find(from);
    REQUIRE(at != std::string::npos);
    value.replace(at, from.size(), to);
    return value;
}

}  // namespace

TEST_CASE("a session record rewritten in Redis is no session: refused on every path and counted") {
    // No device context: the records are format 3, which the sections rewrite.
    contract_target t("redis", {"--device-address", "none"});
    resp_client redis(t.redis()->port());
    auto alice = create(t, "alice");
    const auto key = session_key(redis, alice.id);
    const auto stored = redis.command({"GET", key}).str;
    REQUIRE(static_cast<unsigned char>(stored[0]) == 3);  // sealed
    REQUIRE(metric(t, "sessiond_store_records_forged_total") == 0);

    SECTION("another user written into a sealed record") {
        redis.command({"SET", key, rewritten(stored, "alice", "mallo"), "KEEPTTL"});
        CHECK(t.validate(alice.token).status == 401);
        auto auth = t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + alice.token}});
        CHECK(auth.status == 401);
        CHECK(auth.header("x-session-user").empty());
        CHECK(t.call("GET", "/v1/sessions/" + alice.id, test_keys::admin).status == 404);
        CHECK(metric(t, "sessiond_store_records_forged_total") >= 3);
    }
    SECTION("a sealed record moved under another session's key") {
        auto bob = create(t, "bob");
        redis.command({"SET", session_key(redis, bob.id), stored, "KEEPTTL"});
        CHECK(t.call("GET", "/v1/sessions/" + bob.id, test_keys::admin).status == 404);
        CHECK(metric(t, "sessiond_store_records_forged_total") == 1);
        CHECK(t.validate(alice.token).status == 200);  // the original is untouched
    }
    SECTION("an unsealed record of the old format, with another user") {
        // Format 2 is format 3 without its 17-byte seal, under format byte 2.
        std::string legacy = stored.substr(0, stored.size() - 17);
        legacy[0] = 2;
        redis.command({"SET", key, rewritten(legacy, "alice", "mallo"), "KEEPTTL"});
        CHECK(t.validate(alice.token).status == 401);
        CHECK(metric(t, "sessiond_store_records_unsigned_total") == 1);
        CHECK(metric(t, "sessiond_store_records_forged_total") == 0);
    }
    SECTION("garbage") {
        redis.command({"SET", key, "\x03garbage", "KEEPTTL"});
        CHECK(t.validate(alice.token).status == 401);
        CHECK(metric(t, "sessiond_store_records_forged_total") == 1);
    }
    // Whatever was written, nobody was served as anyone, and the server lives.
    CHECK(t.call("GET", "/healthz", "").status == 200);
}

TEST_CASE("a rolling upgrade: instances writing format 2 and format 3 serve one deployment") {
    // Phase 1: this version beside 0.1 writes format 2 and reads both.
    contract_target old_format("redis", {"--record-format", "2", "--record-accept-unsigned", "true"});
    // Phase 2: every instance is new; it seals what it writes and still reads format 2.
    contract_target upgrading(old_format, {"--record-accept-unsigned", "true"});
    // Phase 3: format 2 no longer read.
    contract_target sealed_only(old_format, {});
    resp_client redis(old_format.redis()->port());

    auto s = create(old_format, "erin");
    const auto key = session_key(redis, s.id);
    CHECK(redis.command({"GET", key}).str[0] == 2);
    CHECK(upgrading.validate(s.token).status == 200);
    CHECK(metric(upgrading, "sessiond_store_records_unsigned_read_total") >= 1);

    // A format-2 record is no session where format 2 is not read...
    CHECK(sealed_only.validate(s.token).status == 401);
    CHECK(metric(sealed_only, "sessiond_store_records_unsigned_total") == 1);
    // ... and that refusal did not revoke it.
    CHECK(old_format.validate(s.token).status == 200);

    // A rotation on an upgraded instance seals the record; the old-format
    // instance of phase 1 reads it, and so does the sealed-only one.
    auto rotated = upgrading.rotate(s.token);
    REQUIRE(rotated.status == 200);
    const auto token = str(rotated.json, "token");
    CHECK(redis.command({"GET", key}).str[0] == 3);
    CHECK(old_format.validate(token).status == 200);
    CHECK(sealed_only.validate(token).status == 200);

    // List, limit and revoke-all see every session whatever its format.
    create(old_format, "erin");
    create(upgrading, "erin");
    auto listed = sealed_only.call("GET", "/v1/users/erin/sessions", test_keys::admin);
    REQUIRE(listed.status == 200);
    CHECK(listed.json.as_object().at("sessions").as_array().size() == 2);  // the format-2 one is not read here
    auto all = upgrading.call("DELETE", "/v1/users/erin/sessions", test_keys::admin);
    CHECK(all.json.as_object().at("revoked").as_int64() == 3);
    CHECK(old_format.validate(token).status == 401);
}

TEST_CASE("a session of a newer record format is answered honestly: listed as unreadable, revocable") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    auto kept = create(t, "fred");
    auto newer = create(t, "fred");
    // A format this version does not know, with the header every format keeps.
    const auto key = session_key(redis, newer.id);
    auto value = redis.command({"GET", key}).str;
    value[0] = 6;
    redis.command({"SET", key, value, "KEEPTTL"});

    auto got = t.call("GET", "/v1/sessions/" + newer.id, test_keys::admin);
    CHECK(got.status == 503);
    CHECK(got.code() == "session_unreadable");
    auto v = t.validate(newer.token);
    CHECK(v.status == 503);
    CHECK(v.code() == "session_unreadable");

    auto listed = t.call("GET", "/v1/users/fred/sessions", test_keys::admin);
    REQUIRE(listed.status == 200);
    CHECK(listed.json.as_object().at("sessions").as_array().size() == 1);
    CHECK(listed.json.as_object().at("unreadable").as_int64() == 1);
    CHECK(metric(t, "sessiond_store_records_unreadable_total") >= 3);
    CHECK(metric(t, "sessiond_store_errors_total") == 0);  // the store did not fail

    // Revoking by id deletes it (204, not 404), and revoke-all counts it.
    CHECK(t.call("DELETE", "/v1/sessions/" + newer.id, test_keys::admin).status == 204);
    CHECK(redis.command({"EXISTS", key}).num == 0);
    auto third = create(t, "fred");
    const auto third_key = session_key(redis, third.id);
    value = redis.command({"GET", third_key}).str;
    value[0] = 5;
    redis.command({"SET", third_key, value, "KEEPTTL"});
    auto all = t.call("DELETE", "/v1/users/fred/sessions", test_keys::admin);
    CHECK(all.json.as_object().at("revoked").as_int64() == 2);
    CHECK(redis.command({"EXISTS", third_key}).num == 0);
    CHECK(t.validate(kept.token).status == 401);
}

TEST_CASE("an instance with another user index key than the deployment's refuses to serve") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    const auto fingerprint = redis.command({"GET", "contract:meta:index-key"});
    REQUIRE(fingerprint.kind == resp_value::bulk);
    CHECK(fingerprint.str.size() == 32);
    auto s = create(t, "gina");

    const std::string other_key = "b3RoZXItaW5kZXgta2V5LW90aGVyLWluZGV4LWtleS0xMjM0NTY=";
    auto refused = run_sessiond(
        {"--address", "127.0.0.1", "--port", "0", "--redis-url", t.redis()->url(), "--redis-key-prefix", "contract:"},
        {{"SESSIOND_API_KEYS", "admin=" + sha256_hex(test_keys::admin) + ":sessions:admin"},
         {"SESSIOND_TOKEN_KEYS", "2:Y3VycmVudC1rZXktY3VycmVudC1rZXktY3VycmVudC0xMjM0NQ=="},
         {"SESSIOND_USER_INDEX_KEY", other_key}});
    CHECK(refused.status == 2);
    CHECK_THAT(refused.output, Catch::Contains("user-index-key is not the one"));
    CHECK_THAT(refused.output, Catch::Contains("contract:meta:index-key"));
    CHECK(refused.output.find(other_key) == std::string::npos);
    // The deployment's fingerprint and sessions are untouched.
    CHECK(redis.command({"GET", "contract:meta:index-key"}).str == fingerprint.str);
    CHECK(t.validate(s.token).status == 200);
    CHECK(
        t.call("GET", "/v1/users/gina/sessions", test_keys::admin).json.as_object().at("sessions").as_array().size() ==
        1);
}

TEST_CASE("sessiond works as the Redis ACL user that deploy/redis/sessiond.acl documents") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    // The documented line, with this deployment's prefix.
    std::string line;
    {
        auto text = read_file(std::string(SESSIOND_SOURCE_DIR) + "/deploy/redis/sessiond.acl");
        std::istringstream in(text);
        for (std::string l; std::getline(in, l);)
            if (l.rfind("user ", 0) == 0) line = l;
    }
    REQUIRE_FALSE(line.empty());
    std::vector<std::string> setuser{"ACL", "SETUSER"};
    std::istringstream words(line.substr(5));
    for (std::string w; words >> w;)
        setuser.push_back(w == "~sessiond:*" ? "~contract:*" : w == ">change-this-password" ? ">acl-test-pw" : w);
    REQUIRE(redis.command(setuser).kind == resp_value::status);

    const auto url = "redis://sessiond:acl-test-pw@127.0.0.1:" + std::to_string(t.redis()->port());
    contract_target limited(t, {"--redis-url", url, "--max-sessions-per-user", "2"});
    std::vector<created_session> made;
    for (int i = 0; i < 3; ++i)
        made.push_back(create(limited, "hana"));  // the third evicts the first
    CHECK(limited.validate(made[0].token).status == 401);
    auto rotated = limited.rotate(made[1].token);
    REQUIRE(rotated.status == 200);
    CHECK(limited.validate(str(rotated.json, "token")).status == 200);
    CHECK(limited.call("GET", "/v1/sessions/" + made[2].id, test_keys::admin).status == 200);
    CHECK(limited.call("GET", "/v1/users/hana/sessions", test_keys::admin)
              .json.as_object()
              .at("sessions")
              .as_array()
              .size() == 2);
    CHECK(limited.revoke(made[2].token).status == 204);
    CHECK(limited.call("DELETE", "/v1/users/hana/sessions", test_keys::admin).json.as_object().at("revoked") == 1);
    CHECK(metric(limited, "sessiond_store_errors_total") == 0);
    // The validation cache's invalidation links are allowed too.
    CHECK(eventually([&] { return metric(limited, "sessiond_cache_tracking_threads") == 2; }, 10s));
    const auto cached = create(limited, "kai");
    for (int i = 0; i < 4; ++i)
        REQUIRE(limited.validate(cached.token).status == 200);
    CHECK(metric(limited, "sessiond_cache_hits_total") >= 2);
    // And the user can reach nothing else.
    redis.command({"SET", "other:secret", "x"});
    resp_client as_sessiond(t.redis()->port());
    REQUIRE(as_sessiond.command({"AUTH", "sessiond", "acl-test-pw"}).kind == resp_value::status);
    CHECK(as_sessiond.command({"GET", "other:secret"}).kind == resp_value::error);
    CHECK(as_sessiond.command({"KEYS", "*"}).kind == resp_value::error);
    CHECK(as_sessiond.command({"FLUSHALL"}).kind == resp_value::error);
}
