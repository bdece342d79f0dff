#include "redis/script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "common/text.hpp"

namespace sessiond::redis {

std::string sha1_hex(std::string_view text) {
    constexpr int digest_size = 20;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1 || size != digest_size)
        throw std::runtime_error("SHA-1 failed");
    return to_hex(std::span<const std::uint8_t>(digest, digest_size));
}

script::script(std::string source) {
    auto d = std::make_shared<data>();
    d->sha1 = sha1_hex(source);
    d->source = std::move(source);
    data_ = std::move(d);
}

}  // namespace sessiond::redis
