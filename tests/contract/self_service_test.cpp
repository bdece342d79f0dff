// Self-service and offboarding, once per store: a user's own sessions
// listed and ended through their session token (POST /v1/self/sessions,
// POST /v1/self/sessions/revoke, scope sessions:self), and bulk revocation
// of users' sessions (POST /v1/users/revoke, scope sessions:admin).

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "support/contract_target.hpp"
#include "support/process.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct signed_in {
    std::string token, id;
};

signed_in sign_in(contract_target& t, const std::string& user, const std::string& label = "") {
    auto c = t.create(user, label.empty() ? "" : R"("device":{"user_agent":"Mozilla/5.0","label":")" + label + "\"}");
    REQUIRE(c.status == 201);
    return {str(c.json, "token"), std::string(session_of(c).at("id").as_string())};
}

api_reply self_list(contract_target& t, const std::string& body) {
    return t.call("POST", "/v1/self/sessions", test_keys::self, body);
}

api_reply self_revoke(contract_target& t, const std::string& body) {
    return t.call("POST", "/v1/self/sessions/revoke", test_keys::self, body);
}

std::string with_token(const std::string& token, const std::string& rest = "") {
    return R"({"token":")" + token + "\"" + (rest.empty() ? "" : "," + rest) + "}";
}

const json::array& sessions_in(const api_reply& r) {
    return r.json.as_object().at("sessions").as_array();
}

std::string id_of(const json::value& session) {
    return std::string(session.as_object().at("id").as_string());
}

void check_problem(const api_reply& r, int status, const std::string& code) {
    CHECK(r.status == status);
    CHECK(r.code() == code);
    CHECK(r.header("content-type") == "application/problem+json");
}

}  // namespace

TEST_CASE("self-service: a user's sessions with their devices, the presenting one marked current") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto laptop = sign_in(t, "sam", "Firefox on Linux");
    const auto phone = sign_in(t, "sam", "Safari on iPhone");
    const auto tablet = sign_in(t, "sam");
    const auto other = sign_in(t, "tess", "Chrome on Windows");

    auto listed = self_list(t, with_token(phone.token));
    REQUIRE(listed.status == 200);
    CHECK(listed.header("content-type") == "application/json");
    CHECK_FALSE(listed.json.as_object().contains("next_cursor"));
    std::set<std::string> ids, current;
    for (const auto& s : sessions_in(listed)) {
        const auto& o = s.as_object();
        CHECK(o.at("user_id") == "sam");
        REQUIRE(o.at("current").is_bool());
        if (o.at("current").as_bool()) current.insert(id_of(s));
        ids.insert(id_of(s));
        if (id_of(s) == laptop.id) CHECK(o.at("device").at("label") == "Firefox on Linux");
        CHECK(o.at("device").as_object().contains("created_address"));
    }
    CHECK(ids == std::set<std::string>{laptop.id, phone.id, tablet.id});
    CHECK(current == std::set<std::string>{phone.id});
    // No token travels back.
    CHECK(listed.body.find(phone.token) == std::string::npos);

    // Another user sees theirs alone.
    auto theirs = self_list(t, with_token(other.token));
    REQUIRE(theirs.status == 200);
    REQUIRE(sessions_in(theirs).size() == 1);
    CHECK(id_of(sessions_in(theirs)[0]) == other.id);
    CHECK(sessions_in(theirs)[0].at("current") == true);

    // The token must be live: forged, revoked, another deployment's.
    auto forged = phone.token;
    forged[50] = forged[50] == 'A' ? 'B' : 'A';
    check_problem(self_list(t, with_token(forged)), 401, "invalid_session");
    check_problem(self_list(t, with_token("sid_nope")), 401, "invalid_session");
    check_problem(self_list(t, with_token(std::string(600, 'x'))), 401, "invalid_session");
    REQUIRE(t.revoke(tablet.token).status == 204);
    check_problem(self_list(t, with_token(tablet.token)), 401, "invalid_session");
    check_problem(self_revoke(t, with_token(tablet.token, R"("others":true)")), 401, "invalid_session");
    CHECK(sessions_in(self_list(t, with_token(laptop.token))).size() == 2);
}

TEST_CASE("self-service: the list is paged exactly as the user's list under sessions:admin") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    std::set<std::string> ids;
    signed_in mine;
    for (int i = 0; i < 130; ++i) {
        mine = sign_in(t, "paula");
        ids.insert(mine.id);
    }
    REQUIRE(sign_in(t, "quentin").id.size() == 24);

    auto first = self_list(t, with_token(mine.token));
    REQUIRE(first.status == 200);
    CHECK(sessions_in(first).size() == 100);
    REQUIRE(first.json.as_object().contains("next_cursor"));

    std::set<std::string> walked;
    int current = 0, pages = 0;
    std::string cursor;
    for (; pages < 20; ++pages) {
        auto page = self_list(
            t, with_token(mine.token, R"("limit":40)" + (cursor.empty() ? "" : R"(,"cursor":")" + cursor + "\"")));
        REQUIRE(page.status == 200);
        CHECK(sessions_in(page).size() <= 40);
        for (const auto& s : sessions_in(page)) {
            CHECK(walked.insert(id_of(s)).second);
            current += s.at("current").as_bool() ? 1 : 0;
        }
        if (!page.json.as_object().contains("next_cursor")) break;
        cursor = str(page.json, "next_cursor");
    }
    CHECK(walked == ids);
    CHECK(current == 1);
    CHECK(pages >= 3);
    CHECK(pages <= 4);

    // The cursors are the admin list's: bound to the user, good on either route.
    auto admin_page = t.call("GET", "/v1/users/paula/sessions?limit=10", test_keys::admin);
    REQUIRE(admin_page.json.as_object().contains("next_cursor"));
    const auto admin_cursor = str(admin_page.json, "next_cursor");
    auto next = self_list(t, with_token(mine.token, R"("limit":10,"cursor":")" + admin_cursor + "\""));
    REQUIRE(next.status == 200);
    CHECK(sessions_in(next).size() <= 10);
    auto all = self_list(t, with_token(mine.token, R"("limit":1000)"));
    CHECK(sessions_in(all).size() == 130);
    CHECK_FALSE(all.json.as_object().contains("next_cursor"));

    auto other_cursor = t.call("GET", "/v1/users/quentin/sessions?limit=1", test_keys::admin);
    std::vector<std::string> refused = {R"("limit":0)",   R"("limit":1001)",     R"("limit":"10")", R"("limit":-1)",
                                        R"("limit":1.5)", R"("cursor":"abc")",   R"("cursor":"")",  R"("cursor":null)",
                                        R"("cursor":1)",  R"("user_id":"paula")"};
    if (other_cursor.json.as_object().contains("next_cursor"))
        refused.push_back(R"("cursor":")" + str(other_cursor.json, "next_cursor") + "\"");
    auto edited = admin_cursor;
    edited[5] = edited[5] == 'A' ? 'B' : 'A';
    refused.push_back(R"("cursor":")" + edited + "\"");
    for (const auto& bad : refused) {
        INFO(bad);
        check_problem(self_list(t, with_token(mine.token, bad)), 400, "malformed_request");
    }
}

TEST_CASE("self-service: a user ends one of their sessions, or all the others") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto a = sign_in(t, "rosa", "laptop");
    const auto b = sign_in(t, "rosa", "phone");
    const auto c = sign_in(t, "rosa", "tablet");
    const auto d = sign_in(t, "rosa", "old laptop");
    const auto stranger = sign_in(t, "stan");

    // One session, by its id: the other token is refused at once.
    auto ended = self_revoke(t, with_token(a.token, R"("session_id":")" + b.id + "\""));
    REQUIRE(ended.status == 200);
    CHECK(ended.json == json::parse(R"({"revoked":1})"));
    check_problem(t.validate(b.token), 401, "invalid_session");
    check_problem(self_list(t, with_token(b.token)), 401, "invalid_session");
    CHECK(t.validate(a.token).status == 200);
    // Again: gone.
    check_problem(self_revoke(t, with_token(a.token, R"("session_id":")" + b.id + "\"")), 404, "not_found");

    // Another user's session is answered as one that does not exist, and lives on.
    check_problem(self_revoke(t, with_token(a.token, R"("session_id":")" + stranger.id + "\"")), 404, "not_found");
    check_problem(self_revoke(t, with_token(a.token, R"("session_id":"AAAAAAAAAAAAAAAAAAAAAAAA")")), 404, "not_found");
    CHECK(t.validate(stranger.token).status == 200);

    // All the others: the current one stays.
    auto others = self_revoke(t, with_token(a.token, R"("others":true)"));
    REQUIRE(others.status == 200);
    CHECK(others.json == json::parse(R"({"revoked":2})"));
    check_problem(t.validate(c.token), 401, "invalid_session");
    check_problem(t.validate(d.token), 401, "invalid_session");
    CHECK(t.validate(a.token).status == 200);
    CHECK(t.validate(stranger.token).status == 200);
    auto left = self_list(t, with_token(a.token));
    REQUIRE(sessions_in(left).size() == 1);
    CHECK(id_of(sessions_in(left)[0]) == a.id);
    CHECK(self_revoke(t, with_token(a.token, R"("others":true)")).json == json::parse(R"({"revoked":0})"));

    // The current one, by its own id: signing out.
    auto out = self_revoke(t, with_token(a.token, R"("session_id":")" + a.id + "\""));
    CHECK(out.status == 200);
    check_problem(t.validate(a.token), 401, "invalid_session");
    CHECK(t.validate(stranger.token).status == 200);
}

TEST_CASE("self-service: bad requests get the documented status and code, and change nothing") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto me = sign_in(t, "uma");
    const auto mine = sign_in(t, "uma");
    struct row {
        std::string path, body;
        int status;
        std::string code;
    };
    const std::string list = "/v1/self/sessions", revoke = "/v1/self/sessions/revoke";
    const std::vector<row> rows = {
        {list, "{", 400, "malformed_request"},
        {list, "[]", 400, "malformed_request"},
        {list, "{}", 400, "malformed_request"},
        {list, R"({"token":1})", 400, "malformed_request"},
        {list, with_token(me.token, R"("extra":1)"), 400, "malformed_request"},
        {revoke, with_token(me.token), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("others":false)"), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("others":"yes")"), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("others":null)"), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("others":true,"session_id":")" + mine.id + "\""), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("session_id":"not-an-id")"), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("session_id":42)"), 400, "malformed_request"},
        {revoke, with_token(me.token, R"("session_ids":[")" + mine.id + "\"]"), 400, "malformed_request"},
        {revoke, R"({"session_id":")" + mine.id + "\"}", 400, "malformed_request"},
        {revoke, R"({"token":"sid_nope","others":true})", 401, "invalid_session"},
        {revoke, R"({"token":"","session_id":")" + mine.id + "\"}", 401, "invalid_session"},
    };
    for (const auto& r : rows) {
        INFO(r.path << " " << r.body.substr(0, 160));
        check_problem(t.call("POST", r.path, test_keys::self, r.body), r.status, r.code);
    }
    check_problem(t.call("POST", list, test_keys::self, with_token(me.token), {{"Content-Type", "text/plain"}}), 415,
                  "unsupported_media_type");
    check_problem(t.call("GET", list, test_keys::self), 405, "method_not_allowed");
    // Nothing was ended by any of it.
    CHECK(t.validate(me.token).status == 200);
    CHECK(t.validate(mine.token).status == 200);
}

TEST_CASE("bulk revocation: each user's sessions, counted per user") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    std::vector<signed_in> victor, wanda;
    for (int i = 0; i < 3; ++i)
        victor.push_back(sign_in(t, "victor"));
    wanda.push_back(sign_in(t, "wanda@example.com"));
    const auto stays = sign_in(t, "xavier");

    auto r =
        t.call("POST", "/v1/users/revoke", test_keys::admin, R"({"user_ids":["victor","nobody","wanda@example.com"]})");
    REQUIRE(r.status == 200);
    CHECK(r.json == json::parse(R"({"results":[{"user_id":"victor","revoked":3},{"user_id":"nobody","revoked":0},)"
                                R"({"user_id":"wanda@example.com","revoked":1}]})"));
    for (const auto& s : victor)
        check_problem(t.validate(s.token), 401, "invalid_session");
    check_problem(t.validate(wanda[0].token), 401, "invalid_session");
    CHECK(t.validate(stays.token).status == 200);

    // A full batch is taken; one more id is not, and nothing is revoked.
    std::string hundred = R"({"user_ids":[)", too_many;
    for (int i = 0; i < 100; ++i)
        hundred += (i ? ",\"u" : "\"u") + std::to_string(i) + "\"";
    too_many = hundred + R"(,"xavier"]})";
    hundred += "]}";
    auto full = t.call("POST", "/v1/users/revoke", test_keys::admin, hundred);
    REQUIRE(full.status == 200);
    CHECK(full.json.at("results").as_array().size() == 100);
    const std::vector<std::string> refused = {
        too_many,
        R"({"user_ids":[]})",
        R"({"user_ids":"xavier"})",
        R"({"user_ids":["xavier","xavier"]})",
        R"({"user_ids":["xavier",""]})",
        R"({"user_ids":["xavier","a\u0000b"]})",
        R"({"user_ids":["xavier",7]})",
        R"({"user_ids":["xavier"],"except":"x"})",
        R"({})",
        R"([])",
    };
    for (const auto& body : refused) {
        INFO(body.substr(0, 120));
        check_problem(t.call("POST", "/v1/users/revoke", test_keys::admin, body), 400, "malformed_request");
    }
    CHECK(t.validate(stays.token).status == 200);
}

TEST_CASE("self-service: an expired, revoked or rotated-away token lists and ends nothing") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store, {"--rotation-grace", "0s"});
    const auto keep = sign_in(t, "abel");
    auto brief = t.create("abel", R"("idle_timeout":1)");
    REQUIRE(brief.status == 201);
    const auto brief_token = str(brief.json, "token");
    const auto revoked = sign_in(t, "abel");
    REQUIRE(t.call("POST", "/v1/sessions/revoke", test_keys::all, with_token(revoked.token)).status == 204);
    const auto rotated = sign_in(t, "abel");
    REQUIRE(t.rotate(rotated.token).status == 200);
    // The brief session's idle timeout passes.
    REQUIRE(eventually([&] { return t.validate(brief_token, R"("touch":false)").status == 401; }, 10s));

    for (const auto* token : {&brief_token, &revoked.token, &rotated.token}) {
        INFO(token->substr(0, 12));
        check_problem(self_list(t, with_token(*token)), 401, "invalid_session");
        check_problem(self_revoke(t, with_token(*token, R"("others":true)")), 401, "invalid_session");
        check_problem(self_revoke(t, with_token(*token, R"("session_id":")" + keep.id + "\"")), 401, "invalid_session");
    }
    CHECK(t.validate(keep.token).status == 200);
}

TEST_CASE("bulk revocation: a store failure for one user is reported for that user alone") {
    contract_target t("redis");
    // Yves' index is made unreadable (a string where Redis holds a sorted
    // set): every store call on it fails, as one on a failed node would.
    const auto yves = sign_in(t, "yves");
    resp_client redis(t.redis()->port());
    std::string index;
    for (const auto& key : redis.keys())
        if (key.find("}:u:") != std::string::npos) index = key;
    REQUIRE_FALSE(index.empty());
    REQUIRE(redis.command({"SET", index, "not a sorted set"}).kind == resp_value::status);
    const auto victor = sign_in(t, "victor");
    const auto wanda = sign_in(t, "wanda");

    auto r = t.call("POST", "/v1/users/revoke", test_keys::admin, R"({"user_ids":["victor","yves","wanda"]})");
    REQUIRE(r.status == 200);
    const auto& results = r.json.at("results").as_array();
    REQUIRE(results.size() == 3);
    CHECK(results[0] == json::parse(R"({"user_id":"victor","revoked":1})"));
    CHECK(results[1].at("user_id") == "yves");
    CHECK(results[1].at("revoked") == 0);
    CHECK(results[1].at("error").is_string());
    CHECK(results[2] == json::parse(R"({"user_id":"wanda","revoked":1})"));
    check_problem(t.validate(victor.token), 401, "invalid_session");
    check_problem(t.validate(wanda.token), 401, "invalid_session");
    CHECK(t.validate(yves.token).status == 200);  // not revoked, and said so
}

TEST_CASE("bulk revocation: a store that fails for every user is a 503") {
    contract_target t("redis", {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
    REQUIRE(t.create("yves").status == 201);
    t.redis()->stop();
    auto r = t.call("POST", "/v1/users/revoke", test_keys::admin, R"({"user_ids":["yves","zoe"]})");
    check_problem(r, 503, "store_unavailable");
    t.redis()->start();
}

TEST_CASE("self-service: the scope sessions:self and the admin routes exclude each other") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store);
    const auto me = sign_in(t, "yara");
    const std::vector<std::pair<std::string, std::string>> self_routes = {
        {"/v1/self/sessions", with_token(me.token)},
        {"/v1/self/sessions/revoke", with_token(me.token, R"("session_id":"AAAAAAAAAAAAAAAAAAAAAAAA")")},
    };
    for (const auto& [path, body] : self_routes) {
        INFO(path);
        auto allowed = t.call("POST", path, test_keys::self, body);
        CHECK(allowed.code() != "forbidden");
        CHECK(allowed.code() != "unauthenticated");
        CHECK(allowed.status < 500);
        for (const auto* key : {test_keys::read, test_keys::write, test_keys::admin, test_keys::auth})
            check_problem(t.call("POST", path, key, body), 403, "forbidden");
        check_problem(t.call("POST", path, "", body), 401, "unauthenticated");
    }
    // The self caller reaches no admin route, nor the token routes.
    check_problem(t.call("GET", "/v1/users/yara/sessions", test_keys::self), 403, "forbidden");
    check_problem(t.call("DELETE", "/v1/users/yara/sessions", test_keys::self), 403, "forbidden");
    check_problem(t.call("GET", "/v1/sessions/" + me.id, test_keys::self), 403, "forbidden");
    check_problem(t.call("POST", "/v1/users/revoke", test_keys::self, R"({"user_ids":["yara"]})"), 403, "forbidden");
    check_problem(t.call("POST", "/v1/sessions/validate", test_keys::self, with_token(me.token)), 403, "forbidden");
    CHECK(t.validate(me.token).status == 200);
}
