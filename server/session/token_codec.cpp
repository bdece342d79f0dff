#include "session/token_codec.hpp"

#include "session/errc.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sessiond::session {
namespace {

// Offsets into the payload.
constexpr std::size_t ver_at = 0, id_at = 1, secret_at = 19, kid_at = 51, tag_at = 52;
static_assert(tag_at + token_codec::tag_size == token_codec::payload_size);
static_assert(token_codec::body_size == 91);

using payload = std::array<std::uint8_t, token_codec::payload_size>;

// The payload bytes, scrubbed on scope exit: they hold the token secret.
struct wiped_payload {
    payload bytes;
    ~wiped_payload() { secure_wipe(bytes); }
};

bool valid_prefix_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

}  // namespace

token_codec::token_codec(std::string prefix) : prefix_(std::move(prefix)) {
    if (prefix_.size() > max_prefix_size) throw std::invalid_argument("token prefix longer than 32 characters");
    for (const char c : prefix_)
        if (!valid_prefix_char(c))
            throw std::invalid_argument("token prefix may only hold letters, digits, '_', '-' and '.'");
}

issued_token token_codec::issue(const keyring& keys, std::uint16_t bucket) const {
    if (bucket >= bucket_count) throw std::invalid_argument("token_codec: bucket out of range");
    // One RAND_bytes call for id and secret: each call costs about as much
    // as the rest of issuing a token.
    std::array<std::uint8_t, 16 + 32> random;
    random_bytes(random);
    session_id id;
    id.bucket = bucket;
    std::memcpy(id.id.data(), random.data(), 16);
    token_secret secret;
    std::memcpy(secret.data(), random.data() + 16, 32);
    secure_wipe(random);
    return make(keys, id, secret);
}

issued_token token_codec::reissue(const keyring& keys, const session_id& id) const {
    if (id.bucket >= bucket_count) throw std::invalid_argument("token_codec: bucket out of range");
    token_secret secret;
    random_bytes(secret);
    return make(keys, id, secret);
}

issued_token token_codec::reissue(const keyring& keys, const session_id& id, const token_secret& secret) const {
    if (id.bucket >= bucket_count) throw std::invalid_argument("token_codec: bucket out of range");
    return make(keys, id, secret);
}

issued_token token_codec::make(const keyring& keys, const session_id& id, const token_secret& secret) const {
    issued_token out;
    out.id = id;
    out.secret = secret;
    out.secret_hash = digest_secret(out.secret);

    wiped_payload p;
    p.bytes[ver_at] = format_version;
    id.to_binary(std::span(p.bytes).subspan<id_at, session_id::binary_size>());
    std::memcpy(&p.bytes[secret_at], out.secret.data(), out.secret.size());
    p.bytes[kid_at] = keys.signing_kid();
    const sha256_digest mac = hmac_sha256(keys.signing_key(), std::span(p.bytes).first<tag_at>());
    std::memcpy(&p.bytes[tag_at], mac.data(), tag_size);

    out.token.resize(token_size());
    std::copy(prefix_.begin(), prefix_.end(), out.token.begin());
    base64url_encode(p.bytes, std::span(out.token).subspan(prefix_.size()));
    return out;
}

boost::system::result<decoded_token> token_codec::decode(const keyring& keys, std::string_view token) const {
    // Bound first: nothing below looks at more than token_size() characters.
    if (token.size() > token_size()) return errc::malformed_token;
    if (!token.starts_with(prefix_)) return errc::bad_prefix;
    if (token.size() != token_size()) return errc::malformed_token;

    wiped_payload p;
    if (base64url_decode(token.substr(prefix_.size()), p.bytes) != payload_size) return errc::malformed_token;
    if (p.bytes[ver_at] != format_version) return errc::malformed_token;
    decoded_token out;
    out.id = session_id::from_binary(std::span(p.bytes).subspan<id_at, session_id::binary_size>());
    if (out.id.bucket >= bucket_count) return errc::malformed_token;

    out.kid = p.bytes[kid_at];
    const bytes_view key = keys.key(out.kid);
    if (key.empty()) return errc::unknown_key;
    const sha256_digest mac = hmac_sha256(key, std::span(p.bytes).first<tag_at>());
    if (!equal_ct(std::span(mac).first<tag_size>(), std::span(p.bytes).subspan<tag_at, tag_size>()))
        return errc::bad_tag;

    std::memcpy(out.secret.data(), &p.bytes[secret_at], out.secret.size());
    return out;
}

}  // namespace sessiond::session
