#pragma once
// The Redis client's metric families: redirects, retries, topology
// refreshes, reconnects, invalidation links; and why a Redis operation
// failed, the label of the store's sessiond_redis_errors_total.

#include <array>
#include <cstddef>
#include <string_view>

#include "common/metrics.hpp"

namespace sessiond::metrics {

// Why a Redis operation failed.
enum class redis_failure : std::size_t {
    timeout,          // no reply within redis-command-timeout
    connection_lost,  // the connection failed with the command on it
    not_connected,    // no connection ready to take it
    busy,             // redis-max-in-flight reached
    unacknowledged,   // WAIT: not enough replicas in time
    error_reply,      // Redis answered a failover's error (READONLY, LOADING, TRYAGAIN, …)
    oom,              // Redis refused: out of memory (OOM)
    noperm,           // Redis refused: the ACL user lacks a permission (NOPERM)
    rejected,         // Redis refused the command otherwise (ERR, WRONGTYPE, …)
    protocol,         // a reply sessiond cannot read
};
// Its label values, in its order.
inline constexpr std::array<std::string_view, 10> redis_failure_names = {
    "timeout", "connection_lost", "not_connected", "busy",    "unacknowledged", "error_reply",
    "oom",     "noperm",          "rejected",      "protocol"};

enum class redis_redirect : std::size_t { moved, ask };

extern const counter_family redis_failovers;              // the primary named by the sentinels changed
extern const counter_family redis_redirects;              // MOVED/ASK followed, by redis_redirect
extern const counter_family redis_redirects_refused;      // MOVED/ASK to an address that is not a cluster member
extern const counter_family redis_cluster_retries;        // TRYAGAIN, CLUSTERDOWN, LOADING retried after a pause
extern const counter_family redis_topology_refreshes;     // slot maps or primaries asked for
extern const counter_family redis_writes_unacknowledged;  // WAIT: a write not acknowledged by enough replicas
extern const counter_family redis_reconnects;             // Redis connections made again after one failed
extern const counter_family cache_tracking;  // gauge: 1 while a thread's invalidation links are established

}  // namespace sessiond::metrics
