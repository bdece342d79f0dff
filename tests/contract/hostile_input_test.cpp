// Hostile requests: bodies that boost::json accepts and a session service must
// not (numbers without a JSON spelling, keys given twice), on every endpoint
// that reads JSON; and credentials given twice.

#include <catch2/catch.hpp>

#include "support/contract_target.hpp"

using namespace sessiond::test;

TEST_CASE("numbers too large for a double are refused with 400, wherever they are") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);

    for (const char* n : {"1e400", "-1e400", "1E+999", "123456789e999"}) {
        INFO(n);
        auto created = t.create("alice", std::string(R"("metadata":{"n":)") + n + "}");
        CHECK(created.status == 400);
        CHECK(created.code() == "malformed_request");
        CHECK_THAT(created.body, Catch::Contains("too large"));
        auto nested = t.create("alice", std::string(R"("metadata":{"a":[1,{"b":)") + n + "}]}");
        CHECK(nested.status == 400);
    }
    auto fine = t.create("alice", R"("metadata":{"n":1e300,"m":-2.5e-300})");
    REQUIRE(fine.status == 201);
    const auto token = str(fine.json, "token");
    auto rotated = t.rotate(token, R"("metadata":{"n":1e400})");
    CHECK(rotated.status == 400);
    // Nothing unreadable was stored: every reply that shows the session is strict JSON.
    auto v = t.validate(token);
    REQUIRE(v.status == 200);
    CHECK(session_of(v).at("metadata").at("n").as_double() == 1e300);
    CHECK(v.body.find("Infinity") == std::string::npos);
}

TEST_CASE("a key given twice in one object is refused with 400") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);

    auto twice = t.call("POST", "/v1/sessions", test_keys::all, R"({"user_id":"alice","user_id":"mallory"})");
    CHECK(twice.status == 400);
    CHECK(twice.code() == "malformed_request");
    CHECK_THAT(twice.body, Catch::Contains("duplicate key 'user_id'"));
    auto in_metadata = t.create("alice", R"("metadata":{"role":"user","x":{"role":"admin","role":"user"}})");
    CHECK(in_metadata.status == 400);
    // The same key in two different objects is fine.
    auto apart = t.create("alice", R"("metadata":{"role":"user","x":{"role":"admin"}})");
    REQUIRE(apart.status == 201);
    const auto token = str(apart.json, "token");
    auto validate_twice =
        t.call("POST", "/v1/sessions/validate", test_keys::all, R"({"token":"x","token":")" + token + R"("})");
    CHECK(validate_twice.status == 400);
    auto revoke_twice =
        t.call("POST", "/v1/sessions/revoke", test_keys::all, R"({"token":")" + token + R"(","token":"x"})");
    CHECK(revoke_twice.status == 400);
    CHECK(t.validate(token).status == 200);  // the refused revoke did nothing
}

namespace {
// A request with header lines as given, repeated names included.
http_response send_raw(unsigned short port, const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers)
        r += k + ": " + v + "\r\n";
    if (!body.empty()) r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n" + body;
    http_connection conn(port);
    REQUIRE(conn.send(r));
    auto answer = conn.read_response();
    REQUIRE(answer);
    return *answer;
}
}  // namespace

TEST_CASE("ambiguous credentials are refused: two API keys, two Authorization headers") {
    contract_target t("memory");
    auto created = t.create("alice");
    REQUIRE(created.status == 201);
    const auto token = str(created.json, "token");
    const std::string body = R"({"token":")" + token + R"("})";

    // Two keys, both valid, or a valid one first and another after it.
    for (const auto& keys : std::vector<std::vector<std::string>>{{test_keys::all, test_keys::all},
                                                                  {test_keys::all, "sk_wrong"},
                                                                  {"sk_wrong", test_keys::all},
                                                                  {test_keys::read, test_keys::write}}) {
        INFO(keys[0] << " then " << keys[1]);
        std::vector<std::pair<std::string, std::string>> headers;
        for (const auto& k : keys)
            headers.emplace_back("X-API-Key", k);
        auto validated = send_raw(t.port(), "POST", "/v1/sessions/validate", headers, body);
        CHECK(validated.status == 401);
        CHECK(validated.header("content-type") == "application/problem+json");
        CHECK_THAT(validated.body, Catch::Contains(R"("code":"unauthenticated")") && Catch::Contains("exactly one"));
        CHECK_THAT(validated.body, !Catch::Contains("sk_"));
        auto listed = send_raw(t.port(), "GET", "/v1/users/alice/sessions", headers);
        CHECK(listed.status == 401);
    }
    // One key is fine, in either spelling of the name.
    CHECK(send_raw(t.port(), "POST", "/v1/sessions/validate", {{"x-api-key", test_keys::all}}, body).status == 200);

    // /v1/auth reads the token from Authorization: two of them are refused.
    auto other = t.create("bob");
    REQUIRE(other.status == 201);
    auto two_bearers = send_raw(t.port(), "GET", "/v1/auth",
                                {{"X-API-Key", test_keys::auth},
                                 {"Authorization", "Bearer " + token},
                                 {"Authorization", "Bearer " + str(other.json, "token")}});
    CHECK(two_bearers.status == 400);
    CHECK(two_bearers.header("content-type") == "application/problem+json");
    CHECK_THAT(two_bearers.body, Catch::Contains("malformed_request"));
    CHECK_FALSE(two_bearers.has_header("x-session-user"));
    auto one_bearer =
        send_raw(t.port(), "GET", "/v1/auth", {{"X-API-Key", test_keys::auth}, {"Authorization", "Bearer " + token}});
    CHECK(one_bearer.status == 200);
    CHECK(one_bearer.header("x-session-user") == "alice");
}
