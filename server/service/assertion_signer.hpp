#pragma once
// The keys and rules of signed assertions: short-lived JWTs (compact JWS,
// RFC 7515/7519) minted from a live session, signed with Ed25519 (EdDSA,
// RFC 8037) or P-256 (ES256) through OpenSSL. Immutable once made; a reload
// replaces it whole (share it as std::shared_ptr<const assertion_signer>).
//
// Every listed key is published (jwks()) and verifies; one signs. A key's
// alg follows from its type, and verification accepts exactly that alg for
// that kid: `none`, HMAC algorithms and a header that names another alg than
// its key's are refused before any signature is checked, so an attacker who
// signs with the public key as an HMAC secret gets nowhere.

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "service/errc.hpp"

namespace sessiond::service {

// What a deployment's assertions say and allow.
struct assertion_settings {
    std::string issuer;                  // iss
    std::vector<std::string> audiences;  // aud values a caller may ask for
    std::chrono::seconds ttl{60};        // default lifetime
    std::chrono::seconds max_ttl{300};   // the most a caller may ask for
    std::vector<std::string> claims;     // top-level metadata fields copied as claims
    std::chrono::seconds jwks_max_age{300};
};

// A private key as configured: its kid and its PEM text (the caller wipes it).
struct assertion_key_source {
    std::string kid;
    std::string_view pem;
};

// Thrown for an unusable assertion configuration; names the kid and what is
// wrong, never key material.
struct assertion_config_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Registered claim names (and sessiond's own) that assertion-claims may not
// name: a metadata field never overrides what sessiond asserts.
bool reserved_claim(std::string_view name) noexcept;

class assertion_signer {
public:
    // A kid: 1..64 characters of [A-Za-z0-9._-].
    static bool valid_kid(std::string_view kid) noexcept;

    // Throws assertion_config_error: no key, a duplicate or invalid kid, a
    // key that is not an unencrypted Ed25519 or P-256 private key, a
    // signing kid that is not listed (required with several keys), no
    // issuer or audience, a ttl of 0 or above max_ttl, a reserved claim.
    static std::shared_ptr<const assertion_signer> make(assertion_settings settings,
                                                        const std::vector<assertion_key_source>& keys,
                                                        std::string_view signing_kid);

    ~assertion_signer();
    assertion_signer(const assertion_signer&) = delete;
    assertion_signer& operator=(const assertion_signer&) = delete;

    const assertion_settings& settings() const noexcept { return settings_; }
    bool audience_allowed(std::string_view audience) const noexcept;
    std::string_view signing_kid() const noexcept;
    std::vector<std::string> kids() const;
    // Different for every signer made: a cached assertion names the signer
    // that made it, so that a reload is not outlived by reused assertions.
    std::uint64_t generation() const noexcept { return generation_; }

    // The public keys as a JWK Set's JSON text ({"keys":[...]}, with kid, alg, use).
    const std::string& jwks() const noexcept { return jwks_; }

    // The compact JWS of `payload` (a JSON object's text) under the signing key.
    std::string sign(std::string_view payload) const;

    // The payload of a compact JWS that one of the keys signed, as a JSON
    // object; the header and signature checked, no claim yet. Errors:
    // assertion_errc malformed, algorithm, unknown_key, signature.
    boost::system::result<boost::json::object> verify(std::string_view jws) const;

    // The longest compact JWS verify() reads.
    static constexpr std::size_t max_size = 8192;

private:
    struct key;
    assertion_signer() = default;

    assertion_settings settings_;
    std::vector<std::unique_ptr<key>> keys_;
    std::size_t signing_ = 0;
    std::string jwks_;
    std::uint64_t generation_ = 0;
};

}  // namespace sessiond::service
