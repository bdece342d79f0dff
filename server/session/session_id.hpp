#pragma once
// The public, non-secret handle of a session: the user's bucket and 16 random
// bytes. Shown as `session.id` in JSON, used to list and revoke by id, and
// (with its bucket) enough for a store to find every key of the session and of
// its user without a lookup.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sessiond::session {

// Buckets spread users over Redis Cluster hash slots (16384 of them); a
// user's sessions all share one bucket. See keyring::user_bucket.
inline constexpr std::uint16_t bucket_count = 16384;

struct session_id {
    // base64url(bucket (2, big-endian) ‖ id (16)), no padding.
    static constexpr std::size_t binary_size = 18;
    static constexpr std::size_t encoded_size = 24;

    std::uint16_t bucket = 0;  // < bucket_count
    std::array<std::uint8_t, 16> id{};

    // A fresh random id in `bucket` (throws std::invalid_argument if bucket >= bucket_count).
    static session_id generate(std::uint16_t bucket);

    void to_binary(std::span<std::uint8_t, binary_size> out) const noexcept;
    static session_id from_binary(std::span<const std::uint8_t, binary_size> in) noexcept;  // bucket not checked

    void to_chars(std::span<char, encoded_size> out) const noexcept;
    std::string to_string() const;

    // Strict: exactly 24 canonical base64url characters with bucket < bucket_count.
    static std::optional<session_id> parse(std::string_view text) noexcept;

    friend bool operator==(const session_id&, const session_id&) = default;
    friend auto operator<=>(const session_id&, const session_id&) = default;
};

}  // namespace sessiond::session

// The id bytes are uniformly random, so any 8 of them make a good hash.
template <>
struct std::hash<sessiond::session::session_id> {
    std::size_t operator()(const sessiond::session::session_id& s) const noexcept {
        std::uint64_t h;
        std::memcpy(&h, s.id.data(), sizeof h);
        return static_cast<std::size_t>(h);
    }
};
