#include "redis/redis_metrics.hpp"

namespace sessiond::metrics {

namespace {
constexpr std::array<std::string_view, 2> redirect_kinds = {"moved", "ask"};
}  // namespace

const counter_family redis_failovers{"sessiond_redis_failovers_total",
                                     "Changes of the Redis primary seen (Sentinel), counted by each I/O thread."};
const counter_family redis_redirects{"sessiond_redis_redirects_total", "Redis Cluster redirects followed, by kind.",
                                     type::counter, "kind", redirect_kinds};
const counter_family redis_redirects_refused{
    "sessiond_redis_redirects_refused_total",
    "Redis Cluster redirects refused: the address named is not a member of the cluster."};
const counter_family redis_cluster_retries{"sessiond_redis_cluster_retries_total",
                                           "Redis Cluster commands retried after TRYAGAIN, CLUSTERDOWN or LOADING."};
const counter_family redis_topology_refreshes{"sessiond_redis_topology_refreshes_total",
                                              "Slot maps (Cluster) or primaries (Sentinel) asked for."};
const counter_family redis_writes_unacknowledged{
    "sessiond_redis_writes_unacknowledged_total",
    "Writes not acknowledged by redis-wait-replicas replicas in time (answered 503)."};
const counter_family redis_reconnects{"sessiond_redis_reconnects_total",
                                      "Redis connections made again after one failed."};
const counter_family cache_tracking{"sessiond_cache_tracking_threads",
                                    "I/O threads whose invalidation links to every Redis primary are established.",
                                    type::gauge};

}  // namespace sessiond::metrics
