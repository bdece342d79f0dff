// Hostile request bodies: what boost::json accepts and a session service must
// not (numbers without a JSON spelling, keys given twice), on every endpoint
// that reads JSON.

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
