// A session's context through the API, once per store: the device it was
// opened on and last seen from, its assurance (aal, amr) and step-up
// requirements, its tenant and provider session.

#include <catch2/catch.hpp>

#include <string>

#include "support/contract_target.hpp"
#include "support/oidc_idp.hpp"

using namespace sessiond::test;
namespace json = boost::json;

namespace {

const json::object& device_of(const json::object& session) {
    return session.at("device").as_object();
}

}  // namespace

TEST_CASE("context: create keeps the device, assurance, tenant and provider; every read shows them") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    const oidc_idp idp("corp");
    contract_target t(store, idp.flags());

    auto created =
        t.create("alice", R"("device":{"user_agent":"Mozilla/5.0 Firefox/133.0","label":"Firefox on Linux"},)"
                          R"("aal":2,"amr":["pwd","otp"],"tenant":"acme",)"
                          R"("provider":{"name":"corp","sid":"idp-session-1"})");
    REQUIRE(created.status == 201);
    const auto token = str(created.json, "token");
    const auto id = std::string(session_of(created).at("id").as_string());
    for (const auto& reply : {created, t.validate(token), t.call("GET", "/v1/sessions/" + id, test_keys::admin)}) {
        REQUIRE(reply.status / 100 == 2);
        const auto& s = session_of(reply);
        CHECK(device_of(s).at("user_agent") == "Mozilla/5.0 Firefox/133.0");
        CHECK(device_of(s).at("label") == "Firefox on Linux");
        // Without trusted proxies the connection's peer opens the session,
        // kept truncated by default.
        CHECK(device_of(s).at("created_address") == "127.0.0.0/24");
        CHECK(device_of(s).at("last_address") == "127.0.0.0/24");
        CHECK(s.at("aal") == 2);
        CHECK(s.at("amr") == json::parse(R"(["pwd","otp"])"));
        CHECK(s.at("tenant") == "acme");
        CHECK(s.at("provider") == json::parse(R"({"name":"corp","sid":"idp-session-1"})"));
    }
    auto listed = t.call("GET", "/v1/users/alice/sessions", test_keys::admin);
    REQUIRE(listed.status == 200);
    const auto& first = listed.json.at("sessions").as_array().at(0).as_object();
    CHECK(device_of(first).at("label") == "Firefox on Linux");
    CHECK(first.at("tenant") == "acme");

    // A session created without a context has only the address it was opened from.
    auto plain = t.create("bob");
    REQUIRE(plain.status == 201);
    CHECK(session_of(plain).at("device") ==
          json::parse(R"({"created_address":"127.0.0.0/24","last_address":"127.0.0.0/24"})"));
    for (const char* member : {"aal", "amr", "tenant", "provider"})
        CHECK_FALSE(session_of(plain).contains(member));
    CHECK_FALSE(session_of(t.validate(str(plain.json, "token"))).contains("aal"));
}

TEST_CASE("context: a user agent is kept cleaned and bounded; the caller's fields are checked") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store);
    auto created = t.create("alice", R"("device":{"user_agent":"a\u0000b\nc\u0085d)" + std::string(600, 'x') + "\"}");
    REQUIRE(created.status == 201);
    const auto agent = std::string(device_of(session_of(created)).at("user_agent").as_string());
    CHECK(agent.substr(0, 8) == "a?b?c?dx");
    CHECK(agent.size() == 512);

    const std::vector<std::string> refused = {R"("device":"Firefox")",
                                              R"("device":{"label":"a\u0007b"})",
                                              R"("device":{"address":"203.0.113.7"})",
                                              R"("aal":0)",
                                              R"("aal":4)",
                                              R"("aal":"2")",
                                              R"("amr":"pwd")",
                                              R"("amr":["pwd","pwd"])",
                                              R"("amr":["a b"])",
                                              R"("amr":[1])",
                                              R"("tenant":"a/b")",
                                              R"("tenant":")" + std::string(65, 't') + "\"",
                                              R"("provider":{"name":"corp"})",
                                              R"("provider":{"name":"corp","sid":"a b"})",
                                              R"("provider":{"name":"","sid":"s"})",
                                              R"("provider":["corp","s"])"};
    for (const auto& bad : refused) {
        INFO(bad);
        auto r = t.create("alice", bad);
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
}

TEST_CASE("context: the client address follows trusted-proxies and device-address") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    SECTION("a trusted peer names the client in X-Forwarded-For; its last entry counts") {
        contract_target t(store, {"--trusted-proxies", "10.0.0.0/8,127.0.0.1", "--touch-fraction", "0"});
        auto created = t.call("POST", "/v1/sessions", test_keys::all, R"({"user_id":"alice"})",
                              {{"X-Forwarded-For", "192.0.2.1, 203.0.113.7"}});
        REQUIRE(created.status == 201);
        CHECK(device_of(session_of(created)).at("created_address") == "203.0.113.0/24");
        const auto token = str(created.json, "token");
        // A validation from a service says nothing of where the user is...
        CHECK(device_of(session_of(t.validate(token))).at("last_address") == "203.0.113.0/24");
        // ... forward auth through the proxy does, with a touch (the idle
        // expiry must move: one per millisecond at most).
        const auto id = std::string(session_of(created).at("id").as_string());
        api_reply after;
        for (int attempt = 0; attempt < 200; ++attempt) {
            auto seen = t.call("GET", "/v1/auth", test_keys::auth, "",
                               {{"Authorization", "Bearer " + token}, {"X-Forwarded-For", "2001:db8:1:2::7"}});
            REQUIRE(seen.status == 200);
            after = t.call("GET", "/v1/sessions/" + id, test_keys::admin);
            if (device_of(session_of(after)).at("last_address").as_string() != "203.0.113.0/24") break;
        }
        CHECK(device_of(session_of(after)).at("last_address") == "2001:db8:1::/48");
        CHECK(device_of(session_of(after)).at("created_address") == "203.0.113.0/24");
        // A value that is not an address is not believed.
        auto odd =
            t.call("POST", "/v1/sessions", test_keys::all, R"({"user_id":"alice"})", {{"X-Forwarded-For", "unknown"}});
        CHECK(device_of(session_of(odd)).at("created_address") == "127.0.0.0/24");
    }
    SECTION("an untrusted peer's X-Forwarded-For is ignored; device-address full keeps the whole address") {
        contract_target t(store, {"--trusted-proxies", "10.0.0.0/8", "--device-address", "full"});
        auto created = t.call("POST", "/v1/sessions", test_keys::all, R"({"user_id":"alice"})",
                              {{"X-Forwarded-For", "203.0.113.7"}});
        REQUIRE(created.status == 201);
        CHECK(device_of(session_of(created)).at("created_address") == "127.0.0.1");
    }
    SECTION("device-address none keeps no address") {
        contract_target t(store, {"--device-address", "none"});
        auto created = t.create("alice");
        REQUIRE(created.status == 201);
        CHECK_FALSE(session_of(created).contains("device"));
        auto labelled = t.create("alice", R"("device":{"label":"Phone"})");
        CHECK_FALSE(device_of(session_of(labelled)).contains("created_address"));
    }
}

TEST_CASE("step-up: an aal requirement is answered 401 reauthentication_required until a rotation raises it") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    auto created = t.create("alice", R"("aal":1,"amr":["pwd"])");
    REQUIRE(created.status == 201);
    const auto token = str(created.json, "token");

    CHECK(t.validate(token, R"("aal":1)").status == 200);
    auto refused = t.validate(token, R"("aal":2)");
    CHECK(refused.status == 401);
    CHECK(refused.code() == "reauthentication_required");
    CHECK(str(refused.json, "detail").find("assurance level 2") != std::string::npos);
    CHECK(t.validate(token, R"("aal":4)").status == 400);

    const std::map<std::string, std::string> cookie{{"Cookie", "__Host-sid=" + token}};
    auto auth = t.call("GET", "/v1/auth?aal=2&max_auth_age=600", test_keys::auth, "", cookie);
    CHECK(auth.status == 401);
    CHECK(auth.code() == "reauthentication_required");
    CHECK(auth.header("www-authenticate") ==
          R"(Bearer error="insufficient_user_authentication", acr_values="aal2", max_age=600)");
    CHECK(auth.header("set-cookie").empty());  // the session is still good where less is asked
    CHECK(t.call("GET", "/v1/auth?aal=1", test_keys::auth, "", cookie).status == 200);
    for (const char* bad : {"/v1/auth?aal=0", "/v1/auth?aal=4", "/v1/auth?aal=two", "/v1/auth?aal="})
        CHECK(t.call("GET", bad, test_keys::auth, "", cookie).status == 400);

    // Assurance is a sign-in's: only a rotation that says the user signed in again sets it.
    auto not_reauthenticated = t.rotate(token, R"("aal":2)");
    CHECK(not_reauthenticated.status == 400);
    CHECK(not_reauthenticated.code() == "malformed_request");
    auto stepped_up = t.rotate(token, R"("reauthenticated":true,"aal":2,"amr":["pwd","hwk"])");
    REQUIRE(stepped_up.status == 200);
    CHECK(session_of(stepped_up).at("aal") == 2);
    CHECK(session_of(stepped_up).at("amr") == json::parse(R"(["pwd","hwk"])"));
    const auto next = str(stepped_up.json, "token");
    CHECK(t.validate(next, R"("aal":2)").status == 200);
    CHECK(t.call("GET", "/v1/auth?aal=2", test_keys::auth, "", {{"Cookie", "__Host-sid=" + next}}).status == 200);
    // A reauthentication that states no assurance keeps the one the session has.
    auto again = t.rotate(next, R"("reauthenticated":true)");
    REQUIRE(again.status == 200);
    CHECK(session_of(again).at("aal") == 2);
}

TEST_CASE("context: with record-format 4 (beside instances that read up to format 4) no context is stored") {
    contract_target t("redis", {"--record-format", "4"});
    auto created = t.create("alice", R"("device":{"label":"Phone"},"aal":2,"tenant":"acme")");
    REQUIRE(created.status == 201);
    auto read = t.validate(str(created.json, "token"));
    REQUIRE(read.status == 200);
    for (const char* member : {"device", "aal", "tenant"})
        CHECK_FALSE(session_of(read).contains(member));
    // The stored value is what the previous version reads: format 3.
    const auto keys = t.redis()->cli({"KEYS", "contract:*:s:*"});  // 1) "contract:{b}:s:id"
    const auto open = keys.find('"');
    REQUIRE(open != std::string::npos);
    const auto key = keys.substr(open + 1, keys.find('"', open + 1) - open - 1);
    CHECK(t.redis()->cli({"GETRANGE", key, "0", "0"}).find(R"("\x03")") != std::string::npos);
}
