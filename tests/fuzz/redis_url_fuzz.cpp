// Redis URLs (redis-url): parse_url either refuses or gives a config within
// its documented ranges.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redis/config.hpp"

using namespace sessiond;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view url(reinterpret_cast<const char*>(data), size);
    auto cfg = redis::parse_url(url);
    if (!cfg) return 0;
    if (cfg->host.empty() || cfg->db < 0) std::abort();
    if (cfg->tls != url.starts_with("rediss://")) std::abort();
    return 0;
}
