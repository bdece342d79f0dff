// Signed assertions: minted from a live session, verified by independent
// JWT libraries against the JWKS (PyJWT with cryptography, and jose on
// Node: tests/interop/), redeemed once, dead with their session, refused in
// every malformed, forged or misdirected form, and still verifiable after a
// key rotation for as long as their key is listed.

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "service/assertion_signer.hpp"
#include "session/crypto.hpp"
#include "support/contract_target.hpp"
#include "support/resp_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using sessiond::service::assertion_signer;

namespace {

const std::string issuer = "https://sessiond.test";

// A fresh private key's PEM: "ED25519", or "EC" on P-256.
std::string make_key_pem(const char* type) {
    EVP_PKEY* key = std::string(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                              : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    REQUIRE(key);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return pem;
}

// Key files for a deployment: a1 (Ed25519), e1 (P-256) and z9 (Ed25519, never configured).
struct key_files {
    temp_dir dir;
    std::map<std::string, std::string> pem;
    key_files() {
        for (auto [kid, type] : {std::pair{"a1", "ED25519"}, std::pair{"e1", "EC"}, std::pair{"z9", "ED25519"}}) {
            pem[kid] = make_key_pem(type);
            write_file(path(kid), pem[kid]);
            ::chmod(path(kid).c_str(), 0600);
        }
    }
    std::string path(const std::string& kid) const { return dir.file(kid + ".pem"); }
    std::string spec(std::initializer_list<const char*> kids) const {
        std::string out;
        for (const char* kid : kids)
            out += (out.empty() ? "" : ",") + std::string(kid) + ":" + path(kid);
        return out;
    }
    // A signer over the same key, to make assertions sessiond did not mint.
    std::shared_ptr<const assertion_signer> signer(const std::string& kid) const {
        sessiond::service::assertion_settings s;
        s.issuer = issuer;
        s.audiences = {"files"};
        return assertion_signer::make(s, {{kid, pem.at(kid)}}, kid);
    }
};

std::vector<std::string> assertion_flags(const key_files& keys, std::vector<std::string> more = {}) {
    std::vector<std::string> out = {"--assertion-keys",        keys.spec({"a1", "e1"}),
                                    "--assertion-signing-kid", "a1",
                                    "--assertion-issuer",      issuer,
                                    "--assertion-audiences",   "files,ws",
                                    "--assertion-claims",      "role"};
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

api_reply mint(contract_target& t, const std::string& token, const std::string& extra = "",
               const std::string& key = test_keys::mint) {
    return t.call("POST", "/v1/assertions", key, R"({"token":")" + token + R"(","audience":"files")" + extra + "}");
}

api_reply redeem(contract_target& t, const std::string& assertion, const std::string& audience = "files",
                 const std::string& key = test_keys::redeem) {
    return t.call("POST", "/v1/assertions/redeem", key,
                  R"({"assertion":")" + assertion + R"(","audience":")" + audience + "\"}");
}

// The JSON object a base64url part holds.
json::object part(const std::string& jwt, int index) {
    std::size_t start = 0;
    for (int i = 0; i < index; ++i)
        start = jwt.find('.', start) + 1;
    const auto end = jwt.find('.', start);
    auto bytes = sessiond::session::base64url_decode(jwt.substr(start, end - start));
    REQUIRE(bytes);
    return json::parse(std::string(bytes->begin(), bytes->end())).as_object();
}

// A claim or field as text: a string's value, anything else as JSON.
std::string text(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::string b64(const std::string& text) {
    return sessiond::session::base64url_encode(sessiond::session::as_bytes(text));
}

// The same assertion with the signature's last character spelled with other
// unused bits: the same 64 bytes (86 characters carry 516 bits, 4 of them
// unused), which only the canonical spelling may stand for.
std::string other_spelling(std::string jwt) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const auto v = alphabet.find(jwt.back());
    jwt.back() = alphabet[v ^ 1];
    return jwt;
}

// An independent verifier's verdict: exit status and output.
struct verdict {
    int status = -1;
    std::string out;
};

verdict run_verifier(const std::vector<std::string>& argv) {
    process_options options;
    options.argv = argv;
    process p(options);
    auto status = p.wait(60s);
    return {status.value_or(-1), p.log()};
}

// PyJWT (Debian python3-jwt) and jose (npm) on the JWKS the target serves.
// `leeway`: the libraries' clock tolerance in seconds, for an assertion
// whose lifetime a loaded machine may spend before they run.
std::vector<std::pair<std::string, verdict>> verify_independently(contract_target& t, const std::string& jwt,
                                                                  const std::string& audience, int leeway = 0) {
    temp_dir dir;
    auto jwks = t.call("GET", "/.well-known/jwks.json", "");
    REQUIRE(jwks.status == 200);
    write_file(dir.file("jwks.json"), jwks.body);
    const std::string src = SESSIOND_SOURCE_DIR;
    return {
        {"PyJWT", run_verifier({"/usr/bin/python3", src + "/tests/interop/pyjwt_check.py", dir.file("jwks.json"), jwt,
                                audience, issuer, std::to_string(leeway)})},
        {"jose", run_verifier({"node", src + "/tests/interop/jose/check.mjs", dir.file("jwks.json"), jwt, audience,
                               issuer, std::to_string(leeway)})},
    };
}

}  // namespace

TEST_CASE("assertions: minted, verified by PyJWT and jose, redeemed once", "[assertions]") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    key_files keys;
    contract_target t(store, assertion_flags(keys));

    auto created = t.create("alice", R"("metadata":{"role":"admin","tenant":"t1"},"aal":2,"amr":["pwd","otp"])");
    REQUIRE(created.status == 201);
    const auto token = str(created.json, "token");
    const auto sid = std::string(session_of(created).at("id").as_string());

    auto jwks = t.call("GET", "/.well-known/jwks.json", "");
    REQUIRE(jwks.status == 200);
    CHECK(jwks.header("cache-control") == "public, max-age=300");
    const auto& published = jwks.json.at("keys").as_array();
    REQUIRE(published.size() == 2);
    CHECK(text(published[0].at("kid")) == "a1");
    CHECK(text(published[0].at("kty")) == "OKP");
    CHECK(text(published[0].at("alg")) == "EdDSA");
    CHECK(text(published[0].at("use")) == "sig");
    CHECK(text(published[1].at("kid")) == "e1");
    CHECK(text(published[1].at("crv")) == "P-256");
    CHECK(text(published[1].at("alg")) == "ES256");
    CHECK_FALSE(published[0].as_object().contains("d"));  // never the private part
    CHECK_FALSE(published[1].as_object().contains("d"));

    auto m = mint(t, token);
    REQUIRE(m.status == 201);
    CHECK(m.header("cache-control") == "no-store");
    const auto jwt = str(m.json, "assertion");
    const auto header = part(jwt, 0);
    CHECK(text(header.at("alg")) == "EdDSA");
    CHECK(text(header.at("kid")) == "a1");
    CHECK(text(header.at("typ")) == "JWT");
    const auto claims = part(jwt, 1);
    CHECK(text(claims.at("iss")) == issuer);
    CHECK(text(claims.at("sub")) == "alice");
    CHECK(text(claims.at("sid")) == sid);
    CHECK(text(claims.at("aud")) == "files");
    CHECK(text(claims.at("role")) == "admin");
    CHECK_FALSE(claims.contains("tenant"));  // only configured fields
    CHECK(claims.at("exp").as_int64() - claims.at("iat").as_int64() == 60);
    CHECK(text(claims.at("nbf")) == text(claims.at("iat")));
    CHECK(claims.at("jti").as_string().size() == 22);  // 128 random bits
    CHECK(text(claims.at("jti")) == text(m.json.at("jti")));
    CHECK(std::abs(claims.at("auth_time").as_int64() - claims.at("iat").as_int64()) <= 2);
    CHECK(text(claims.at("acr")) == "aal2");
    CHECK(claims.at("amr") == json::parse(R"(["pwd","otp"])"));
    CHECK(str(m.json, "expires_at").size() == 24);

    for (const auto& [library, v] : verify_independently(t, jwt, "files")) {
        INFO(library << ": " << v.out);
        CHECK(v.status == 0);
        auto verified = json::parse(v.out).as_object();
        CHECK(text(verified.at("sub")) == "alice");
        CHECK(text(verified.at("sid")) == sid);
        CHECK(text(verified.at("exp")) == text(claims.at("exp")));
    }
    // The same libraries refuse it with a byte of the payload changed, and for another audience.
    auto forged = claims;
    forged["sub"] = "mallory";
    const auto tampered = jwt.substr(0, jwt.find('.') + 1) + b64(json::serialize(forged)) + jwt.substr(jwt.rfind('.'));
    for (const auto& [library, v] : verify_independently(t, tampered, "files")) {
        INFO(library << ": " << v.out);
        CHECK(v.status == 1);
        CHECK(v.out.rfind("refused:", 0) == 0);
    }
    for (const auto& [library, v] : verify_independently(t, jwt, "ws")) {
        INFO(library << ": " << v.out);
        CHECK(v.status == 1);
    }

    // ES256 too, and the e1 key signs it once it is the signing key (see the rotation test).
    auto first = redeem(t, jwt);
    REQUIRE(first.status == 200);
    CHECK(first.header("cache-control") == "no-store");
    CHECK(text(first.json.at("claims").at("sub")) == "alice");
    CHECK(text(first.json.at("claims").at("jti")) == text(claims.at("jti")));
    auto again = redeem(t, jwt);
    CHECK(again.status == 409);
    CHECK(again.code() == "assertion_used");
    CHECK(metric(t, "sessiond_assertions_redeemed_total") == 1);
    CHECK(t.call("GET", "/metrics", "").body.find("sessiond_assertions_refused_total{reason=\"used\"} 1") !=
          std::string::npos);

    // Each mint is a new assertion, redeemable once.
    auto second = mint(t, token);
    REQUIRE(second.status == 201);
    CHECK(str(second.json, "jti") != str(m.json, "jti"));
    CHECK(redeem(t, str(second.json, "assertion")).status == 200);
}

TEST_CASE("assertions: twenty concurrent redemptions, one 200", "[assertions]") {
    auto store = GENERATE(from_range(contract_stores()));
    INFO("store: " << store);
    key_files keys;
    contract_target t(store, assertion_flags(keys));
    const auto token = str(t.create("bob").json, "token");
    for (int round = 0; round < 2; ++round) {
        auto m = mint(t, token);
        REQUIRE(m.status == 201);
        const auto jwt = str(m.json, "assertion");
        std::vector<std::thread> threads;
        std::atomic<int> ok{0}, used{0}, other{0};
        for (int i = 0; i < 20; ++i)
            threads.emplace_back([&] {
                auto r = redeem(t, jwt);
                if (r.status == 200)
                    ++ok;
                else if (r.status == 409 && r.code() == "assertion_used")
                    ++used;
                else
                    ++other;
            });
        for (auto& th : threads)
            th.join();
        CHECK(ok == 1);
        CHECK(used == 19);
        CHECK(other == 0);
    }
}

TEST_CASE("assertions: every store keeps a redeemed assertion's mark past assertion-max-ttl, and refuses a far exp",
          "[assertions]") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    key_files keys;
    contract_target t(store, assertion_flags(keys));
    const auto token = str(t.create("erin").json, "token");
    const auto claims = part(str(mint(t, token).json, "assertion"), 1);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto with_exp = [&](std::int64_t exp, const std::string& jti) {
        auto c = claims;
        c["exp"] = exp;
        c["jti"] = jti;
        return keys.signer("a1")->sign(json::serialize(c));
    };
    // Further ahead than sessiond mints (a day at most): the same 401 from every store.
    for (const std::int64_t exp : {std::int64_t{1} << 62, now + 2 * 86400}) {
        INFO("exp " << exp);
        auto far = redeem(t, with_exp(exp, "far-" + std::to_string(exp)));
        CHECK(far.status == 401);
        CHECK(far.code() == "invalid_assertion");
        CHECK(text(far.json.at("detail")) == "the assertion is not a well-formed JWT of this issuer");
    }
    // One that ends in 5 s: marked for assertion-max-ttl (300 s) and 60 s more all the same.
    const auto soon = with_exp(now + 5, "soon-" + store);
    REQUIRE(redeem(t, soon).status == 200);
    CHECK(redeem(t, soon).status == 409);
    if (store == "redis") {
        resp_client redis(t.redis()->port());
        const auto ttl = redis.command({"PTTL", "contract:jti:{soon-" + store + "}"}).num;
        CHECK(ttl > 350'000);
        CHECK(ttl <= 360'000);
    }
}

TEST_CASE("assertions: a revoked or expired session's assertions are refused", "[assertions]") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    key_files keys;
    contract_target t(store, assertion_flags(keys));

    SECTION("revoked before redemption") {
        const auto token = str(t.create("carol").json, "token");
        const auto jwt = str(mint(t, token).json, "assertion");
        REQUIRE(t.revoke(token).status == 204);
        auto r = redeem(t, jwt);
        CHECK(r.status == 401);
        CHECK(r.code() == "invalid_assertion");
        CHECK(text(r.json.at("detail")) == "the assertion's session is no longer live");
        CHECK(mint(t, token).status == 401);  // and no new one
    }
    SECTION("never past the session's own end") {
        auto created = t.create("dave", R"("absolute_timeout":3)");
        const auto token = str(created.json, "token");
        auto m = mint(t, token, R"(,"ttl":300)");
        REQUIRE(m.status == 201);
        const auto claims = part(str(m.json, "assertion"), 1);
        CHECK(claims.at("exp").as_int64() - claims.at("iat").as_int64() <= 3);
    }
    SECTION("expired") {
        const auto token = str(t.create("erin").json, "token");
        auto m = mint(t, token, R"(,"ttl":1)");
        REQUIRE(m.status == 201);
        const auto claims = part(str(m.json, "assertion"), 1);
        CHECK(claims.at("exp").as_int64() - claims.at("iat").as_int64() == 1);
        std::this_thread::sleep_for(2100ms);
        auto r = redeem(t, str(m.json, "assertion"));
        CHECK(r.status == 401);
        CHECK(text(r.json.at("detail")) == "the assertion has expired");
    }
}

TEST_CASE("assertions: malformed, forged and misdirected ones are refused", "[assertions]") {
    key_files keys;
    contract_target t("memory", assertion_flags(keys));
    const auto token = str(t.create("frank").json, "token");
    const auto jwt = str(mint(t, token).json, "assertion");
    const auto claims = part(jwt, 1);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    // Signed with a1 as sessiond would, with these claims changed.
    auto signed_with = [&](const std::string& kid, std::function<void(json::object&)> change) {
        auto c = claims;
        c["jti"] = "forged-" + kid + std::to_string(std::rand());
        change(c);
        return keys.signer(kid)->sign(json::serialize(c));
    };
    const auto header_of = [](const std::string& alg, const std::string& kid) {
        return b64(R"({"alg":")" + alg + R"(","typ":"JWT","kid":")" + kid + "\"}");
    };
    const auto body = jwt.substr(jwt.find('.') + 1, jwt.rfind('.') - jwt.find('.') - 1);
    const auto jwks = t.call("GET", "/.well-known/jwks.json", "").body;
    auto a1_jwk = json::serialize(json::parse(jwks).at("keys").at(0));
    auto hs256 = [&](const std::string& secret) {
        const auto signing_input = header_of("HS256", "a1") + "." + body;
        auto mac = sessiond::session::hmac_sha256(sessiond::session::as_bytes(secret),
                                                  sessiond::session::as_bytes(signing_input));
        return signing_input + "." + sessiond::session::base64url_encode(mac);
    };

    const std::vector<std::pair<std::string, std::string>> cases = {
        {"garbage", "the assertion is not a well-formed JWT of this issuer"},
        {"a.b", "the assertion is not a well-formed JWT of this issuer"},
        {jwt + ".x", "the assertion is not a well-formed JWT of this issuer"},
        {jwt.substr(0, jwt.find('.') + 1) + b64(R"({"sub":"mallory"})") + jwt.substr(jwt.rfind('.')),
         "the assertion's signature does not verify"},
        {jwt.substr(0, jwt.size() - 2) + (jwt[jwt.size() - 2] == 'A' ? "B" : "A") + jwt.back(),
         "the assertion's signature does not verify"},
        {jwt.substr(0, jwt.rfind('.') + 1), "the assertion's signature does not verify"},
        {other_spelling(jwt), "the assertion's signature does not verify"},
        {header_of("none", "a1") + "." + body + ".",
         "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)"},
        {b64(R"({"alg":"none"})") + "." + body + ".",
         "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)"},
        {hs256(a1_jwk), "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)"},
        {hs256(jwks), "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)"},
        {header_of("ES256", "a1") + jwt.substr(jwt.find('.')),
         "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)"},
        {signed_with("z9", [](auto&) {}), "the assertion's kid names no key in the JWKS"},
        {signed_with("a1", [&](auto& c) { c["exp"] = now - 10; }), "the assertion has expired"},
        {signed_with("a1", [&](auto& c) { c["nbf"] = now + 120; }), "the assertion is not valid yet"},
        {signed_with("a1", [&](auto& c) { c["iat"] = now + 120; }), "the assertion is not valid yet"},
        {signed_with("a1", [](auto& c) { c["iss"] = "https://elsewhere.test"; }),
         "the assertion was issued by someone else"},
        {signed_with("a1", [](auto& c) { c["aud"] = "ws"; }), "the assertion is for another audience"},
        {signed_with("a1", [](auto& c) { c.erase("jti"); }), "the assertion is not a well-formed JWT of this issuer"},
        {signed_with("a1", [](auto& c) { c["exp"] = "tomorrow"; }),
         "the assertion is not a well-formed JWT of this issuer"},
        {signed_with("a1", [](auto& c) { c["sub"] = "mallory"; }), "the assertion's session is no longer live"},
        {signed_with("a1", [](auto& c) { c["sid"] = "AAAAAAAAAAAAAAAAAAAAAAAA"; }),
         "the assertion's session is no longer live"},
    };
    for (const auto& [assertion, detail] : cases) {
        INFO("assertion: " << assertion);
        auto r = redeem(t, assertion);
        CHECK(r.status == 401);
        CHECK(r.code() == "invalid_assertion");
        CHECK(text(r.json.at("detail")) == detail);
        CHECK(r.header("www-authenticate") == "Bearer error=\"invalid_token\"");
    }
    // A good one for another audience than the redeemer's.
    auto wrong = redeem(t, jwt, "ws");
    CHECK(wrong.status == 401);
    CHECK(text(wrong.json.at("detail")) == "the assertion is for another audience");
    // None of that used it up.
    CHECK(redeem(t, jwt).status == 200);
    CHECK(t.call("GET", "/metrics", "").body.find("sessiond_assertions_refused_total{reason=\"algorithm\"} 5") !=
          std::string::npos);

    SECTION("bad requests") {
        CHECK(t.call("POST", "/v1/assertions/redeem", test_keys::redeem, R"({"assertion":"x"})").status == 400);
        CHECK(t.call("POST", "/v1/assertions/redeem", test_keys::redeem, R"({"assertion":1,"audience":"files"})")
                  .status == 400);
        CHECK(t.call("POST", "/v1/assertions/redeem", test_keys::redeem,
                     R"({"assertion":"x","audience":"files","extra":1})")
                  .status == 400);
        CHECK(redeem(t, std::string(9000, 'a')).status == 400);
        auto other_audience =
            t.call("POST", "/v1/assertions", test_keys::mint, R"({"token":")" + token + R"(","audience":"payments"})");
        CHECK(other_audience.status == 400);
        CHECK(text(other_audience.json.at("detail")) == "audience is not on assertion-audiences");
        CHECK(mint(t, token, R"(,"ttl":301)").status == 400);
        CHECK(mint(t, token, R"(,"ttl":0)").status == 400);
        CHECK(mint(t, "sid_not-a-token").status == 401);
        CHECK(mint(t, token, R"(,"max_auth_age":0)").code() == "reauthentication_required");
        // Scopes: mint and redeem are scopes of their own.
        CHECK(mint(t, token, "", test_keys::read).status == 403);
        CHECK(mint(t, token, "", test_keys::redeem).status == 403);
        CHECK(redeem(t, jwt, "files", test_keys::mint).status == 403);
        CHECK(redeem(t, jwt, "files", "").status == 401);
    }
}

TEST_CASE("assertions: off unless configured", "[assertions]") {
    contract_target t("memory");
    CHECK(t.call("GET", "/.well-known/jwks.json", "").status == 404);
    const auto token = str(t.create("gina").json, "token");
    auto m = mint(t, token);
    CHECK(m.status == 404);
    CHECK(text(m.json.at("detail")) == "signed assertions are not configured (assertion-keys)");
    CHECK(redeem(t, "a.b.c").status == 404);
}

TEST_CASE("assertions: forward auth adds one, reused until half its lifetime", "[assertions]") {
    key_files keys;
    contract_target t("memory", assertion_flags(keys, {"--auth-assertion-audience", "ws", "--assertion-ttl", "4s"}));
    auto created = t.create("hana", R"("metadata":{"role":"viewer"})");
    const auto token = str(created.json, "token");
    auto auth = [&] { return t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + token}}); };
    auto first = auth();
    REQUIRE(first.status == 200);
    const auto jwt = first.header("x-session-assertion");
    REQUIRE(!jwt.empty());
    const auto minted_before = std::chrono::steady_clock::now();
    // The same one while less than half of its lifetime has passed (two I/O
    // threads: each keeps its own, so ask until both have answered: the
    // kernel spreads connections over the threads' listeners by a hash, so
    // a fixed number of requests may all go to the same one). Its exp is in
    // whole seconds, 3 to 4 s after it was minted, so it is reused for 1.5 s
    // at least. The claims are read back, so a loaded machine that let that
    // pass meanwhile shows as such instead of as a wrong answer.
    std::set<std::string> seen;
    int asked = 0;
    while (asked < 8 || (asked < 64 && !(seen.count(jwt) == 1 && seen.size() >= 2))) {
        seen.insert(auth().header("x-session-assertion"));
        ++asked;
    }
    const auto asked_within = std::chrono::steady_clock::now() - minted_before;
    const auto claims = part(jwt, 1);
    CHECK(text(claims.at("aud")) == "ws");
    CHECK(text(claims.at("sub")) == "hana");
    CHECK(text(claims.at("role")) == "viewer");
    if (asked_within < 1500ms) {
        CHECK(seen.size() <= 2);
        CHECK(seen.count(jwt) == 1);
    } else {
        WARN("the machine took " << std::chrono::duration_cast<std::chrono::milliseconds>(asked_within).count()
                                 << " ms for " << asked << " requests: reuse not judged");
    }
    // Its 4 s lifetime may be over by the time the two libraries have
    // started on a loaded machine: they check the signature and the claims
    // with a minute's clock tolerance (expiry is sessiond's reuse rule, above).
    for (const auto& [library, v] : verify_independently(t, jwt, "ws", 60)) {
        INFO(library << ": " << v.out);
        CHECK(v.status == 0);
    }
    // A new one once half has passed.
    std::this_thread::sleep_for(2100ms);
    auto later = auth().header("x-session-assertion");
    CHECK(!later.empty());
    CHECK(seen.count(later) == 0);
    // A change of metadata gets a new one at once.
    auto rotated = t.rotate(token, R"("metadata":{"role":"editor"})");
    REQUIRE(rotated.status == 200);
    auto renewed =
        t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer " + str(rotated.json, "token")}});
    REQUIRE(renewed.status == 200);
    CHECK(text(part(renewed.header("x-session-assertion"), 1).at("role")) == "editor");
    // Refused requests carry none.
    auto refused = t.call("GET", "/v1/auth", test_keys::auth, "", {{"Authorization", "Bearer sid_nothing"}});
    CHECK(refused.status == 401);
    CHECK(refused.header("x-session-assertion").empty());
}

TEST_CASE("assertions: the signing key rotates on SIGHUP; old assertions verify while their key is listed",
          "[assertions]") {
    key_files keys;
    temp_dir conf;
    const auto file = conf.file("sessiond.conf");
    auto write_conf = [&](const std::string& key_spec, const std::string& signing) {
        write_file(file, "assertion-keys = " + key_spec + "\nassertion-signing-kid = " + signing +
                             "\nassertion-issuer = " + issuer + "\nassertion-audiences = files,ws\n");
    };
    write_conf(keys.spec({"a1"}), "a1");
    contract_target t("redis", {"--config", file});
    const auto token = str(t.create("ivan").json, "token");
    const auto old = str(mint(t, token).json, "assertion");
    CHECK(text(part(old, 0).at("kid")) == "a1");
    auto reload = [&](int n) {
        t.daemon().proc().signal(SIGHUP);
        const auto line = "sessiond_config_reloads_total{result=\"ok\"} " + std::to_string(n) + "\n";
        REQUIRE(eventually([&] { return t.call("GET", "/metrics", "").body.find(line) != std::string::npos; }, 20s));
    };

    // 1. publish e1 beside a1; 2. e1 signs.
    write_conf(keys.spec({"a1", "e1"}), "a1");
    reload(1);
    CHECK(t.call("GET", "/.well-known/jwks.json", "").json.at("keys").as_array().size() == 2);
    CHECK(text(part(str(mint(t, token).json, "assertion"), 0).at("kid")) == "a1");
    write_conf(keys.spec({"a1", "e1"}), "e1");
    reload(2);
    const auto fresh = str(mint(t, token).json, "assertion");
    CHECK(text(part(fresh, 0).at("kid")) == "e1");
    CHECK(text(part(fresh, 0).at("alg")) == "ES256");
    for (const auto& jwt : {old, fresh})
        for (const auto& [library, v] : verify_independently(t, jwt, "files")) {
            INFO(library << ": " << v.out);
            CHECK(v.status == 0);
        }

    // 3. a1 retired: its assertions fail everywhere.
    write_conf(keys.spec({"e1"}), "e1");
    reload(3);
    CHECK(t.call("GET", "/.well-known/jwks.json", "").json.at("keys").as_array().size() == 1);
    for (const auto& [library, v] : verify_independently(t, old, "files")) {
        INFO(library << ": " << v.out);
        CHECK(v.status == 1);
    }
    auto r = redeem(t, old);
    CHECK(r.status == 401);
    CHECK(text(r.json.at("detail")) == "the assertion's kid names no key in the JWKS");
    CHECK(redeem(t, fresh).status == 200);

    // A key file that is not a key: the reload is refused and e1 stays.
    write_file(keys.path("e1") + ".bad", "not a key");
    write_conf("e1:" + keys.path("e1") + ".bad", "e1");
    t.daemon().proc().signal(SIGHUP);
    REQUIRE(eventually(
        [&] {
            return t.call("GET", "/metrics", "").body.find("sessiond_config_reloads_total{result=\"failed\"} 1\n") !=
                   std::string::npos;
        },
        20s));
    CHECK(text(part(str(mint(t, token).json, "assertion"), 0).at("kid")) == "e1");
}

TEST_CASE("assertions: configuration mistakes stop start-up, naming the option", "[assertions]") {
    key_files keys;
    auto check = [](std::vector<std::string> args, const std::string& expected) {
        args.insert(args.begin(), "--check-config");
        args.push_back("--development");
        auto r = run_sessiond(args);
        INFO(r.output);
        CHECK(r.status == 2);
        CHECK(r.output.find(expected) != std::string::npos);
        CHECK(r.output.find("PRIVATE KEY") == std::string::npos);
    };
    check({"--assertion-keys", keys.spec({"a1"})}, "assertion-issuer");
    check({"--assertion-keys", keys.spec({"a1"}), "--assertion-issuer", issuer}, "assertion-audiences");
    check({"--assertion-keys", keys.spec({"a1", "e1"}), "--assertion-issuer", issuer, "--assertion-audiences", "x"},
          "assertion-signing-kid is required");
    check({"--assertion-keys", keys.spec({"a1"}), "--assertion-issuer", issuer, "--assertion-audiences", "x",
           "--assertion-signing-kid", "e1"},
          "names no listed key");
    check({"--assertion-keys", "a1:" + keys.dir.file("missing.pem"), "--assertion-issuer", issuer,
           "--assertion-audiences", "x"},
          "assertion-keys");
    check({"--assertion-keys", keys.spec({"a1"}), "--assertion-issuer", issuer, "--assertion-audiences", "x",
           "--assertion-claims", "sub"},
          "registered claim");
    check({"--assertion-keys", keys.spec({"a1"}), "--assertion-issuer", issuer, "--assertion-audiences", "x",
           "--assertion-ttl", "10m"},
          "assertion-ttl");
    check({"--auth-assertion-audience", "ws"}, "needs assertion-keys");
    // An RSA key is neither Ed25519 nor P-256.
    temp_dir dir;
    EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    write_file(dir.file("rsa.pem"), std::string(data, static_cast<std::size_t>(n)));
    BIO_free(bio);
    EVP_PKEY_free(rsa);
    check({"--assertion-keys", "r1:" + dir.file("rsa.pem"), "--assertion-issuer", issuer, "--assertion-audiences", "x"},
          "neither Ed25519 nor EC P-256");
}

TEST_CASE("assertions: a caller bound to audiences mints and redeems for those alone", "[assertions]") {
    key_files keys;
    const std::string files_redeemer = "sk_test_files_redeemer_0123456789abcdef012345";
    const std::string ws_minter = "sk_test_ws_minter_0123456789abcdef0123456789ab";
    const std::string both_redeemer = "sk_test_both_redeemer_0123456789abcdef01234567";
    const std::string callers = "all=" + sha256_hex(test_keys::all) +
                                ":sessions:read,sessions:write,sessions:admin,auth,assertions:mint,assertions:redeem;" +
                                "files-redeemer=" + sha256_hex(files_redeemer) + ":assertions:redeem:files;" +
                                "ws-minter=" + sha256_hex(ws_minter) + ":assertions:mint:ws;" +
                                "both=" + sha256_hex(both_redeemer) + ":assertions:redeem:files,assertions:redeem:ws";
    contract_target t("memory", assertion_flags(keys, {"--api-keys", callers}));
    const auto token = str(t.create("gina").json, "token");
    auto minted_for = [&](const std::string& audience, const std::string& key) {
        return t.call("POST", "/v1/assertions", key, R"({"token":")" + token + R"(","audience":")" + audience + "\"}");
    };
    const auto for_files = minted_for("files", test_keys::all);
    const auto for_ws = minted_for("ws", test_keys::all);
    REQUIRE(for_files.status == 201);
    REQUIRE(for_ws.status == 201);

    // Naming another audience: 403, and the assertion is not used up.
    auto other = redeem(t, str(for_ws.json, "assertion"), "ws", files_redeemer);
    CHECK(other.status == 403);
    CHECK(other.code() == "forbidden");
    CHECK(other.header("content-type") == "application/problem+json");
    CHECK(redeem(t, str(for_ws.json, "assertion"), "ws", both_redeemer).status == 200);
    // Its own audience: as before.
    CHECK(redeem(t, str(for_files.json, "assertion"), "files", files_redeemer).status == 200);
    // A bound caller cannot probe with a wrong audience either.
    CHECK(redeem(t, str(for_files.json, "assertion"), "ws", files_redeemer).status == 403);

    // Minting is bound the same way.
    auto wrong_mint = minted_for("files", ws_minter);
    CHECK(wrong_mint.status == 403);
    CHECK(wrong_mint.code() == "forbidden");
    CHECK(minted_for("ws", ws_minter).status == 201);
    // An unbound caller keeps today's behaviour.
    CHECK(redeem(t, str(minted_for("files", test_keys::all).json, "assertion"), "files", test_keys::all).status == 200);
}

TEST_CASE("assertions: audience bindings in the caller configuration", "[assertions]") {
    key_files keys;
    const std::string hash = sha256_hex("k");
    // Bound and unbound at once is refused, naming the caller.
    auto both = run_sessiond(
        {"--check-config", "--development", "--api-keys", "r=" + hash + ":assertions:redeem,assertions:redeem:files"});
    CHECK(both.status == 2);
    CHECK_THAT(both.output, Catch::Contains("'api-keys'") && Catch::Contains("api key 'r'"));
    auto empty = run_sessiond({"--check-config", "--development", "--api-keys", "r=" + hash + ":assertions:redeem:"});
    CHECK(empty.status == 2);
    CHECK(run_sessiond({"--check-config", "--development", "--api-keys", "r=" + hash + ":assertions:redeem:files"})
              .status == 0);
    // With several audiences an unbound redeemer still works, with a warning at start.
    contract_target t("memory", assertion_flags(keys));
    CHECK(t.daemon().proc().wait_for_log("caller 'redeemer' may redeem assertions for every audience", 5s));
}
