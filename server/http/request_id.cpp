#include "http/request_id.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <cstdint>
#include <cstdio>

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
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%016llx-%llx", static_cast<unsigned long long>(prefix),
                          static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace sessiond::http
