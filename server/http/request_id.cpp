#include "http/request_id.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace sessiond::http {

bool valid_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > max_request_id_length) return false;
    // Printable ASCII, as the API documents; the parser has already dropped
    // blanks around the value. Log lines and problem bodies escape it.
    return std::all_of(id.begin(), id.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

void make_request_id(std::string& out) {
    static const std::uint64_t prefix = [] {
        std::uint64_t p = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&p), sizeof p) != 1) p = 0x5e551017d;
        return p;
    }();
    // Each thread numbers its requests from blocks of the process's counter:
    // one shared increment per block instead of one per request, whose cache
    // line the I/O threads would pass back and forth.
    static std::atomic<std::uint64_t> counter{0};
    constexpr std::uint64_t block = 1024;
    thread_local std::uint64_t next = 0, end = 0;
    if (next == end) {
        next = counter.fetch_add(block, std::memory_order_relaxed);
        end = next + block;
    }
    std::uint64_t n = next++;
    // "<16 hex digits of prefix>-<counter in hex>", formatted by hand: this
    // runs for every request that brings no id of its own.
    static const char* digits = "0123456789abcdef";
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
    out.assign(buf, static_cast<std::size_t>(p - buf));
}

std::string make_request_id() {
    std::string out;
    make_request_id(out);
    return out;
}

}  // namespace sessiond::http
