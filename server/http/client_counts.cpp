#include "http/client_counts.hpp"

#include <random>

namespace sessiond::http {

client_counts::client_counts(std::size_t cap) : cap_(cap), key_(0) {
    if (cap_ == 0) return;
    std::random_device rd;
    key_ = (std::uint64_t{rd()} << 32) ^ rd();
    counts_ = std::make_unique<std::atomic<std::uint32_t>[]>(slots);
}

std::size_t client_counts::slot_of(const boost::asio::ip::address& client) const {
    std::uint64_t h = key_;
    auto mix = [&h](std::uint64_t v) {
        // splitmix64's finalizer over the running state and the next word
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
    };
    namespace ip = boost::asio::ip;
    if (client.is_v6() && !client.to_v6().is_v4_mapped()) {
        std::uint64_t prefix = 0;  // the /64
        auto bytes = client.to_v6().to_bytes();
        for (std::size_t i = 0; i < 8; ++i)
            prefix = (prefix << 8) | bytes[i];
        mix(prefix);
        mix(1);  // apart from IPv4
    } else {
        mix(client.is_v4() ? client.to_v4().to_uint() : ip::make_address_v4(ip::v4_mapped, client.to_v6()).to_uint());
    }
    return static_cast<std::size_t>(h & (slots - 1));
}

std::optional<std::size_t> client_counts::try_add(const boost::asio::ip::address& client) {
    if (cap_ == 0) return uncounted;
    auto slot = slot_of(client);
    auto& count = counts_[slot];
    if (count.fetch_add(1, std::memory_order_relaxed) >= cap_) {
        count.fetch_sub(1, std::memory_order_relaxed);
        return std::nullopt;
    }
    return slot;
}

void client_counts::remove(std::size_t slot) {
    if (slot != uncounted) counts_[slot].fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace sessiond::http
