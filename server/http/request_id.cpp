#include "http/request_id.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <cstdint>

namespace sessiond::http {

bool valid_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > max_request_id_length) return false;
    for (unsigned char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string make_request_id() {
    static const std::uint64_t prefix = [] {
        std::uint64_t p = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&p), sizeof p) != 1) p = 0x5e551017d;
        return p;
    }();
    static std::atomic<std::uint64_t> counter{0};
    // "<16 hex digits of prefix>-<counter in hex>", formatted by hand: this
    // runs for every request that brings no id of its own.
    static const char* digits = "0123456789abcdef";
    std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
    char buf[40];
    char* p = buf;
    for (int shift = 60; shift >= 0; shift -= 4)
        *p++ = digits[(prefix >> shift) & 15];
    *p++ = '-';
    char tmp[16];
    int len = 0;
    do {
        tmp[len++] = digits[n & 15];
        n >>= 4;
    } while (n);
    while (len)
        *p++ = tmp[--len];
    return std::string(buf, static_cast<std::size_t>(p - buf));
}

}  // namespace sessiond::http
