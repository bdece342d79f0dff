#include "service/jwks.hpp"

#include <boost/json/parse.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>

#include "common/error_category.hpp"
#include "service/openssl_ptr.hpp"
#include "session/crypto.hpp"

namespace sessiond::service {

namespace json = boost::json;

namespace {

using ossl::bn_ptr;
using ossl::pkey_ptr;

struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct bld_free {
    void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct params_free {
    void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};

constexpr std::size_t p256_size = 32;
constexpr std::size_t ed25519_size = 32;

const char* describe(jws_errc e) noexcept {
    switch (e) {
        case jws_errc::malformed:
            return "the token is not a compact JWS of JSON objects";
        case jws_errc::algorithm:
            return "the token's alg is not allowed (none, HMAC, or not the alg of the key named by kid)";
        case jws_errc::unknown_key:
            return "the token's kid names no key of the provider's JWKS";
        case jws_errc::signature:
            return "the token's signature does not verify";
    }
    return "unknown JWS error";
}

// A JSON object's text, base64url-encoded (a JWS header or payload).
std::optional<json::object> decode_object(std::string_view b64) {
    auto bytes = session::base64url_decode(b64);
    if (!bytes) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

std::optional<std::string_view> string_member(const json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string_view(v->as_string());
}

// A base64url member of a JWK, decoded; throws naming it when absent or malformed.
std::vector<std::uint8_t> bytes_member(const json::object& jwk, std::string_view name, std::string_view kid) {
    auto text = string_member(jwk, name);
    auto bytes = text ? session::base64url_decode(*text) : std::nullopt;
    if (!bytes || bytes->empty())
        throw jwks_error("key " + std::string(kid) + ": \"" + std::string(name) + "\" is not base64url");
    return std::move(*bytes);
}

pkey_ptr from_params(const char* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, params_free> params(OSSL_PARAM_BLD_to_param(bld));
    std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        ERR_clear_error();
        return nullptr;
    }
    return pkey_ptr(raw);
}

pkey_ptr rsa_key(const json::object& jwk, std::string_view kid) {
    const auto n = bytes_member(jwk, "n", kid);
    const auto e = bytes_member(jwk, "e", kid);
    if (n.size() * 8 < jwk_set::min_rsa_bits || n.front() == 0)
        throw jwks_error("key " + std::string(kid) + ": an RSA modulus must have at least 2048 bits");
    bn_ptr nb(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
    bn_ptr eb(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
    std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
    if (!nb || !eb || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, nb.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, eb.get()) != 1)
        throw jwks_error("key " + std::string(kid) + ": cannot build the RSA key");
    auto key = from_params("RSA", bld.get());
    if (!key) throw jwks_error("key " + std::string(kid) + ": not a usable RSA public key");
    return key;
}

pkey_ptr ec_key(const json::object& jwk, std::string_view kid) {
    if (string_member(jwk, "crv") != "P-256")
        throw jwks_error("key " + std::string(kid) + ": an EC key must be on P-256");
    const auto x = bytes_member(jwk, "x", kid);
    const auto y = bytes_member(jwk, "y", kid);
    // RFC 7518 asks for the full 32 bytes, but some issuers' libraries drop a
    // coordinate's leading zero bytes; the value is the same, so pad it back.
    if (x.size() > p256_size || y.size() > p256_size)
        throw jwks_error("key " + std::string(kid) + ": P-256 coordinates are 32 bytes");
    std::array<unsigned char, 1 + 2 * p256_size> point{};
    point[0] = 0x04;  // uncompressed
    std::copy(x.begin(), x.end(), point.begin() + 1 + (p256_size - x.size()));
    std::copy(y.begin(), y.end(), point.begin() + 1 + p256_size + (p256_size - y.size()));
    std::unique_ptr<OSSL_PARAM_BLD, bld_free> bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
        throw jwks_error("key " + std::string(kid) + ": cannot build the EC key");
    // Decoding the point checks that it lies on the curve.
    auto key = from_params("EC", bld.get());
    if (!key) throw jwks_error("key " + std::string(kid) + ": not a point on P-256");
    return key;
}

pkey_ptr okp_key(const json::object& jwk, std::string_view kid) {
    if (string_member(jwk, "crv") != "Ed25519")
        throw jwks_error("key " + std::string(kid) + ": an OKP key must be Ed25519");
    const auto x = bytes_member(jwk, "x", kid);
    if (x.size() != ed25519_size) throw jwks_error("key " + std::string(kid) + ": an Ed25519 key is 32 bytes");
    pkey_ptr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x.data(), x.size()));
    if (!key) throw jwks_error("key " + std::string(kid) + ": not a usable Ed25519 key");
    return key;
}

}  // namespace

struct jwk_set::key {
    std::string kid;  // may be empty
    jws_alg alg = jws_alg::rs256;
    pkey_ptr pkey;
};

const boost::system::error_category& jws_category() noexcept {
    static const enum_category<jws_errc> instance("sessiond.jws", describe);
    return instance;
}

std::string_view to_string(jws_alg a) noexcept {
    switch (a) {
        case jws_alg::rs256:
            return "RS256";
        case jws_alg::es256:
            return "ES256";
        case jws_alg::eddsa:
            return "EdDSA";
    }
    return "";
}

std::optional<jws_alg> parse_jws_alg(std::string_view name) noexcept {
    for (auto a : {jws_alg::rs256, jws_alg::es256, jws_alg::eddsa})
        if (to_string(a) == name) return a;
    return std::nullopt;
}

std::vector<unsigned char> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
    if (raw.size() != 2 * p256_size) return {};
    ossl::sig_ptr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw.data(), p256_size, nullptr);
    BIGNUM* s = BN_bin2bn(raw.data() + p256_size, p256_size, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return {};
    }
    const int n = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (n <= 0) return {};
    std::vector<unsigned char> der(static_cast<std::size_t>(n));
    unsigned char* p = der.data();
    i2d_ECDSA_SIG(sig.get(), &p);
    return der;
}

jwk_set::~jwk_set() = default;

std::shared_ptr<const jwk_set> jwk_set::parse(std::string_view text) {
    if (text.size() > max_text) throw jwks_error("the JWKS is larger than 1 MiB");
    boost::system::error_code ec;
    auto doc = json::parse(text, ec);
    const auto* keys = !ec && doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
    if (!keys || !keys->is_array()) throw jwks_error("not a JWK Set: expected a JSON object with a \"keys\" array");
    std::shared_ptr<jwk_set> out(new jwk_set());
    std::size_t index = 0;
    for (const auto& v : keys->as_array()) {
        ++index;
        if (!v.is_object()) throw jwks_error("key #" + std::to_string(index) + " is not a JSON object");
        const auto& jwk = v.as_object();
        const auto use = string_member(jwk, "use");
        if (jwk.contains("use") && use != "sig") continue;  // an encryption key
        const auto kty = string_member(jwk, "kty").value_or("");
        const std::string kid(string_member(jwk, "kid").value_or(""));
        const std::string name = kid.empty() ? "#" + std::to_string(index) : kid;
        auto k = std::make_unique<key>();
        k->kid = kid;
        if (kty == "RSA") {
            k->alg = jws_alg::rs256;
            // An RSA key for another signature scheme (PS256, RS512): not ours.
            if (const auto alg = string_member(jwk, "alg"); alg && *alg != "RS256") continue;
            k->pkey = rsa_key(jwk, name);
        } else if (kty == "EC") {
            k->alg = jws_alg::es256;
            k->pkey = ec_key(jwk, name);
        } else if (kty == "OKP") {
            k->alg = jws_alg::eddsa;
            k->pkey = okp_key(jwk, name);
        } else {
            continue;  // oct and unknown types are never signature keys here
        }
        if (const auto alg = string_member(jwk, "alg"); alg && *alg != to_string(k->alg))
            throw jwks_error("key " + name + ": alg " + std::string(*alg) + " is not its type's");
        if (!kid.empty() &&
            std::any_of(out->keys_.begin(), out->keys_.end(), [&](const auto& other) { return other->kid == kid; }))
            throw jwks_error("kid " + kid + " is listed twice");
        out->keys_.push_back(std::move(k));
    }
    if (out->keys_.empty()) throw jwks_error("the JWKS holds no RSA, P-256 or Ed25519 signature key");
    return out;
}

std::vector<std::string> jwk_set::kids() const {
    std::vector<std::string> out;
    for (const auto& k : keys_)
        out.push_back(k->kid);
    return out;
}

boost::system::result<json::object> jwk_set::verify(std::string_view jws, std::span<const jws_alg> allowed) const {
    if (jws.size() > max_token) return jws_errc::malformed;
    const auto first = jws.find('.');
    const auto second = first == std::string_view::npos ? first : jws.find('.', first + 1);
    if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos)
        return jws_errc::malformed;
    auto header = decode_object(jws.substr(0, first));
    if (!header) return jws_errc::malformed;
    const auto alg_name = string_member(*header, "alg");
    if (!alg_name) return jws_errc::malformed;
    const auto alg = parse_jws_alg(*alg_name);  // none, HS256, ... are no alg here
    if (!alg || std::find(allowed.begin(), allowed.end(), *alg) == allowed.end()) return jws_errc::algorithm;
    if (header->contains("crit")) return jws_errc::malformed;  // no extension is understood

    const key* k = nullptr;
    if (const auto* kid = header->if_contains("kid")) {
        if (!kid->is_string()) return jws_errc::malformed;
        for (const auto& candidate : keys_)
            if (candidate->kid == kid->as_string()) k = candidate.get();
        if (!k) return jws_errc::unknown_key;
        if (k->alg != *alg) return jws_errc::algorithm;
    } else {
        for (const auto& candidate : keys_) {
            if (candidate->alg != *alg) continue;
            if (k) return jws_errc::unknown_key;  // several could be meant
            k = candidate.get();
        }
        if (!k) return jws_errc::unknown_key;
    }

    auto sig = session::base64url_decode(jws.substr(second + 1));
    if (!sig || sig->empty()) return jws_errc::signature;
    std::vector<unsigned char> der;
    const unsigned char* sig_data = sig->data();
    std::size_t sig_size = sig->size();
    if (k->alg == jws_alg::es256) {
        der = ecdsa_raw_to_der(*sig);
        if (der.empty()) return jws_errc::signature;
        sig_data = der.data();
        sig_size = der.size();
    } else if (k->alg == jws_alg::rs256 && sig->size() != static_cast<std::size_t>(EVP_PKEY_get_size(k->pkey.get()))) {
        return jws_errc::signature;
    }
    ossl::md_ctx_ptr ctx(EVP_MD_CTX_new());
    const EVP_MD* md = k->alg == jws_alg::eddsa ? nullptr : EVP_sha256();
    const auto* signed_part = reinterpret_cast<const unsigned char*>(jws.data());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, k->pkey.get()) != 1 ||
        EVP_DigestVerify(ctx.get(), sig_data, sig_size, signed_part, second) != 1) {
        ERR_clear_error();  // nothing of this token's failure is left for another caller to find
        return jws_errc::signature;
    }

    auto payload = decode_object(jws.substr(first + 1, second - first - 1));
    if (!payload) return jws_errc::malformed;
    return std::move(*payload);
}

}  // namespace sessiond::service
