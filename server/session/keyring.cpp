#include "session/keyring.hpp"

#include "common/text.hpp"
#include "session/session_id.hpp"

#include <charconv>
#include <string>

namespace sessiond::session {
namespace {

// Decodes one configured key; `what` names it in messages ("token key 3").
secret_bytes decode_key(std::string_view b64, const std::string& what) {
    auto decoded = base64_decode_secret(b64);
    if (!decoded) throw keyring_error(what + " is not valid base64");
    secret_bytes key(std::move(*decoded));
    if (key.size() < keyring::min_key_size)
        throw keyring_error(what + " is " + std::to_string(key.size()) + " bytes, at least " +
                            std::to_string(keyring::min_key_size) + " are required (openssl rand -base64 32)");
    if (key.size() > keyring::max_key_size)
        throw keyring_error(what + " is longer than " + std::to_string(keyring::max_key_size) + " bytes");
    return key;
}

}  // namespace

keyring keyring::parse(std::string_view token_keys, std::string_view user_index_key,
                       std::optional<std::uint8_t> signing_kid) {
    keyring k;
    if (trim(token_keys).empty()) throw keyring_error("no token keys configured");
    std::size_t entry = 0;
    while (true) {
        ++entry;
        const std::size_t comma = token_keys.find(',');
        const std::string_view item = trim(token_keys.substr(0, comma));
        const std::string where = "token key entry " + std::to_string(entry);
        // Only validated numbers are echoed: a misplaced separator could put
        // key material where the kid is expected.
        const std::size_t colon = item.find(':');
        if (item.empty()) throw keyring_error(where + " is empty");
        if (colon == std::string_view::npos) throw keyring_error(where + " is not of the form kid:base64key");
        const std::string_view kid_text = item.substr(0, colon);
        unsigned kid = 0;
        const auto [end, ec] = std::from_chars(kid_text.data(), kid_text.data() + kid_text.size(), kid);
        if (kid_text.empty() || ec != std::errc{} || end != kid_text.data() + kid_text.size() || kid < 1 || kid > 255 ||
            kid_text.size() > 3)
            throw keyring_error(where + ": key id must be an integer in 1..255");
        const std::string what = "token key " + std::to_string(kid);
        if (k.slot_[kid] != 0) throw keyring_error(what + " is configured twice");
        k.keys_.push_back(decode_key(item.substr(colon + 1), what));
        k.slot_[kid] = static_cast<std::uint8_t>(k.keys_.size());
        if (comma == std::string_view::npos) break;
        token_keys.remove_prefix(comma + 1);
    }

    if (signing_kid) {
        if (k.slot_[*signing_kid] == 0)
            throw keyring_error("signing key id " + std::to_string(*signing_kid) + " is not among the token keys");
        k.signing_kid_ = *signing_kid;
    } else {
        for (unsigned kid = 255; kid >= 1; --kid)
            if (k.slot_[kid] != 0) {
                k.signing_kid_ = static_cast<std::uint8_t>(kid);
                break;
            }
    }

    if (trim(user_index_key).empty()) throw keyring_error("no user index key configured");
    k.user_index_key_ = decode_key(trim(user_index_key), "user index key");
    for (const auto& t : k.keys_)
        if (equal_ct(t.view(), k.user_index_key_.view()))
            throw keyring_error("user index key must be a separate secret, not one of the token keys");
    k.derive_record_keys();
    return k;
}

keyring keyring::make_ephemeral() {
    auto random_key = [] {
        secret_bytes key(min_key_size);
        random_bytes(std::span(key.data(), key.size()));
        return key;
    };
    keyring k;
    k.keys_.push_back(random_key());
    k.slot_[1] = 1;
    k.signing_kid_ = 1;
    k.user_index_key_ = random_key();
    k.derive_record_keys();
    return k;
}

void keyring::derive_record_keys() {
    static constexpr std::string_view label = "sessiond record key";
    record_keys_.clear();
    for (const auto& key : keys_) {
        auto mac = hmac_sha256(key.view(), as_bytes(label));
        record_keys_.emplace_back(std::vector<std::uint8_t>(mac.begin(), mac.end()));
        secure_wipe(mac);
    }
}

std::string keyring::user_index_fingerprint() const {
    static constexpr std::string_view label = "sessiond user index key fingerprint";
    const auto mac = hmac_sha256(user_index_key_.view(), as_bytes(label));
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 16; ++i) {
        out += digits[mac[i] >> 4];
        out += digits[mac[i] & 15];
    }
    return out;
}

bytes_view keyring::record_key(std::uint8_t kid) const noexcept {
    const unsigned slot = slot_[kid];
    return slot == 0 ? bytes_view{} : record_keys_[slot - 1].view();
}

bytes_view keyring::key(std::uint8_t kid) const noexcept {
    const unsigned slot = slot_[kid];
    return slot == 0 ? bytes_view{} : keys_[slot - 1].view();
}

std::vector<std::uint8_t> keyring::kids() const {
    std::vector<std::uint8_t> out;
    for (unsigned kid = 1; kid <= 255; ++kid)
        if (slot_[kid] != 0) out.push_back(static_cast<std::uint8_t>(kid));
    return out;
}

std::uint16_t keyring::user_bucket(std::string_view user_id) const {
    const sha256_digest mac = hmac_sha256(user_index_key_.view(), as_bytes(user_id));
    return static_cast<std::uint16_t>((mac[0] << 8 | mac[1]) % bucket_count);
}

secret_array<32> keyring::derive_secret(std::string_view context, bytes_view secret, std::string_view salt) const {
    // Built at its final size, so no outgrown buffer keeps a copy; wiped when it goes.
    wiped_bytes message(context.size() + 1 + secret.size() + salt.size());
    std::uint8_t* at = std::copy(context.begin(), context.end(), message.data());
    *at++ = 0;
    at = std::copy(secret.begin(), secret.end(), at);
    std::copy(salt.begin(), salt.end(), at);
    sha256_digest mac = hmac_sha256(user_index_key_.view(), message.view());
    secret_array<32> out;
    std::copy(mac.begin(), mac.end(), out.begin());
    secure_wipe(mac);
    return out;
}

std::string keyring::user_index_name(std::string_view user_id) const {
    // A different message than the bucket's, so the two values are independent.
    std::string message = "index:";
    message.append(user_id);
    const sha256_digest mac = hmac_sha256(user_index_key_.view(), as_bytes(message));
    return base64url_encode(bytes_view(mac.data(), user_index_name_bytes));
}

}  // namespace sessiond::session
