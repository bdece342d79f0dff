#pragma once
// The few cryptographic primitives the session domain needs, on OpenSSL 3,
// shaped for the hot path: fixed-size outputs, no heap allocation per call.
// OpenSSL failures (which mean a broken library or no memory) throw
// std::runtime_error: a token must never be issued from a failed RNG.

#include "common/secure_memory.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond::session {

using bytes_view = std::span<const std::uint8_t>;
using sha256_digest = std::array<std::uint8_t, 32>;

inline bytes_view as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). Throws on failure.
void random_bytes(std::span<std::uint8_t> out);

sha256_digest sha256(bytes_view data);

// HMAC-SHA-256. `key` must not be empty (OpenSSL would silently reuse the
// previous key of its context); throws std::invalid_argument if it is.
sha256_digest hmac_sha256(bytes_view key, bytes_view data);

// Constant-time equality (CRYPTO_memcmp). Sizes are public, so a size
// mismatch returns false at once.
bool equal_ct(bytes_view a, bytes_view b) noexcept;

// What a store keeps of a token secret instead of the secret: the first 16
// bytes of SHA-256(secret). The secret is 256 random bits, so finding one
// that matches a stored digest still takes about 2^128 hashes (and a token
// also needs the server's HMAC tag). A type of its own, so that it is never
// mixed up with a full digest or a session id; == compares in constant time.
struct secret_digest {
    static constexpr std::size_t size = 16;
    std::array<std::uint8_t, size> bytes{};

    bytes_view view() const noexcept { return bytes; }
    friend bool operator==(const secret_digest& a, const secret_digest& b) noexcept {
        return equal_ct(a.view(), b.view());
    }
};

// The first 16 bytes of SHA-256(secret).
secret_digest digest_secret(bytes_view secret);

// Wiping and self-wiping buffers live in common/secure_memory.hpp.
using sessiond::secret_array;
using sessiond::secret_bytes;
using sessiond::secure_wipe;
using sessiond::wiped_bytes;

// --- base64url (RFC 4648 §5), no padding --------------------------------
// Encoding and decoding use branch-free arithmetic instead of lookup tables
// indexed by the data, because token secrets pass through them (no
// cache-timing signal). Decoding is strict: no padding, no characters outside
// the alphabet, and the unused low bits of the last character must be zero,
// so every byte string has exactly one accepted encoding.

constexpr std::size_t base64url_encoded_size(std::size_t n) noexcept {
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

// Size of the bytes a valid encoding of `n` characters decodes to; nullopt
// for lengths no encoding has (n % 4 == 1).
constexpr std::optional<std::size_t> base64url_decoded_size(std::size_t n) noexcept {
    if (n % 4 == 1) return std::nullopt;
    return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

// Writes exactly base64url_encoded_size(in.size()) characters to `out`,
// which must be at least that large. Returns the number written.
std::size_t base64url_encode(bytes_view in, std::span<char> out) noexcept;
std::string base64url_encode(bytes_view in);

// Decodes into `out`; returns the number of bytes written, or nullopt when
// `in` is not a canonical unpadded base64url string or `out` is too small.
// On failure `out` holds no partial data.
std::optional<std::size_t> base64url_decode(std::string_view in, std::span<std::uint8_t> out) noexcept;
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view in);

// Standard base64 (RFC 4648 §4) as produced by `openssl rand -base64 32`,
// for keys in configuration: padding optional but, if present, correct;
// otherwise as strict as base64url_decode.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view in);

// base64_decode straight into key-material pages: no plaintext copy left
// behind on the heap.
std::optional<secret_bytes> base64_decode_secret(std::string_view in);

}  // namespace sessiond::session
