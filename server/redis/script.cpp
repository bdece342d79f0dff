#include "redis/script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace sessiond::redis {

std::string sha1_hex(std::string_view text) {
    constexpr int digest_size = 20;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1 || size != digest_size)
        throw std::runtime_error("SHA-1 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(2 * digest_size, '\0');
    for (int i = 0; i < digest_size; ++i) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0xf];
    }
    return out;
}

script::script(std::string source) {
    auto d = std::make_shared<data>();
    d->sha1 = sha1_hex(source);
    d->source = std::move(source);
    data_ = std::move(d);
}

}  // namespace sessiond::redis
