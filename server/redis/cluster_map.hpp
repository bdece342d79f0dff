#pragma once
// Redis Cluster without I/O: a key's hash slot, the MOVED/ASK redirections,
// and the slot map that CLUSTER SLOTS describes.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "redis/config.hpp"
#include "redis/reply.hpp"

namespace sessiond::redis {

inline constexpr std::size_t cluster_slots = 16384;

// CRC16 (XMODEM) as Redis Cluster uses it.
std::uint16_t crc16(std::string_view data) noexcept;

// The slot of `key`: CRC16 of the hash tag (the text between the first '{'
// and the next '}', when not empty) or of the whole key, modulo 16384.
std::uint16_t key_slot(std::string_view key) noexcept;

// "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>". An empty host
// means the node that answered: `asked_host` is used.
struct redirect {
    bool ask = false;
    std::uint16_t slot = 0;
    endpoint where;
};
std::optional<redirect> parse_redirect(std::string_view message, std::string_view asked_host);

// One range of slots, the primary that serves it and its replicas (those
// not marked failed: Redis leaves them out).
struct slot_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    endpoint primary;
    std::vector<endpoint> replicas;
};
// The reply of CLUSTER SLOTS: [[first, last, [ip, port, id, …], replicas…], …].
// An empty or "?" ip is the node that answered (`asked_host`). nullopt if the
// reply is not shaped so (ranges out of bounds, ports out of range).
std::optional<std::vector<slot_range>> parse_cluster_slots(const reply& r, std::string_view asked_host);

// The members of the cluster as the text of CLUSTER NODES lists them, one
// line a node: "<id> <ip>:<port>@<bus-port>[,<hostname>] <flags> …". Each
// node's address, and its hostname with the same port when it announces one;
// an empty ip is the node that answered (`asked_host`). Nodes still in the
// handshake or without an address are left out. nullopt if the reply is not
// text or a line is not shaped so.
struct cluster_members {
    // Every address of every member: a redirect is followed only to one.
    std::vector<endpoint> addresses;
    // One address (the ip) of each member not marked failed, primary or
    // replica, with or without slots: where the validation cache's
    // invalidation links connect, as any of them may take writes next.
    std::vector<endpoint> live;
};
std::optional<cluster_members> parse_cluster_nodes(const reply& r, std::string_view asked_host);

}  // namespace sessiond::redis
