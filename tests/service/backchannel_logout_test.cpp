// The JWK Set parser and the logout token checks of OIDC Back-Channel
// Logout 1.0 (section 2.6), without I/O: keys made here with OpenSSL and
// tokens signed here, so that each refusal is provoked alone. The contract
// test (tests/contract/backchannel_logout_test.cpp) does the same with
// tokens PyJWT signs.

#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <boost/json/serialize.hpp>

#include <array>
#include <memory>

#include "service/backchannel_logout.hpp"
#include "service/jwks.hpp"
#include "session/crypto.hpp"

using namespace sessiond;
using service::jws_alg;
using service::logout_errc;
namespace json = boost::json;

namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string b64(std::span<const std::uint8_t> bytes) {
    return session::base64url_encode(bytes);
}
std::string b64(std::string_view text) {
    return session::base64url_encode(session::as_bytes(text));
}

std::string bn_b64(EVP_PKEY* key, const char* name, int pad = 0) {
    BIGNUM* bn = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(pad ? pad : BN_num_bytes(bn)));
    BN_bn2binpad(bn, out.data(), static_cast<int>(out.size()));
    BN_free(bn);
    return b64(out);
}

// A key pair of one type, its public JWK, and compact JWS signing.
struct test_key {
    std::string kid;
    jws_alg alg;
    pkey_ptr pkey;

    test_key(std::string k, jws_alg a, int rsa_bits = 2048) : kid(std::move(k)), alg(a) {
        EVP_PKEY* p = nullptr;
        if (a == jws_alg::rs256)
            p = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
        else if (a == jws_alg::es256)
            p = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        else
            p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        REQUIRE(p);
        pkey.reset(p);
    }

    json::object jwk() const {
        json::object o{{"kid", kid}};
        if (alg == jws_alg::rs256) {
            o["kty"] = "RSA";
            o["n"] = bn_b64(pkey.get(), OSSL_PKEY_PARAM_RSA_N);
            o["e"] = bn_b64(pkey.get(), OSSL_PKEY_PARAM_RSA_E);
        } else if (alg == jws_alg::es256) {
            o["kty"] = "EC";
            o["crv"] = "P-256";
            o["x"] = bn_b64(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32);
            o["y"] = bn_b64(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        } else {
            std::array<std::uint8_t, 32> x{};
            std::size_t n = x.size();
            REQUIRE(EVP_PKEY_get_raw_public_key(pkey.get(), x.data(), &n) == 1);
            o["kty"] = "OKP";
            o["crv"] = "Ed25519";
            o["x"] = b64(x);
        }
        return o;
    }

    std::string sign(const json::object& claims, json::object header = {}) const {
        if (!header.contains("alg")) header["alg"] = std::string(service::to_string(alg));
        if (!header.contains("kid")) header["kid"] = kid;
        if (header.at("kid").is_null()) header.erase("kid");  // a header without kid
        const std::string input = b64(json::serialize(header)) + "." + b64(json::serialize(claims));
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        std::size_t len = 0;
        REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, alg == jws_alg::eddsa ? nullptr : EVP_sha256(), nullptr,
                                   pkey.get()) == 1);
        const auto* data = reinterpret_cast<const unsigned char*>(input.data());
        REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) == 1);
        std::vector<std::uint8_t> sig(len);
        REQUIRE(EVP_DigestSign(ctx.get(), sig.data(), &len, data, input.size()) == 1);
        sig.resize(len);
        if (alg == jws_alg::es256) {  // DER to r || s
            const unsigned char* p = sig.data();
            ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
            REQUIRE(s);
            std::vector<std::uint8_t> raw(64);
            BN_bn2binpad(ECDSA_SIG_get0_r(s), raw.data(), 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(s), raw.data() + 32, 32);
            ECDSA_SIG_free(s);
            sig = raw;
        }
        return input + "." + b64(sig);
    }
};

std::string jwks_text(std::initializer_list<json::object> keys) {
    json::array list;
    for (const auto& k : keys)
        list.push_back(k);
    return json::serialize(json::object{{"keys", list}});
}

constexpr std::int64_t now_s = 1'790'000'000;
const session::timestamp now{std::chrono::seconds(now_s)};
constexpr std::chrono::seconds max_age{300};

json::object valid_claims() {
    return json::object{{"iss", "https://idp.test"},
                        {"aud", "app"},
                        {"iat", now_s - 5},
                        {"jti", "j-1"},
                        {"sid", "sid-1"},
                        {"events", json::object{{service::backchannel_logout_event, json::object{}}}}};
}

}  // namespace

TEST_CASE("jwks: RSA, P-256 and Ed25519 signature keys are read; others skipped; bad keys refused") {
    const test_key rsa("r1", jws_alg::rs256), ec("e1", jws_alg::es256), ed("d1", jws_alg::eddsa);
    auto enc = rsa.jwk();
    enc["kid"] = "enc";
    enc["use"] = "enc";
    json::object oct{{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "h1"}};
    auto set = service::jwk_set::parse(jwks_text({rsa.jwk(), ec.jwk(), ed.jwk(), enc, oct}));
    CHECK(set->kids() == std::vector<std::string>{"r1", "e1", "d1"});

    const test_key small("s1", jws_alg::rs256, 1024);
    auto off_curve = ec.jwk();
    off_curve["y"] = off_curve["x"];
    auto wrong_alg = ec.jwk();
    wrong_alg["alg"] = "RS256";
    auto bad_b64 = rsa.jwk();
    bad_b64["n"] = "***";
    const std::vector<std::string> refused = {
        "",
        "[]",
        R"({"keys":{}})",
        R"({"keys":[1]})",
        jwks_text({enc, oct}),  // nothing to verify with
        jwks_text({small.jwk()}),
        jwks_text({off_curve}),
        jwks_text({wrong_alg}),
        jwks_text({bad_b64}),
        jwks_text({rsa.jwk(), rsa.jwk()}),  // a kid twice
    };
    for (const auto& text : refused) {
        INFO(text);
        CHECK_THROWS_AS(service::jwk_set::parse(text), service::jwks_error);
    }
}

TEST_CASE("jwks: a P-256 coordinate without its leading zero bytes is the same key") {
    // Some issuers' libraries encode a coordinate as a minimal integer: about one
    // key in 128 then has a 31-byte x or y. Find such a key and strip the zero.
    for (int attempt = 0; attempt < 5000; ++attempt) {
        const test_key ec("e1", jws_alg::es256);
        auto jwk = ec.jwk();
        for (const char* coord : {"x", "y"}) {
            auto bytes = session::base64url_decode(jwk.at(coord).as_string());
            REQUIRE(bytes);
            if (bytes->front() != 0) continue;
            auto full = service::jwk_set::parse(jwks_text({jwk}));
            const auto minimal = std::vector<std::uint8_t>(bytes->begin() + 1, bytes->end());
            jwk[coord] = b64(minimal);
            auto set = service::jwk_set::parse(jwks_text({jwk}));
            const std::array es{jws_alg::es256};
            CHECK(set->verify(ec.sign(valid_claims()), es).has_value());
            CHECK(full->verify(ec.sign(valid_claims()), es).has_value());
            jwk[coord] = b64(std::vector<std::uint8_t>(33, 1));
            CHECK_THROWS_AS(service::jwk_set::parse(jwks_text({jwk})), service::jwks_error);
            return;
        }
    }
    FAIL("no P-256 key with a leading zero byte in 5000 tries");
}

TEST_CASE("jwks: a token verifies under its kid's key with that key's alg only") {
    const test_key rsa("r1", jws_alg::rs256), ec("e1", jws_alg::es256), ed("d1", jws_alg::eddsa);
    const test_key stranger("r1", jws_alg::rs256);
    auto set = service::jwk_set::parse(jwks_text({rsa.jwk(), ec.jwk(), ed.jwk()}));
    const std::array all{jws_alg::rs256, jws_alg::es256, jws_alg::eddsa};
    const auto claims = valid_claims();
    for (const auto* k : {&rsa, &ec, &ed}) {
        auto v = set->verify(k->sign(claims), all);
        REQUIRE(v.has_value());
        CHECK(v->at("sid") == "sid-1");
    }
    const std::array rsa_only{jws_alg::rs256};
    CHECK(set->verify(ec.sign(claims), rsa_only).error() == service::jws_errc::algorithm);
    CHECK(set->verify(rsa.sign(claims, {{"alg", "ES256"}}), all).error() == service::jws_errc::algorithm);
    CHECK(set->verify(rsa.sign(claims, {{"alg", "none"}}), all).error() == service::jws_errc::algorithm);
    CHECK(set->verify(rsa.sign(claims, {{"alg", "HS256"}}), all).error() == service::jws_errc::algorithm);
    CHECK(set->verify(rsa.sign(claims, {{"kid", "zz"}}), all).error() == service::jws_errc::unknown_key);
    CHECK(set->verify(stranger.sign(claims), all).error() == service::jws_errc::signature);
    CHECK(set->verify(rsa.sign(claims, {{"crit", json::array{"b64"}}}), all).error() == service::jws_errc::malformed);
    CHECK(set->verify("a.b", all).error() == service::jws_errc::malformed);
    CHECK(set->verify(std::string(service::jwk_set::max_token + 1, 'a'), all).error() == service::jws_errc::malformed);
    // Without a kid: the set's only key of the header's alg, if it has one.
    CHECK(set->verify(ed.sign(claims, {{"kid", nullptr}}), all).has_value());
    auto two =
        service::jwk_set::parse(jwks_text({rsa.jwk(), ec.jwk(), ed.jwk(), test_key("d2", jws_alg::eddsa).jwk()}));
    CHECK(two->verify(ed.sign(claims, {{"kid", nullptr}}), all).error() == service::jws_errc::unknown_key);
}

TEST_CASE("logout token: each check of section 2.6 refuses alone") {
    const test_key rsa("r1", jws_alg::rs256);
    service::oidc_provider provider{
        "corp", "https://idp.test", "app", {jws_alg::rs256}, service::jwk_set::parse(jwks_text({rsa.jwk()}))};
    auto check = [&](const json::object& c) {
        return service::check_logout_token(provider, rsa.sign(c), now, max_age);
    };

    auto ok = check(valid_claims());
    REQUIRE(ok.has_value());
    CHECK(ok->sid == "sid-1");
    CHECK(ok->sub.empty());
    CHECK(ok->jti == "j-1");

    auto with = [](const char* name, json::value v) {
        auto c = valid_claims();
        c[name] = std::move(v);
        return c;
    };
    auto without = [](const char* name) {
        auto c = valid_claims();
        c.erase(name);
        return c;
    };
    const std::string event(service::backchannel_logout_event);
    const std::vector<std::pair<json::object, logout_errc>> cases = {
        {with("iss", "https://other"), logout_errc::issuer},
        {without("iss"), logout_errc::issuer},
        {with("aud", "other"), logout_errc::audience},
        {with("aud", json::array{"x", "app"}), logout_errc{}},
        {without("iat"), logout_errc::no_issued_at},
        {with("iat", "soon"), logout_errc::malformed},
        {with("iat", now_s - 301), logout_errc::too_old},
        {with("iat", now_s - 299), logout_errc{}},
        {with("iat", now_s + 61), logout_errc::in_future},
        {with("iat", now_s + 59), logout_errc{}},
        {with("exp", now_s - 61), logout_errc::expired},
        {with("exp", now_s + 60), logout_errc{}},
        {without("events"), logout_errc::events},
        {with("events", json::object{{event, true}}), logout_errc::events},
        {with("events", json::object{{"urn:x", json::object{}}}), logout_errc::events},
        {with("nonce", "n"), logout_errc::nonce},
        {without("sid"), logout_errc::no_subject},
        {with("sub", "u"), logout_errc{}},
        {with("sid", 7), logout_errc::malformed},
        {with("sid", "a b"), logout_errc::malformed},
        {without("jti"), logout_errc::no_jti},
        {with("jti", 7), logout_errc::malformed},
    };
    for (const auto& [claims, expected] : cases) {
        INFO(json::serialize(claims));
        auto r = check(claims);
        if (expected == logout_errc{})
            CHECK(r.has_value());
        else
            CHECK(r.error() == expected);
    }
}

TEST_CASE("logout token: jti marks are per provider, base64url, within the store's bound") {
    const auto a = service::logout_claim_name("corp", "j-1");
    CHECK(a != service::logout_claim_name("other", "j-1"));
    CHECK(a != service::logout_claim_name("corp", "j-2"));
    CHECK(a == service::logout_claim_name("corp", "j-1"));
    CHECK(a.size() <= 128);
    CHECK(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
}
