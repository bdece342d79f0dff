#pragma once
// Issues and verifies session tokens. A token is self-authenticating (a
// forged or mangled one is rejected without a store round trip) and carries
// the session's public id, so the store finds the session without an index.
//
// Token format, version 1 (stable within API major version 1):
//
//   token   = prefix ‖ base64url(payload)          base64url: RFC 4648 §5, no padding
//   payload = ver ‖ bucket ‖ id ‖ secret ‖ kid ‖ tag   (68 bytes → 91 characters)
//
//   ver     1 byte   0x01
//   bucket  2 bytes  big-endian, 0..16383: HMAC-SHA-256(user index key, user_id),
//                    first two bytes big-endian mod 16384; shared by all of a
//                    user's sessions, says nothing about the user without the key
//   id      16 bytes random (OpenSSL RAND_bytes); public, non-secret
//   secret  32 bytes random (OpenSSL RAND_bytes); the store keeps only the
//                    first 16 bytes of SHA-256(secret) (digest_secret)
//   kid     1 byte   id of the token key that made the tag, 1..255
//   tag     16 bytes HMAC-SHA-256(token key[kid], ver ‖ bucket ‖ id ‖ secret ‖ kid),
//                    first 16 bytes
//
// With the default prefix `sid_` a token is 95 characters. The public session
// id (`session.id`) is base64url(bucket ‖ id), 24 characters. Decoding accepts
// only the canonical encoding (the unused low bits of the last character are
// zero), so a token has exactly one accepted spelling.

#include "session/crypto.hpp"
#include "session/keyring.hpp"
#include "session/session_id.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sessiond::session {

// Wipes itself when it goes, so every issued or decoded token's secret is
// wiped when the token object is.
using token_secret = secret_array<32>;

struct issued_token {
    std::string token;  // hand to the client; never log it
    session_id id;
    token_secret secret;
    secret_digest secret_hash;  // digest_secret(secret), for the store
};

struct decoded_token {
    session_id id;
    token_secret secret;
    std::uint8_t kid = 0;
};

class token_codec {
public:
    static constexpr std::uint8_t format_version = 0x01;
    static constexpr std::size_t payload_size = 1 + 2 + 16 + 32 + 1 + 16;           // 68
    static constexpr std::size_t body_size = base64url_encoded_size(payload_size);  // 91
    static constexpr std::size_t tag_size = 16;
    static constexpr std::size_t max_prefix_size = 32;
    static constexpr std::size_t max_token_size = max_prefix_size + body_size;
    static constexpr std::string_view default_prefix = "sid_";

    // The prefix may hold ASCII letters, digits, '_', '-' and '.', at most
    // 32 of them (safe in cookies and headers, easy for secret scanners).
    // Throws std::invalid_argument otherwise.
    explicit token_codec(std::string prefix = std::string(default_prefix));

    const std::string& prefix() const noexcept { return prefix_; }
    std::size_t token_size() const noexcept { return prefix_.size() + body_size; }

    // A new session in `bucket` (keyring::user_bucket of its user), signed
    // with the keyring's signing key.
    issued_token issue(const keyring& keys, std::uint16_t bucket) const;
    // A new secret for an existing session (rotation); the id stays.
    issued_token reissue(const keyring& keys, const session_id& id) const;
    // The same with a given secret (see keyring::derive_secret).
    issued_token reissue(const keyring& keys, const session_id& id, const token_secret& secret) const;

    // Verifies `token` without any allocation. Errors (errc), in check order:
    // malformed_token (too long, or wrong length after the prefix),
    // bad_prefix, malformed_token (not canonical base64url, unknown version,
    // bucket out of range), unknown_key, bad_tag.
    boost::system::result<decoded_token> decode(const keyring& keys, std::string_view token) const;

private:
    issued_token make(const keyring& keys, const session_id& id, const token_secret& secret) const;

    std::string prefix_;
};

}  // namespace sessiond::session
