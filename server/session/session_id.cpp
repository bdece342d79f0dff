#include "session/session_id.hpp"

#include "session/crypto.hpp"

#include <stdexcept>

namespace sessiond::session {

session_id session_id::generate(std::uint16_t bucket) {
    if (bucket >= bucket_count) throw std::invalid_argument("session_id: bucket out of range");
    session_id s;
    s.bucket = bucket;
    random_bytes(s.id);
    return s;
}

void session_id::to_binary(std::span<std::uint8_t, binary_size> out) const noexcept {
    out[0] = static_cast<std::uint8_t>(bucket >> 8);
    out[1] = static_cast<std::uint8_t>(bucket);
    std::memcpy(out.data() + 2, id.data(), id.size());
}

session_id session_id::from_binary(std::span<const std::uint8_t, binary_size> in) noexcept {
    session_id s;
    s.bucket = static_cast<std::uint16_t>(in[0] << 8 | in[1]);
    std::memcpy(s.id.data(), in.data() + 2, s.id.size());
    return s;
}

void session_id::to_chars(std::span<char, encoded_size> out) const noexcept {
    std::array<std::uint8_t, binary_size> bin;
    to_binary(bin);
    base64url_encode(bin, out);
}

std::string session_id::to_string() const {
    std::string out(encoded_size, '\0');
    to_chars(std::span<char, encoded_size>(out.data(), encoded_size));
    return out;
}

std::optional<session_id> session_id::parse(std::string_view text) noexcept {
    std::array<std::uint8_t, binary_size> bin;
    if (text.size() != encoded_size || base64url_decode(text, bin) != binary_size) return std::nullopt;
    session_id s = from_binary(bin);
    if (s.bucket >= bucket_count) return std::nullopt;
    return s;
}

}  // namespace sessiond::session
