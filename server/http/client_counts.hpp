#pragma once
// Open connections per client address, shared by the servers of every
// thread, so that one client cannot hold every connection of the process.
//
// A fixed table of atomic counters indexed by a keyed hash of the address
// (an IPv6 client by its /64, which one host usually holds whole): accept
// and close never lock. Two addresses that land in one slot share one cap;
// the hash key is random per process, so no client can aim at another's slot.

#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace sessiond::http {

class client_counts {
public:
    // `cap`: connections per client at most; 0 = no cap (nothing is counted).
    explicit client_counts(std::size_t cap);

    // Counts a new connection from `client` and returns its slot, or nullopt
    // (nothing counted) when the client already holds `cap` connections.
    std::optional<std::size_t> try_add(const boost::asio::ip::address& client);
    // Releases a slot returned by try_add.
    void remove(std::size_t slot);

    // The slot of an uncounted connection (no cap); remove() ignores it.
    static constexpr std::size_t uncounted = SIZE_MAX;

private:
    static constexpr std::size_t slots = 1 << 16;
    std::size_t slot_of(const boost::asio::ip::address& client) const;

    std::size_t cap_;
    std::uint64_t key_;
    std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;
};

}  // namespace sessiond::http
