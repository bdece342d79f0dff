// "Not before" instants through the API, once per store: one write ends
// every session of a tenant, or every session, on every path.

#include <catch2/catch.hpp>

#include <string>

#include "support/contract_target.hpp"
#include "support/process.hpp"

using namespace sessiond::test;
namespace json = boost::json;

namespace {

struct opened {
    std::string token, id;
};

opened open_session(contract_target& t, const std::string& user, const std::string& tenant = "") {
    auto r = t.create(user, tenant.empty() ? "" : R"("tenant":")" + tenant + "\"");
    REQUIRE(r.status == 201);
    return {str(r.json, "token"), std::string(session_of(r).at("id").as_string())};
}

}  // namespace

TEST_CASE("not before: one write ends a tenant's sessions, another everyone's, on every path") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto alice = open_session(t, "alice", "acme");
    const auto bob = open_session(t, "bob", "other");
    const auto carol = open_session(t, "carol");
    for (const auto* s : {&alice, &bob, &carol})
        REQUIRE(t.validate(s->token).status == 200);

    auto none = t.call("GET", "/v1/not-before", test_keys::admin);
    REQUIRE(none.status == 200);
    CHECK(none.json == json::parse(R"({"all":null,"tenants":{}})"));

    auto acme = t.call("POST", "/v1/not-before", test_keys::admin, R"({"tenant":"acme"})");
    REQUIRE(acme.status == 200);
    CHECK(acme.json.at("tenant") == "acme");
    const auto acme_at = std::string(acme.json.at("not_before").as_string());
    CHECK(acme_at.size() == 24);

    auto refused = t.validate(alice.token);
    CHECK(refused.status == 401);
    CHECK(refused.code() == "invalid_session");
    CHECK(t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + alice.token}}).status == 401);
    CHECK(t.rotate(alice.token).status == 401);
    CHECK(t.call("GET", "/v1/sessions/" + alice.id, test_keys::admin).status == 404);
    CHECK(t.call("GET", "/v1/users/alice/sessions", test_keys::admin).json.at("sessions").as_array().empty());
    CHECK(t.validate(bob.token).status == 200);
    CHECK(t.validate(carol.token).status == 200);
    // A session of the tenant opened afterwards lives (one opened in the
    // instant's millisecond is ended with the others).
    opened later;
    REQUIRE(eventually(
        [&] {
            later = open_session(t, "alice", "acme");
            return t.validate(later.token).status == 200;
        },
        std::chrono::seconds(5)));

    auto shown = t.call("GET", "/v1/not-before", test_keys::admin);
    REQUIRE(shown.status == 200);
    CHECK(shown.json.at("all").is_null());
    CHECK(shown.json.at("tenants").at("acme") == acme_at.c_str());

    auto everyone = t.call("POST", "/v1/not-before", test_keys::admin, "{}");
    REQUIRE(everyone.status == 200);
    CHECK(everyone.json.at("tenant").is_null());
    for (const opened* s : std::initializer_list<const opened*>{&bob, &carol, &later})
        CHECK(t.validate(s->token).status == 401);
    CHECK(t.call("GET", "/v1/not-before", test_keys::admin).json.at("all") == everyone.json.at("not_before"));
    CHECK(metric(t, "sessiond_tokens_refused_total{reason=\"signed_out\"}") >= 5);
}

TEST_CASE("not before: strict input, admin scope") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store);
    for (const std::string body : {R"({"tenant":"a/b"})", R"({"tenant":7})", R"({"user_id":"alice"})", "[]",
                                   R"({"user":"alice","tenant":"acme"})", R"({"user":7})", R"({"user":"a\u0001"})",
                                   R"({"tenant":""})", R"({"user":""})", R"({"tenant":null})"}) {
        INFO(body);
        auto r = t.call("POST", "/v1/not-before", test_keys::admin, body);
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
    CHECK(t.call("POST", "/v1/not-before", test_keys::write, "{}").status == 403);
    CHECK(t.call("GET", "/v1/not-before", test_keys::read).status == 403);
    CHECK(t.call("GET", "/v1/not-before", "").status == 401);
    CHECK(t.call("GET", "/v1/not-before?user=a%01", test_keys::admin).status == 400);
    CHECK(t.call("GET", "/v1/not-before?tenant=acme", test_keys::admin).status == 400);
    // Nothing was set by the refusals.
    CHECK(t.call("GET", "/v1/not-before", test_keys::admin).json.at("all").is_null());
}

TEST_CASE("not before: a user's instant ends the user's sessions and is shown") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto first = open_session(t, "dave");
    const auto second = open_session(t, "dave", "acme");
    const auto other = open_session(t, "erin");

    auto none = t.call("GET", "/v1/not-before?user=dave", test_keys::admin);
    REQUIRE(none.status == 200);
    CHECK(none.json == json::parse(R"({"all":null,"tenants":{},"user":{"id":"dave","not_before":null}})"));

    auto set = t.call("POST", "/v1/not-before", test_keys::admin, R"({"user":"dave"})");
    REQUIRE(set.status == 200);
    CHECK(set.json.at("user") == "dave");
    CHECK(set.json.at("revoked") == 2);
    const auto at = std::string(set.json.at("not_before").as_string());
    CHECK(at.size() == 24);
    CHECK(t.validate(first.token).status == 401);
    CHECK(t.validate(second.token).status == 401);
    CHECK(t.call("GET", "/v1/sessions/" + first.id, test_keys::admin).status == 404);
    CHECK(t.validate(other.token).status == 200);

    auto shown = t.call("GET", "/v1/not-before?user=dave", test_keys::admin);
    REQUIRE(shown.status == 200);
    CHECK(shown.json.at("user").at("not_before") == at.c_str());
    CHECK(shown.json.at("all").is_null());  // nobody else's instant moved
    CHECK(t.call("GET", "/v1/not-before?user=erin", test_keys::admin).json.at("user").at("not_before").is_null());
    // A session the user opens afterwards lives.
    const auto later = open_session(t, "dave");
    CHECK(t.validate(later.token).status == 200);
}
