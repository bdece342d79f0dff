#include "service/assertion_signer.hpp"

#include <boost/json/parse.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "service/jwks.hpp"
#include "service/openssl_ptr.hpp"
#include "session/crypto.hpp"

namespace sessiond::service {

namespace json = boost::json;

namespace {

using ossl::bn_free;
using ossl::md_ctx_free;
using ossl::pkey_ptr;
using ossl::sig_free;
struct bio_free {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};

// P-256 coordinates and signature halves are 32 bytes; an Ed25519 public
// key is 32 bytes and its signature 64.
constexpr std::size_t p256_size = 32;
constexpr std::size_t signature_size = 64;

// PEM_read_bio_PrivateKey asks for a passphrase through this: none is
// given, so an encrypted key fails to load instead of prompting.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

std::string b64(session::bytes_view data) {
    return session::base64url_encode(data);
}

std::string b64(std::string_view text) {
    return session::base64url_encode(session::as_bytes(text));
}

// ECDSA's DER signature as JWS's r || s (RFC 7518 3.4), and back.
bool der_to_raw(const unsigned char* der, std::size_t size, std::array<std::uint8_t, signature_size>& out) {
    const unsigned char* p = der;
    std::unique_ptr<ECDSA_SIG, sig_free> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
    if (!sig) return false;
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    return BN_bn2binpad(r, out.data(), p256_size) == static_cast<int>(p256_size) &&
           BN_bn2binpad(s, out.data() + p256_size, p256_size) == static_cast<int>(p256_size);
}

std::uint64_t next_generation() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace

struct assertion_signer::key {
    std::string kid;
    jws_alg alg = jws_alg::eddsa;
    pkey_ptr pkey;
    std::string header;  // base64url of the JWS header this key signs with
    std::string jwk;     // the public JWK's JSON text
};

bool reserved_claim(std::string_view name) noexcept {
    static constexpr std::string_view reserved[] = {"iss", "sub",       "aud", "exp", "nbf", "iat", "jti",
                                                    "sid", "auth_time", "acr", "amr", "cnf", "act", "scope"};
    return std::find(std::begin(reserved), std::end(reserved), name) != std::end(reserved);
}

bool assertion_signer::valid_kid(std::string_view kid) noexcept {
    return !kid.empty() && kid.size() <= 64 && std::all_of(kid.begin(), kid.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    });
}

assertion_signer::~assertion_signer() = default;

std::shared_ptr<const assertion_signer> assertion_signer::make(assertion_settings settings,
                                                               const std::vector<assertion_key_source>& keys,
                                                               std::string_view signing_kid) {
    if (keys.empty()) throw assertion_config_error("no key is listed");
    if (settings.issuer.empty()) throw assertion_config_error("assertion-issuer is required with assertion-keys");
    if (settings.audiences.empty())
        throw assertion_config_error("assertion-audiences is required with assertion-keys (at least one audience)");
    if (settings.ttl.count() <= 0 || settings.max_ttl < settings.ttl)
        throw assertion_config_error("assertion-ttl must be at least 1s and at most assertion-max-ttl");
    for (const auto& c : settings.claims)
        if (reserved_claim(c)) throw assertion_config_error("assertion-claims names a registered claim: " + c);

    std::shared_ptr<assertion_signer> out(new assertion_signer());
    out->generation_ = next_generation();
    std::string jwks = R"({"keys":[)";
    for (const auto& source : keys) {
        if (!valid_kid(source.kid)) throw assertion_config_error("a kid must be 1..64 characters of A-Z a-z 0-9 . _ -");
        for (const auto& k : out->keys_)
            if (k->kid == source.kid) throw assertion_config_error("kid " + source.kid + " is listed twice");
        auto k = std::make_unique<key>();
        k->kid = source.kid;
        std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(source.pem.data(), static_cast<int>(source.pem.size())));
        if (bio) k->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
        if (!k->pkey)
            throw assertion_config_error("the key of kid " + source.kid + " is not an unencrypted PEM private key");
        std::string jwk;
        if (EVP_PKEY_is_a(k->pkey.get(), "ED25519")) {
            k->alg = jws_alg::eddsa;
            std::array<std::uint8_t, 32> pub{};
            std::size_t n = pub.size();
            if (EVP_PKEY_get_raw_public_key(k->pkey.get(), pub.data(), &n) != 1 || n != pub.size())
                throw assertion_config_error("the Ed25519 key of kid " + source.kid + " has no public key");
            jwk = R"({"kty":"OKP","crv":"Ed25519","x":")" + b64(session::bytes_view(pub.data(), n)) + '"';
        } else if (EVP_PKEY_is_a(k->pkey.get(), "EC")) {
            std::array<char, 64> group{};
            std::size_t len = 0;
            if (EVP_PKEY_get_utf8_string_param(k->pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                               &len) != 1 ||
                std::string_view(group.data(), len) != "prime256v1")
                throw assertion_config_error("the EC key of kid " + source.kid + " is not on P-256");
            k->alg = jws_alg::es256;
            BIGNUM* x = nullptr;
            BIGNUM* y = nullptr;
            EVP_PKEY_get_bn_param(k->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
            EVP_PKEY_get_bn_param(k->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
            std::unique_ptr<BIGNUM, bn_free> xs(x), ys(y);
            std::array<std::uint8_t, p256_size> xb{}, yb{};
            if (!x || !y || BN_bn2binpad(x, xb.data(), p256_size) != static_cast<int>(p256_size) ||
                BN_bn2binpad(y, yb.data(), p256_size) != static_cast<int>(p256_size))
                throw assertion_config_error("the EC key of kid " + source.kid + " has no public key");
            jwk = R"({"kty":"EC","crv":"P-256","x":")" + b64(session::bytes_view(xb.data(), xb.size())) + R"(","y":")" +
                  b64(session::bytes_view(yb.data(), yb.size())) + '"';
        } else {
            throw assertion_config_error("the key of kid " + source.kid + " is neither Ed25519 nor EC P-256");
        }
        jwk += R"(,"kid":")" + k->kid + R"(","alg":")" + std::string(to_string(k->alg)) + R"(","use":"sig"})";
        k->header = b64(R"({"alg":")" + std::string(to_string(k->alg)) + R"(","typ":"JWT","kid":")" + k->kid + "\"}");
        if (!out->keys_.empty()) jwks += ',';
        jwks += jwk;
        k->jwk = std::move(jwk);
        out->keys_.push_back(std::move(k));
    }
    jwks += "]}";
    out->jwks_ = std::move(jwks);

    if (signing_kid.empty()) {
        if (out->keys_.size() > 1)
            throw assertion_config_error("assertion-signing-kid is required when several keys are listed");
        out->signing_ = 0;
    } else {
        auto it =
            std::find_if(out->keys_.begin(), out->keys_.end(), [&](const auto& k) { return k->kid == signing_kid; });
        if (it == out->keys_.end())
            throw assertion_config_error("assertion-signing-kid names no listed key: " + std::string(signing_kid));
        out->signing_ = static_cast<std::size_t>(it - out->keys_.begin());
    }
    out->settings_ = std::move(settings);
    return out;
}

bool assertion_signer::audience_allowed(std::string_view audience) const noexcept {
    return std::find(settings_.audiences.begin(), settings_.audiences.end(), audience) != settings_.audiences.end();
}

std::string_view assertion_signer::signing_kid() const noexcept {
    return keys_[signing_]->kid;
}

std::vector<std::string> assertion_signer::kids() const {
    std::vector<std::string> out;
    for (const auto& k : keys_)
        out.push_back(k->kid);
    return out;
}

std::string assertion_signer::sign(std::string_view payload) const {
    const key& k = *keys_[signing_];
    std::string out;
    out.reserve(k.header.size() + session::base64url_encoded_size(payload.size()) + 90);
    out += k.header;
    out += '.';
    out += b64(payload);
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, 80> sig{};  // Ed25519: 64; ECDSA P-256 DER: at most 72
    std::size_t len = sig.size();
    if (!ctx ||
        EVP_DigestSignInit(ctx.get(), nullptr, k.alg == jws_alg::es256 ? EVP_sha256() : nullptr, nullptr,
                           k.pkey.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(out.data()), out.size()) !=
            1)
        throw std::runtime_error("signing an assertion failed");
    out += '.';
    if (k.alg == jws_alg::eddsa) {
        out += b64(session::bytes_view(sig.data(), len));
    } else {
        std::array<std::uint8_t, signature_size> raw{};
        if (!der_to_raw(sig.data(), len, raw)) throw std::runtime_error("signing an assertion failed");
        out += b64(session::bytes_view(raw.data(), raw.size()));
    }
    return out;
}

boost::system::result<json::object> assertion_signer::verify(std::string_view jws) const {
    if (jws.size() > max_size) return assertion_errc::malformed;
    const auto first = jws.find('.');
    const auto second = first == std::string_view::npos ? first : jws.find('.', first + 1);
    if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos)
        return assertion_errc::malformed;
    const auto header_b64 = jws.substr(0, first);
    const auto payload_b64 = jws.substr(first + 1, second - first - 1);
    const auto signature_b64 = jws.substr(second + 1);
    if (header_b64.empty() || payload_b64.empty()) return assertion_errc::malformed;

    // The header: alg and kid decide everything else.
    auto header_bytes = session::base64url_decode(header_b64);
    if (!header_bytes) return assertion_errc::malformed;
    boost::system::error_code ec;
    auto header =
        json::parse(std::string_view(reinterpret_cast<const char*>(header_bytes->data()), header_bytes->size()), ec);
    if (ec || !header.is_object()) return assertion_errc::malformed;
    const auto& h = header.as_object();
    const auto* alg = h.if_contains("alg");
    if (!alg || !alg->is_string()) return assertion_errc::malformed;
    if (*alg != "EdDSA" && *alg != "ES256") return assertion_errc::algorithm;  // none, HS256, RS256, ...
    if (h.contains("crit")) return assertion_errc::malformed;                  // no extension is understood
    const auto* kid = h.if_contains("kid");
    if (!kid || !kid->is_string()) return assertion_errc::unknown_key;
    auto it = std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) { return k->kid == kid->as_string(); });
    if (it == keys_.end()) return assertion_errc::unknown_key;
    const key& k = **it;
    if (alg->as_string() != to_string(k.alg)) return assertion_errc::algorithm;

    std::array<std::uint8_t, signature_size> sig{};
    auto n = session::base64url_decode(signature_b64, sig);
    // Only the canonical spelling: the last character's unused bits must be
    // zero, so that one signature has one text.
    if (!n || *n != signature_size || session::base64url_encode(sig) != signature_b64) return assertion_errc::signature;
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
    if (!ctx) return assertion_errc::signature;
    const auto* signed_part = reinterpret_cast<const unsigned char*>(jws.data());
    const std::size_t signed_size = second;
    int ok = 0;
    if (k.alg == jws_alg::eddsa) {
        ok = EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.pkey.get()) == 1 &&
             EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), signed_part, signed_size) == 1;
    } else {
        auto der = ecdsa_raw_to_der(sig);
        ok = !der.empty() && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k.pkey.get()) == 1 &&
             EVP_DigestVerify(ctx.get(), der.data(), der.size(), signed_part, signed_size) == 1;
    }
    if (!ok) return assertion_errc::signature;

    auto payload_bytes = session::base64url_decode(payload_b64);
    if (!payload_bytes) return assertion_errc::malformed;
    auto payload =
        json::parse(std::string_view(reinterpret_cast<const char*>(payload_bytes->data()), payload_bytes->size()), ec);
    if (ec || !payload.is_object()) return assertion_errc::malformed;
    return std::move(payload.as_object());
}

}  // namespace sessiond::service
