#pragma once
// The stores' metric families: Redis operations (latency, failures, in
// flight), the validation cache, the stored records refused, a full
// embedded store.

#include <cstddef>
#include <cstdint>

#include "common/metrics.hpp"
#include "redis/redis_metrics.hpp"

namespace sessiond::metrics {

// What the Redis store asks of Redis, one label each.
enum class redis_op : std::size_t {
    get,
    create,
    replace,
    remove,
    list,
    remove_user,
    check_index_key,
    claim,
    not_before,
    set_not_before,
    provider_index,  // the OIDC back-channel logout's index of provider sessions
    events,          // reads of the session events' streams
    webhooks,        // the webhook deliverers' leases and progress
};

void observe_redis(redis_op op, std::uint64_t duration_us) noexcept;
void count_redis_failure(redis_failure why) noexcept;
// From a write sent by this instance to Redis' invalidation of its key arriving.
void observe_invalidation_delay(std::uint64_t duration_us) noexcept;

extern const counter_family redis_in_flight;        // gauge: this thread's operations awaiting their reply
extern const counter_family store_full;             // creates refused by a full embedded store
extern const counter_family records_forged;         // refused: seal wrong, malformed, user outside the bucket
extern const counter_family records_unsigned;       // format-2 (unsealed) records refused
extern const counter_family records_unsigned_read;  // format-2 records read while accepted (a rolling upgrade)
extern const counter_family records_unreadable;     // records of a newer format than this version reads
extern const counter_family cache_hits;             // validations answered from the validation cache
extern const counter_family cache_misses;           // validations that read Redis while the cache could be used
extern const counter_family cache_blind;          // validations that read Redis: invalidation not established or fresh
extern const counter_family cache_invalidations;  // invalidations received for session keys
extern const counter_family cache_flushes;        // every entry dropped (link lost, topology change, Redis flushed)
extern const counter_family cache_entries;        // gauge: this thread's entries

}  // namespace sessiond::metrics
