#pragma once
// The server's secrets for tokens: several token keys are accepted (so keys
// can rotate without logging everyone out), one of them signs new tokens; and
// the separate user index key that maps user ids to buckets. Immutable once
// built; share it as std::shared_ptr<const keyring>. Key material lives on
// pages left out of core dumps and locked in memory where allowed
// (secret_bytes), is wiped when the keyring is destroyed and never appears
// in an error message.

#include "session/crypto.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace sessiond::session {

// Thrown at start-up for an unusable key configuration; the message says
// which entry and what is wrong, never the key itself.
struct keyring_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class keyring {
public:
    static constexpr std::size_t min_key_size = 32;   // 256 bits, the HMAC-SHA-256 strength
    static constexpr std::size_t max_key_size = 256;  // anything longer is a config mistake

    // `token_keys`: "kid:base64key[,kid:base64key…]", kid a decimal 1..255,
    // each key standard base64 (padding optional) of >= 32 bytes, e.g. from
    // `openssl rand -base64 32`; spaces around entries are ignored.
    // `user_index_key`: standard base64 of >= 32 bytes, distinct from every
    // token key. `signing_kid` defaults to the highest kid. Throws keyring_error.
    static keyring parse(std::string_view token_keys, std::string_view user_index_key,
                         std::optional<std::uint8_t> signing_kid = std::nullopt);

    // Development mode: one random token key (kid 1) and a random user index
    // key, both lost at exit (so are all sessions in a persistent store).
    static keyring make_ephemeral();

    keyring(keyring&&) noexcept = default;
    keyring& operator=(keyring&&) noexcept = default;

    std::uint8_t signing_kid() const noexcept { return signing_kid_; }
    bytes_view signing_key() const noexcept { return key(signing_kid_); }
    // The key for `kid`, or an empty view when that kid is not accepted.
    bytes_view key(std::uint8_t kid) const noexcept;
    // The key that authenticates stored records sealed under `kid` (empty
    // when that kid is not accepted): HMAC-SHA-256(token key, "sessiond
    // record key"), so records rotate with the token keys and a record key
    // says nothing about the token key.
    bytes_view record_key(std::uint8_t kid) const noexcept;

    // Accepted kids, ascending (for the start-up log line).
    std::vector<std::uint8_t> kids() const;

    // HMAC-SHA-256(user_index_key, user_id), first two bytes big-endian, mod
    // bucket_count. Keyed so that a token or a Redis key name says nothing
    // about the user to someone without the key.
    std::uint16_t user_bucket(std::string_view user_id) const;

    // base64url of the first 8 bytes of HMAC-SHA-256(user_index_key, "index:"
    // ‖ user_id), 11 characters: names the user's index in a store without
    // revealing the user. Short, so that the Redis key of an index
    // ("sessiond:{16383}:u:" and the name) stays within 30 characters. Not
    // unique: two users of one bucket share a name with probability 2^-78,
    // about N²/2^79 for any two of N users, and stores keep the sessions of
    // users who share an index apart (see docs/data-model.md).
    static constexpr std::size_t user_index_name_bytes = 8;
    std::string user_index_name(std::string_view user_id) const;

    // Names the user index key without revealing it: hex of the first 16
    // bytes of HMAC-SHA-256(user_index_key, "sessiond user index key
    // fingerprint"). A store keeps it, so that an instance started with
    // another index key (whose users' indexes would all be missed) is
    // noticed.
    std::string user_index_fingerprint() const;

    // 32 bytes only this server can compute from `context`, `secret` and
    // `salt`: HMAC-SHA-256(user_index_key, context ‖ 0 ‖ secret ‖ salt). A
    // rotation with an idempotency key derives its new token secret this
    // way, so that a retry of the same rotation gets the same token.
    // Wipes itself when it goes.
    secret_array<32> derive_secret(std::string_view context, bytes_view secret, std::string_view salt) const;

private:
    keyring() = default;

    void derive_record_keys();

    std::vector<secret_bytes> keys_;
    std::vector<secret_bytes> record_keys_;  // parallel to keys_
    std::array<std::uint8_t, 256> slot_{};   // kid -> index in keys_ + 1; 0 = not accepted
    std::uint8_t signing_kid_ = 0;
    secret_bytes user_index_key_;
};

}  // namespace sessiond::session
