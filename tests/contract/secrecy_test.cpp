// Tokens never leave sessiond except in the replies that issue them: not in
// its logs, not in the store (only a 16-byte SHA-256 digest of each secret
// is kept).

#include <catch2/catch.hpp>

#include <signal.h>

#include <map>
#include <thread>

#include "session/crypto.hpp"
#include "support/contract_target.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string hex(const std::vector<std::uint8_t>& b) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (auto c : b) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

// Every spelling of a token and its secret that must never be found.
std::vector<std::string> forbidden_forms(const std::string& token) {
    std::vector<std::string> forms = {token, token.substr(4)};
    auto payload = sessiond::session::base64url_decode(token.substr(4));
    REQUIRE(payload);
    REQUIRE(payload->size() == 68);
    std::vector<std::uint8_t> secret(payload->begin() + 19, payload->begin() + 51);
    forms.push_back(std::string(secret.begin(), secret.end()));
    forms.push_back(sessiond::session::base64url_encode(sessiond::session::bytes_view(secret.data(), secret.size())));
    forms.push_back(hex(secret));
    // Any 16-character window of the encoded secret part of the token.
    forms.push_back(token.substr(4 + 26, 16));
    return forms;
}

// Exercises every endpoint, including failures, and returns the tokens issued.
void workload(contract_target& t) {
    for (int i = 0; i < 20; ++i) {
        auto c = t.create("user-" + std::to_string(i % 4), R"("metadata":{"n":)" + std::to_string(i) + "}");
        REQUIRE(c.status == 201);
        auto token = str(c.json, "token");
        REQUIRE(t.validate(token).status == 200);
        REQUIRE(t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + token}}).status == 200);
        if (i % 3 == 0) {
            auto r = t.rotate(token);
            REQUIRE(r.status == 200);
            t.validate(token);  // previous token, within grace
        }
        if (i % 5 == 0) REQUIRE(t.revoke(token).status == 204);
        auto forged = token;
        forged[40] = forged[40] == 'x' ? 'y' : 'x';
        REQUIRE(t.validate(forged).status == 401);
    }
    t.call("DELETE", "/v1/users/user-1/sessions", test_keys::admin);
}

}  // namespace

TEST_CASE("no issued token or secret appears in anything sessiond logged") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--log-level", "debug"});
    workload(t);
    t.daemon().proc().signal(SIGTERM);
    REQUIRE(t.daemon().proc().wait(10s) == std::optional<int>(0));
    auto log = t.daemon().proc().log();
    REQUIRE(log.find("session.created") != std::string::npos);  // the log is really there
    REQUIRE(t.issued_tokens().size() >= 20);
    for (const auto& token : t.issued_tokens())
        for (const auto& form : forbidden_forms(token)) {
            INFO("token " << token.substr(0, 12) << "...");
            CHECK(log.find(form) == std::string::npos);
        }
}

TEST_CASE("at rest, Redis holds no token or secret in any form") {
    contract_target t("redis");
    workload(t);
    resp_client redis(t.redis()->port());
    auto keys = redis.keys();
    REQUIRE(keys.size() >= 10);
    std::string everything;
    for (const auto& k : keys) {
        everything += k + "\n";
        auto type = redis.command({"TYPE", k}).str;
        if (type == "string") {
            everything += redis.command({"GET", k}).str + "\n";
        } else if (type == "zset") {
            for (const auto& e : redis.command({"ZRANGE", k, "0", "-1", "WITHSCORES"}).elements)
                everything += e.str + "\n";
        } else {
            FAIL("unexpected key type " << type);
        }
    }
    for (const auto& token : t.issued_tokens())
        for (const auto& form : forbidden_forms(token))
            CHECK(everything.find(form) == std::string::npos);
    // Every key carries the configured prefix.
    for (const auto& k : keys)
        CHECK(k.rfind("contract:", 0) == 0);
}

TEST_CASE("every refused token gets the same detail: no oracle for key ids, live sessions or reuse") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    contract_target t(store, {"--rotation-grace", "1s", "--log-level", "debug"});
    // A token with another payload byte, re-encoded canonically (so only the
    // changed field is wrong).
    auto with_byte = [](const std::string& token, std::size_t at, std::uint8_t value) {
        auto payload = sessiond::session::base64url_decode(token.substr(4));
        REQUIRE(payload);
        REQUIRE(payload->size() == 68);
        (*payload)[at] = value;
        return token.substr(0, 4) +
               sessiond::session::base64url_encode(sessiond::session::bytes_view(payload->data(), payload->size()));
    };
    // The payload byte at `at` changed (a real change: flipped bits).
    auto flipped = [](const std::string& token, std::size_t at) {
        auto payload = sessiond::session::base64url_decode(token.substr(4));
        REQUIRE(payload);
        REQUIRE(payload->size() == 68);
        (*payload)[at] ^= 0x55;
        return token.substr(0, 4) +
               sessiond::session::base64url_encode(sessiond::session::bytes_view(payload->data(), payload->size()));
    };
    auto token = str(t.create("oracle").json, "token");
    auto expiring = str(t.create("oracle", R"("idle_timeout":1)").json, "token");
    auto revoked = str(t.create("oracle").json, "token");
    REQUIRE(t.revoke(revoked).status == 204);
    auto rotated_away = str(t.create("oracle").json, "token");
    REQUIRE(t.rotate(rotated_away).status == 200);

    std::map<std::string, api_reply> refused;
    refused["unknown key id"] = t.validate(with_byte(token, 51, 9));  // kid 9 is not configured
    refused["forged tag"] = t.validate(flipped(token, 60));
    refused["malformed"] = t.validate("sid_short");
    refused["revoked session"] = t.validate(revoked);
    // Within its grace the previous token validates but cannot rotate.
    refused["previous token rotating"] = t.rotate(rotated_away);
    std::this_thread::sleep_for(1200ms);  // the idle timeout and the grace pass, counted from their replies
    refused["expired"] = t.validate(expiring);
    refused["reuse after the grace"] = t.validate(rotated_away);
    refused["forward auth, unknown key id"] =
        t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + with_byte(token, 51, 9)}});
    for (const auto& [what, r] : refused) {
        INFO(what << ": " << r.body);
        CHECK(r.status == 401);
        CHECK(r.code() == "invalid_session");
        CHECK(str(r.json, "detail") == "the session token is not valid");
    }
    // The session behind the untouched token is fine.
    CHECK(t.validate(token).status == 200);
    // Operators still see why, by reason.
    auto metrics = t.daemon().request("GET", "/metrics").body;
    CHECK(metrics.find("sessiond_tokens_refused_total{reason=\"unknown_key\"} 2") != std::string::npos);
    CHECK(metrics.find("sessiond_tokens_refused_total{reason=\"reuse\"} 1") != std::string::npos);
    CHECK(metrics.find("sessiond_tokens_refused_total{reason=\"bad_tag\"} 1") != std::string::npos);
}
