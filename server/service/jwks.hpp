#pragma once
// An identity provider's public keys (a JWK Set, RFC 7517) and the
// verification of compact JWS (RFC 7515) against them, on OpenSSL 3: RSA
// (RS256), EC P-256 (ES256) and Ed25519 (EdDSA). Immutable once parsed; a
// reload replaces it whole.
//
// A key's algorithm follows from its type (RSA: RS256, EC P-256: ES256,
// OKP Ed25519: EdDSA); a JWK whose own "alg" names another is refused. A
// token's header must name an algorithm the caller allows and that of the
// key its kid names: `none`, HMAC and a header whose alg is not its key's
// are refused before any signature is checked.

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sessiond::service {

enum class jws_alg : std::uint8_t { rs256, es256, eddsa };

std::string_view to_string(jws_alg a) noexcept;
// "RS256", "ES256" or "EdDSA"; nullopt for any other name.
std::optional<jws_alg> parse_jws_alg(std::string_view name) noexcept;

// Why a compact JWS did not verify (category "sessiond.jws").
enum class jws_errc {
    malformed = 1,  // not three base64url parts of JSON objects, or too long
    algorithm,      // alg none, HS*, not allowed, or not the alg of the key named
    unknown_key,    // no key of the set has the header's kid
    signature,      // the signature does not verify
};

const boost::system::error_category& jws_category() noexcept;
inline boost::system::error_code make_error_code(jws_errc e) noexcept {
    return {static_cast<int>(e), jws_category()};
}

// Thrown for a JWK Set that cannot be used; says what is wrong, never a key.
struct jwks_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

class jwk_set {
public:
    // The longest JWK Set text parse() reads, and the longest token verify() reads.
    static constexpr std::size_t max_text = 1024 * 1024;
    static constexpr std::size_t max_token = 16 * 1024;
    static constexpr std::size_t min_rsa_bits = 2048;

    // {"keys":[...]}: signature keys (no "use", or "use":"sig") of the three
    // types are kept; encryption keys and other types are skipped. Throws
    // jwks_error: not JSON, no "keys" array, a signature key that is
    // malformed (bad base64url, an RSA modulus under 2048 bits, an EC point
    // off P-256, an alg that is not its type's), a kid used twice, or no
    // usable key at all.
    static std::shared_ptr<const jwk_set> parse(std::string_view text);

    ~jwk_set();
    jwk_set(const jwk_set&) = delete;
    jwk_set& operator=(const jwk_set&) = delete;

    std::size_t size() const noexcept { return keys_.size(); }
    std::vector<std::string> kids() const;

    // The payload of a compact JWS signed by one of the keys with one of
    // `allowed`, as a JSON object; no claim checked. A header without kid
    // is verified with the set's only key of its alg (if there is exactly
    // one). Errors: jws_errc.
    boost::system::result<boost::json::object> verify(std::string_view jws, std::span<const jws_alg> allowed) const;

private:
    struct key;
    jwk_set() = default;
    std::vector<std::unique_ptr<key>> keys_;
};

// ECDSA signatures: JWS's r || s (RFC 7518 3.4) as OpenSSL's DER, empty on
// failure.
std::vector<unsigned char> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

}  // namespace sessiond::service

template <>
struct boost::system::is_error_code_enum<sessiond::service::jws_errc> : std::true_type {};
