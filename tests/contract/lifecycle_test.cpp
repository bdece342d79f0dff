// The v1 contract (proto/openapi.yaml) against the real binary, once
// per store: every endpoint, status and error code.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>

#include "support/contract_target.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

TEST_CASE("create, validate, auth, get, list and revoke a session") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);

    const auto asked = std::chrono::steady_clock::now();
    auto created = t.create("alice@example.com", R"("metadata":{"ip":"10.0.0.1","roles":["a","b"]})");
    const auto took = std::chrono::steady_clock::now() - asked;
    REQUIRE(created.status == 201);
    CHECK(created.header("cache-control") == "no-store");
    CHECK(created.header("content-type") == "application/json");
    auto token = str(created.json, "token");
    CHECK(token.rfind("sid_", 0) == 0);
    CHECK(token.size() == 95);
    const auto& s = session_of(created);
    auto id = std::string(s.at("id").as_string());
    CHECK(id.size() == 24);
    CHECK(s.at("user_id").as_string() == "alice@example.com");
    CHECK(s.at("metadata").as_object().at("ip").as_string() == "10.0.0.1");
    CHECK(s.at("rotated_at").is_null());
    CHECK(s.at("created_at").as_string() == s.at("authenticated_at").as_string());
    CHECK(s.at("created_at").as_string().size() == 24);
    // Max-Age is the session's time left when the reply was made, in seconds
    // rounded up: all 12 h unless the request took a second or more.
    const auto recommended = str(created.json, "cookie");
    const auto with_max_age = [&](long long seconds) {
        return "__Host-sid=" + token + "; Path=/; Max-Age=" + std::to_string(seconds) +
               "; Secure; HttpOnly; SameSite=Lax";
    };
    const auto late = std::chrono::duration_cast<std::chrono::seconds>(took).count();
    if (late == 0) {
        CHECK(recommended == with_max_age(43200));
    } else {
        WARN("the create took " << late << " s: Max-Age may be that much below 43200");
        bool found = false;
        for (auto seconds = 43200 - late; seconds <= 43200; ++seconds)
            found = found || recommended == with_max_age(seconds);
        INFO(recommended);
        CHECK(found);
    }

    auto v = t.validate(token);
    REQUIRE(v.status == 200);
    CHECK(session_of(v).at("id").as_string() == id);
    CHECK(session_of(v).at("metadata") == s.at("metadata"));
    CHECK_FALSE(v.json.as_object().contains("token"));

    auto bearer = t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + token}});
    CHECK(bearer.status == 200);
    CHECK(bearer.body.empty());
    CHECK(bearer.header("x-session-user") == "alice@example.com");
    CHECK(bearer.header("x-session-id") == id);
    auto cookie = t.call("GET", "/v1/auth", test_keys::auth, "", {{"Cookie", "theme=dark; __Host-sid=" + token}});
    CHECK(cookie.status == 200);
    CHECK(cookie.header("x-session-id") == id);
    auto none = t.call("GET", "/v1/auth", test_keys::auth);
    CHECK(none.status == 401);
    CHECK(none.code() == "invalid_session");

    auto got = t.call("GET", "/v1/sessions/" + id, test_keys::admin);
    REQUIRE(got.status == 200);
    CHECK(session_of(got).at("user_id").as_string() == "alice@example.com");
    CHECK_FALSE(got.json.as_object().contains("token"));

    auto listed = t.call("GET", "/v1/users/alice%40example.com/sessions", test_keys::admin);
    REQUIRE(listed.status == 200);
    REQUIRE(listed.json.as_object().at("sessions").as_array().size() == 1);
    CHECK(listed.json.as_object().at("sessions").as_array()[0].as_object().at("id").as_string() == id);

    CHECK(t.revoke(token).status == 204);
    auto after = t.validate(token);
    CHECK(after.status == 401);
    CHECK(after.code() == "invalid_session");
    CHECK(t.revoke(token).status == 204);  // idempotent
    CHECK(t.call("GET", "/v1/sessions/" + id, test_keys::admin).status == 404);
    CHECK(t.call("GET", "/v1/users/alice%40example.com/sessions", test_keys::admin)
              .json.as_object()
              .at("sessions")
              .as_array()
              .empty());
}

TEST_CASE("non-ASCII user ids are percent-encoded in the forward-auth header") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    auto created = t.create("zoë 100%");
    REQUIRE(created.status == 201);
    auto r =
        t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + str(created.json, "token")}});
    CHECK(r.status == 200);
    CHECK(r.header("x-session-user") == "zo%C3%AB%20100%25");
}

TEST_CASE("user ids with control characters are refused on create and in the users path") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    // JSON escapes put the control characters into the decoded user_id.
    for (std::string escaped : {"a\\u0000b", "a\\nb", "a\\rb", "a\\u001fb", "a\\u007fb", "\\t"}) {
        INFO("user_id " << escaped);
        auto r = t.call("POST", "/v1/sessions", test_keys::write, R"({"user_id":")" + escaped + "\"}");
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
    // The path parameter is checked after percent-decoding.
    for (std::string encoded : {"a%00b", "a%0Ab", "a%0D%0Ab", "a%1Fb", "a%7Fb", "%09"}) {
        INFO("path " << encoded);
        for (const char* method : {"GET", "DELETE"}) {
            auto r = t.call(method, "/v1/users/" + encoded + "/sessions", test_keys::admin);
            CHECK(r.status == 400);
            CHECK(r.code() == "malformed_request");
        }
    }
    // Their printable neighbours are still user ids.
    CHECK(t.create("a b~").status == 201);
    CHECK(t.call("GET", "/v1/users/a%20b~/sessions", test_keys::admin).status == 200);
}

TEST_CASE("delete by id, revoke all with except, list newest first") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    std::vector<std::string> ids, tokens;
    for (int i = 0; i < 4; ++i) {
        auto c = t.create("bob");
        REQUIRE(c.status == 201);
        tokens.push_back(str(c.json, "token"));
        ids.push_back(std::string(session_of(c).at("id").as_string()));
        std::this_thread::sleep_for(5ms);  // distinct created_at
    }
    auto other = t.create("carol");
    REQUIRE(other.status == 201);

    auto listed = t.call("GET", "/v1/users/bob/sessions", test_keys::admin);
    REQUIRE(listed.status == 200);
    auto& arr = listed.json.as_object().at("sessions").as_array();
    REQUIRE(arr.size() == 4);
    for (int i = 0; i < 4; ++i)
        CHECK(arr[static_cast<std::size_t>(i)].as_object().at("id").as_string() == ids[3 - i]);

    CHECK(t.call("DELETE", "/v1/sessions/" + ids[0], test_keys::admin).status == 204);
    CHECK(t.call("DELETE", "/v1/sessions/" + ids[0], test_keys::admin).status == 404);
    CHECK(t.validate(tokens[0]).status == 401);

    auto all = t.call("DELETE", "/v1/users/bob/sessions?except=" + ids[2], test_keys::admin);
    REQUIRE(all.status == 200);
    CHECK(all.json.as_object().at("revoked").as_int64() == 2);
    CHECK(t.validate(tokens[1]).status == 401);
    CHECK(t.validate(tokens[2]).status == 200);
    CHECK(t.validate(tokens[3]).status == 401);
    CHECK(t.validate(str(other.json, "token")).status == 200);  // another user is untouched

    auto rest = t.call("DELETE", "/v1/users/bob/sessions", test_keys::admin);
    CHECK(rest.json.as_object().at("revoked").as_int64() == 1);
    CHECK(t.validate(tokens[2]).status == 401);
    CHECK(t.call("DELETE", "/v1/users/nobody/sessions", test_keys::admin).json.as_object().at("revoked").as_int64() ==
          0);
}

TEST_CASE("a user's sessions are listed a page at a time with a cursor") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    std::set<std::string> ids;
    for (int i = 0; i < 130; ++i) {
        auto c = t.create("paula");
        REQUIRE(c.status == 201);
        ids.insert(std::string(session_of(c).at("id").as_string()));
    }
    // The default page holds 100; the rest follow the cursor.
    auto first = t.call("GET", "/v1/users/paula/sessions", test_keys::admin);
    REQUIRE(first.status == 200);
    CHECK(first.json.as_object().at("sessions").as_array().size() == 100);
    REQUIRE(first.json.as_object().contains("next_cursor"));

    std::set<std::string> walked;
    std::string path = "/v1/users/paula/sessions?limit=40";
    int pages = 0;
    for (; pages < 20; ++pages) {
        auto page = t.call("GET", path, test_keys::admin);
        REQUIRE(page.status == 200);
        const auto& o = page.json.as_object();
        CHECK(o.at("sessions").as_array().size() <= 40);
        for (const auto& s : o.at("sessions").as_array())
            CHECK(walked.insert(std::string(s.as_object().at("id").as_string())).second);
        if (!o.contains("next_cursor")) break;
        path = "/v1/users/paula/sessions?limit=40&cursor=" + std::string(o.at("next_cursor").as_string());
    }
    CHECK(walked == ids);
    CHECK(pages >= 3);
    CHECK(pages <= 4);

    // A page that holds everything has no cursor.
    auto all = t.call("GET", "/v1/users/paula/sessions?limit=1000", test_keys::admin);
    CHECK(all.json.as_object().at("sessions").as_array().size() == 130);
    CHECK_FALSE(all.json.as_object().contains("next_cursor"));

    for (const auto* bad : {"limit=0", "limit=1001", "limit=ten", "limit=-1", "limit=", "limit=%zz", "cursor=abc",
                            "cursor=" /* empty */, "cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
        INFO(bad);
        auto r = t.call("GET", std::string("/v1/users/paula/sessions?") + bad, test_keys::admin);
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
    // Revoke-all takes every page's sessions.
    auto revoked = t.call("DELETE", "/v1/users/paula/sessions", test_keys::admin);
    REQUIRE(revoked.status == 200);
    CHECK(revoked.json.as_object().at("revoked").as_int64() == 130);
}

TEST_CASE("list cursors are authenticated and bound to the user; the list query is strict") {
    contract_target t("memory");
    for (int i = 0; i < 5; ++i)
        REQUIRE(t.create("ursula").status == 201);
    for (int i = 0; i < 3; ++i)
        REQUIRE(t.create("victor").status == 201);
    auto page = [&](const std::string& user, const std::string& query) {
        return t.call("GET", "/v1/users/" + user + "/sessions?" + query, test_keys::admin);
    };
    auto first = page("ursula", "limit=2");
    REQUIRE(first.status == 200);
    REQUIRE(first.json.as_object().contains("next_cursor"));
    const std::string cursor = str(first.json, "next_cursor");
    auto other_first = page("victor", "limit=1");
    REQUIRE(other_first.status == 200);
    const std::string victors = str(other_first.json, "next_cursor");

    auto refused = [&](const std::string& user, const std::string& query) {
        INFO(user << "?" << query);
        auto r = page(user, query);
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    };
    // One character changed, anywhere: the position or the tag.
    for (std::size_t at : {std::size_t{0}, std::size_t{5}, cursor.size() / 2, cursor.size() - 2}) {
        std::string edited = cursor;
        edited[at] = edited[at] == 'A' ? 'B' : 'A';
        refused("ursula", "limit=2&cursor=" + edited);
    }
    // Random values of the old and the new length, and a cursor cut short.
    refused("ursula", "cursor=" + std::string("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFi"));
    refused("ursula", "cursor=" + std::string(cursor.size(), 'Q'));
    refused("ursula", "cursor=" + cursor.substr(0, 32));
    // Another user's cursor, both ways.
    refused("victor", "limit=2&cursor=" + cursor);
    refused("ursula", "cursor=" + victors);
    // Repeated and unknown parameters.
    refused("ursula", "limit=2&limit=3");
    refused("ursula", "cursor=" + cursor + "&cursor=" + cursor);
    refused("ursula", "limit=2&foo=1");
    refused("ursula", "Limit=2");
    refused("ursula", "except=x");

    // The real cursor still pages through everything.
    std::set<std::string> walked;
    for (const auto& s : first.json.as_object().at("sessions").as_array())
        walked.insert(std::string(s.as_object().at("id").as_string()));
    std::string next = cursor;
    for (int pages = 0; !next.empty() && pages < 10; ++pages) {
        auto r = page("ursula", "limit=2&cursor=" + next);
        REQUIRE(r.status == 200);
        for (const auto& s : r.json.as_object().at("sessions").as_array())
            walked.insert(std::string(s.as_object().at("id").as_string()));
        next = r.json.as_object().contains("next_cursor") ? str(r.json, "next_cursor") : std::string();
    }
    CHECK(walked.size() == 5);

    // Revoke-all refuses what it does not know rather than revoking everything.
    auto typo = t.call("DELETE", "/v1/users/ursula/sessions?exept=x", test_keys::admin);
    CHECK(typo.status == 400);
    CHECK(typo.code() == "malformed_request");
    CHECK(page("ursula", "limit=1000").json.as_object().at("sessions").as_array().size() == 5);
}

TEST_CASE("bad input gets the documented status and code") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--metadata-max-bytes", "64", "--max-body-bytes", "4096"});
    auto post = [&](const std::string& path, const std::string& body, std::map<std::string, std::string> h = {}) {
        return t.call("POST", path, test_keys::all, body, std::move(h));
    };
    auto token = str(t.create("dave").json, "token");

    struct row {
        std::string path, body;
        int status;
        std::string code;
    };
    std::vector<row> rows = {
        {"/v1/sessions", "{", 400, "malformed_request"},
        {"/v1/sessions", "[]", 400, "malformed_request"},
        {"/v1/sessions", "{}", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":""})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":42})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":")" + std::string(257, 'u') + "\"}", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","token":"sid_chosen"})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","extra":1})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","metadata":[]})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","metadata":{"k":")" + std::string(80, 'x') + "\"}}", 400,
         "malformed_request"},
        {"/v1/sessions",
         R"({"user_id":"u","metadata":{"k":")" + std::string(30, 'x') + R"("},"device":{"label":")" +
             std::string(30, 'l') + "\"}}",
         400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","device":{"user_agent":")" + std::string(65, 'a') + "\"}}", 400,
         "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","idle_timeout":0})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","idle_timeout":86401})", 400, "malformed_request"},
        {"/v1/sessions", R"({"user_id":"u","absolute_timeout":"60"})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({"token":1})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({"token":")" + token + R"(","touch":"yes"})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({"token":")" + token + R"(","max_auth_age":-1})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({"token":")" + token + R"(","other":1})", 400, "malformed_request"},
        {"/v1/sessions/validate", R"({"token":"sid_forged"})", 401, "invalid_session"},
        {"/v1/sessions/validate", R"({"token":")" + token.substr(0, 94) + "\"}", 401, "invalid_session"},
        {"/v1/sessions/validate", R"({"token":")" + token + "A\"}", 401, "invalid_session"},
        {"/v1/sessions/validate", R"({"token":"xyz_)" + token.substr(4) + "\"}", 401, "invalid_session"},
        {"/v1/sessions/rotate", R"({"token":"nope"})", 401, "invalid_session"},
        {"/v1/sessions/rotate", R"({"token":")" + token + R"(","reauthenticated":1})", 400, "malformed_request"},
        {"/v1/sessions/revoke", R"({"token":"nope"})", 401, "invalid_session"},
        {"/v1/sessions/revoke", R"({"tokens":"x"})", 400, "malformed_request"},
        {"/v1/sessions", std::string(5000, ' '), 413, "body_too_large"},
    };
    for (const auto& r : rows) {
        INFO(r.path << " " << r.body.substr(0, 120));
        auto reply = post(r.path, r.body);
        CHECK(reply.status == r.status);
        CHECK(reply.code() == r.code);
        CHECK(reply.header("content-type") == "application/problem+json");
    }
    // One changed character anywhere in a real token: refused before any store access.
    auto flipped = token;
    flipped[50] = flipped[50] == 'A' ? 'B' : 'A';
    CHECK(t.validate(flipped).code() == "invalid_session");

    auto wrong_type = post("/v1/sessions", R"({"user_id":"u"})", {{"Content-Type", "text/plain"}});
    CHECK(wrong_type.status == 415);
    CHECK(wrong_type.code() == "unsupported_media_type");

    CHECK(t.call("GET", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAAAA", test_keys::admin).code() == "not_found");
    CHECK(t.call("GET", "/v1/sessions/not-an-id", test_keys::admin).status == 404);
    CHECK(t.call("DELETE", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAAAA", test_keys::admin).status == 404);
    CHECK(t.call("DELETE", "/v1/users/dave/sessions?except=bad", test_keys::admin).code() == "malformed_request");
    CHECK(t.call("GET", "/v1/users/" + std::string(300, 'x') + "/sessions", test_keys::admin).status == 400);
    CHECK(t.call("PUT", "/v1/sessions", test_keys::all).status == 405);
    // The session was never harmed by any of this.
    CHECK(t.validate(token).status == 200);
}

TEST_CASE("tokens signed with a retired key are refused, with a still-accepted old key accepted") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    // Sign with kid 1 first ...
    std::string token;
    {
        contract_target old_signer(store, {"--token-signing-kid", "1"});
        auto c = old_signer.create("erin");
        REQUIRE(c.status == 201);
        token = str(c.json, "token");
        // kid 2 signs by default and kid 1 is still accepted:
        CHECK(old_signer.validate(token).status == 200);
    }
    // ... a deployment that dropped kid 1 refuses it (memory/redis state aside,
    // the tag check fails first).
    contract_target retired(store, {"--token-keys", "2:Y3VycmVudC1rZXktY3VycmVudC1rZXktY3VycmVudC0xMjM0NQ=="});
    auto r = retired.validate(token);
    CHECK(r.status == 401);
    CHECK(r.code() == "invalid_session");
}

TEST_CASE("the scope matrix: each endpoint needs its scope, no key is 401") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    auto token = str(t.create("frank").json, "token");
    auto id = std::string(session_of(t.validate(token)).at("id").as_string());

    struct endpoint {
        std::string method, path, body, scope;
    };
    std::vector<endpoint> endpoints = {
        {"POST", "/v1/sessions", R"({"user_id":"matrix"})", "write"},
        {"POST", "/v1/sessions/validate", R"({"token":")" + token + "\"}", "read"},
        {"POST", "/v1/sessions/rotate", R"({"token":"sid_x"})", "write"},
        {"POST", "/v1/sessions/revoke", R"({"token":"sid_x"})", "write"},
        {"GET", "/v1/sessions/" + id, "", "admin"},
        {"DELETE", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAAAA", "", "admin"},
        {"GET", "/v1/users/frank/sessions", "", "admin"},
        {"DELETE", "/v1/users/nobody/sessions", "", "admin"},
        {"POST", "/v1/users/revoke", R"({"user_ids":["nobody"]})", "admin"},
        {"GET", "/v1/auth", "", "auth"},
        {"POST", "/v1/self/sessions", R"({"token":")" + token + "\"}", "self"},
        {"POST", "/v1/self/sessions/revoke", R"({"token":")" + token + R"(","session_id":"AAAAAAAAAAAAAAAAAAAAAAAA"})",
         "self"},
    };
    std::map<std::string, std::string> keys = {{"read", test_keys::read},
                                               {"write", test_keys::write},
                                               {"admin", test_keys::admin},
                                               {"auth", test_keys::auth},
                                               {"self", test_keys::self}};
    for (const auto& e : endpoints) {
        for (const auto& [scope, key] : keys) {
            INFO(e.method << " " << e.path << " with scope " << scope);
            auto r = t.call(e.method, e.path, key, e.body, {{"Authorization", "Bearer " + token}});
            if (scope == e.scope) {
                // Allowed: whatever the operation answers, it is not about the caller.
                CHECK(r.code() != "forbidden");
                CHECK(r.code() != "unauthenticated");
                CHECK(r.status < 500);
            } else {
                CHECK(r.status == 403);
                CHECK(r.code() == "forbidden");
            }
        }
        INFO(e.method << " " << e.path << " without a key");
        auto anonymous = t.call(e.method, e.path, "", e.body);
        CHECK(anonymous.status == 401);
        CHECK(anonymous.code() == "unauthenticated");
        auto unknown = t.call(e.method, e.path, "sk_not_a_key", e.body);
        CHECK(unknown.status == 401);
        CHECK(unknown.code() == "unauthenticated");
    }
    // Operations endpoints need no key.
    CHECK(t.call("GET", "/healthz", "").status == 200);
    CHECK(t.call("GET", "/readyz", "").status == 200);
    auto m = t.call("GET", "/metrics", "");
    CHECK(m.status == 200);
    CHECK_THAT(m.body, Catch::Contains("sessiond_sessions_created_total 2"));
}
