// OIDC Back-Channel Logout 1.0, once per store: logout tokens signed by
// PyJWT (tests/interop/pyjwt_logout.py) with RSA and EC keys made by
// openssl end the sessions they name (by sid: exactly that provider
// session's; by sub: every session of the user), and every refusal the
// specification lists answers 400 invalid_request and ends nothing. The
// provider's JWKS file is read again on SIGHUP.

#include <catch2/catch.hpp>

#include <csignal>
#include <string>

#include "support/contract_target.hpp"
#include "support/oidc_idp.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string route = "/v1/oidc/backchannel-logout/corp";
const std::map<std::string, std::string> form_headers = {{"Content-Type", "application/x-www-form-urlencoded"}};

api_reply logout(contract_target& t, const std::string& token, const std::string& path = route) {
    return t.call("POST", path, "", logout_form(token), form_headers);
}

// A session of `user`, opened under the provider session `sid` (none if empty).
std::string open(contract_target& t, const std::string& user, const std::string& sid) {
    auto r = t.create(user, sid.empty() ? "" : R"("provider":{"name":"corp","sid":")" + sid + "\"}");
    REQUIRE(r.status == 201);
    return str(r.json, "token");
}

bool live(contract_target& t, const std::string& token) {
    const auto status = t.validate(token).status;
    REQUIRE((status == 200 || status == 401));
    return status == 200;
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void check_refused(const api_reply& r) {
    CHECK(r.status == 400);
    CHECK(r.header("cache-control") == "no-store");
    REQUIRE(r.json.is_object());
    CHECK(str(r.json, "error") == "invalid_request");
    CHECK(!str(r.json, "error_description").empty());
}

}  // namespace

TEST_CASE("backchannel logout: by sid ends that provider session's sessions, by sub all of the user's") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    oidc_idp idp;
    contract_target t(store, idp.flags());

    const auto a1 = open(t, "alice", "idp-sid-A");
    const auto a1_twin = open(t, "alice", "idp-sid-A");  // a second app session under the same IdP session
    const auto a2 = open(t, "alice", "idp-sid-B");
    const auto a3 = open(t, "alice", "");
    const auto b1 = open(t, "bob", "idp-sid-C");
    const auto b2 = open(t, "bob", "idp-sid-D");

    const auto tokens = idp.sign({
        {idp.claims("", "idp-sid-A")},
        {idp.claims("", "idp-sid-unknown")},
        {idp.claims("alice", "")},
        {idp.claims("bob", "idp-sid-C"), "e1", "ES256"},
    });

    // By sid: exactly the sessions opened under it.
    auto r = logout(t, tokens[0]);
    CHECK(r.status == 200);
    CHECK(r.header("cache-control") == "no-store");
    CHECK(r.body.empty());
    CHECK_FALSE(live(t, a1));
    CHECK_FALSE(live(t, a1_twin));
    CHECK(live(t, a2));
    CHECK(live(t, a3));
    CHECK(live(t, b1));

    // A sid that no session was opened under: 200 all the same.
    CHECK(logout(t, tokens[1]).status == 200);
    CHECK(live(t, a2));

    // By sub alone: every session of the user, whatever its provider session.
    CHECK(logout(t, tokens[2]).status == 200);
    CHECK_FALSE(live(t, a2));
    CHECK_FALSE(live(t, a3));
    CHECK(live(t, b1));
    CHECK(live(t, b2));

    // Both (ES256): the sid decides, the user's other provider session lives.
    CHECK(logout(t, tokens[3]).status == 200);
    CHECK_FALSE(live(t, b1));
    CHECK(live(t, b2));

    // Audited with the reason and the provider as the caller (the log
    // thread writes the lines after the answers); no token logged.
    CHECK(t.daemon().proc().wait_for_log(R"("reason":"backchannel_logout")", 5s));
    CHECK(t.daemon().proc().wait_for_log(R"("caller":"corp")", 5s));
    const auto log = t.daemon().proc().log();
    for (const auto& token : tokens)
        CHECK(log.find(token.substr(token.rfind('.') + 1)) == std::string::npos);

    // A session may name configured providers only.
    auto unknown = t.create("carol", R"("provider":{"name":"elsewhere","sid":"s1"})");
    CHECK(unknown.status == 400);
    CHECK(unknown.code() == "malformed_request");

    CHECK(t.call("GET", "/metrics", "").body.find("sessiond_backchannel_logouts_total{result=\"ok\"} 4\n") !=
          std::string::npos);
}

TEST_CASE("backchannel logout: every invalid token is refused with 400 and ends nothing") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    oidc_idp idp;
    contract_target t(store, idp.flags());
    const auto session = open(t, "dave", "idp-sid-X");

    auto valid = [&] { return idp.claims("dave", "idp-sid-X"); };
    auto with = [&](const char* name, json::value v) {
        auto c = valid();
        c[name] = std::move(v);
        return c;
    };
    auto without = [&](const char* name) {
        auto c = valid();
        c.erase(name);
        return c;
    };
    const std::string event = "http://schemas.openid.net/event/backchannel-logout";
    const auto now = now_s();
    const std::vector<std::pair<std::string, oidc_idp::spec>> cases = {
        {"alg none", {valid(), "", "none"}},
        {"HS256", {valid(), "", "HS256", {{"kid", "r1"}}}},
        {"an RS256 token naming the EC key", {valid(), "r1", "RS256", {{"kid", "e1"}}}},
        {"a key the JWKS does not hold, named as r1", {valid(), "stray", "RS256", {{"kid", "r1"}}}},
        {"an unknown kid", {valid(), "stray", "RS256"}},
        {"another issuer", {with("iss", "https://idp.test/realms/other")}},
        {"another audience", {with("aud", "someone-else")}},
        {"an audience list without the client", {with("aud", json::array{"a", "b"})}},
        {"no iat", {without("iat")}},
        {"iat too old", {with("iat", now - 3600)}},
        {"iat in the future", {with("iat", now + 3600)}},
        {"exp passed", {with("exp", now - 300)}},
        {"no events", {without("events")}},
        {"events without the logout event", {with("events", json::object{{"urn:other", json::object{}}})}},
        {"the logout event not an object", {with("events", json::object{{event, "yes"}})}},
        {"events not an object", {with("events", json::array{event})}},
        {"a nonce", {with("nonce", "n-0S6_WzA2Mj")}},
        {"neither sub nor sid", {[&] {
             auto c = without("sub");
             c.erase("sid");
             return c;
         }()}},
        {"no jti", {without("jti")}},
        {"sub not a string", {with("sub", 42)}},
    };
    std::vector<oidc_idp::spec> specs;
    for (const auto& [why, spec] : cases)
        specs.push_back(spec);
    specs.push_back({valid()});  // replayed below
    const auto tokens = idp.sign(specs);

    for (std::size_t i = 0; i < cases.size(); ++i) {
        INFO("case: " << cases[i].first);
        check_refused(logout(t, tokens[i]));
    }
    // A signature that does not verify: a valid token with a claim changed.
    const auto& good = tokens.back();
    const auto dot = good.find('.');
    check_refused(logout(t, good.substr(0, dot + 1) + "e30" + good.substr(good.find('.', dot + 1))));
    check_refused(logout(t, good.substr(0, good.size() - 4) + "AAAA"));
    REQUIRE(live(t, session));

    // Malformed requests.
    check_refused(logout(t, "not-a-jwt"));
    check_refused(t.call("POST", route, "", "token=" + good, form_headers));
    check_refused(t.call("POST", route, "", "logout_token=%zz", form_headers));
    check_refused(t.call("POST", route, "", logout_form(good) + "&" + logout_form(good), form_headers));
    check_refused(t.call("POST", route, "", R"({"logout_token":")" + good + "\"}"));  // application/json
    check_refused(logout(t, std::string(20 * 1024, 'a')));
    REQUIRE(live(t, session));

    // Unknown provider: 404, and the token is not spent.
    auto unknown = logout(t, good, "/v1/oidc/backchannel-logout/elsewhere");
    CHECK(unknown.status == 404);
    CHECK(unknown.header("cache-control") == "no-store");
    REQUIRE(live(t, session));

    // The valid token works once; its replay is refused.
    CHECK(logout(t, good).status == 200);
    CHECK_FALSE(live(t, session));
    check_refused(logout(t, good));

    const auto metrics = t.call("GET", "/metrics", "").body;
    CHECK(metrics.find("sessiond_backchannel_logouts_total{result=\"replayed\"} 1\n") != std::string::npos);
    CHECK(metrics.find("sessiond_backchannel_logouts_total{result=\"unknown_provider\"} 1\n") != std::string::npos);
}

TEST_CASE("backchannel logout: the JWKS is read again on SIGHUP; a bad file keeps the keys in use") {
    oidc_idp idp;
    temp_dir conf;
    const auto file = conf.file("sessiond.conf");
    write_file(file, "oidc-providers = " + idp.entry() + "\noidc-logout-max-age = 2m\n");
    contract_target t("memory", {"--config", file});
    idp.make_key("r2", "RSA");
    const auto s1 = open(t, "erin", "idp-sid-1");
    const auto s2 = open(t, "erin", "idp-sid-2");
    const auto tokens = idp.sign({{idp.claims("", "idp-sid-1"), "r2"}, {idp.claims("", "idp-sid-2"), "r1"}});
    auto reloaded = [&](const std::string& line) {
        return eventually([&] { return t.call("GET", "/metrics", "").body.find(line) != std::string::npos; }, 20s);
    };

    // r2 is not published yet.
    check_refused(logout(t, tokens[0]));
    CHECK(live(t, s1));

    idp.publish({"r1", "r2"});
    t.daemon().proc().signal(SIGHUP);
    REQUIRE(reloaded("sessiond_config_reloads_total{result=\"ok\"} 1\n"));
    CHECK(reloaded("sessiond_oidc_jwks_reloads_total{result=\"ok\"} 1\n"));
    CHECK(logout(t, tokens[0]).status == 200);
    CHECK_FALSE(live(t, s1));

    // A JWKS file that is not one: the reload fails, the keys stay.
    write_file(idp.jwks_path(), R"({"keys":"none"})");
    t.daemon().proc().signal(SIGHUP);
    REQUIRE(reloaded("sessiond_config_reloads_total{result=\"failed\"} 1\n"));
    CHECK(reloaded("sessiond_oidc_jwks_reloads_total{result=\"failed\"} 1\n"));
    CHECK(logout(t, tokens[1]).status == 200);
    CHECK_FALSE(live(t, s2));
}
