#include "store/store_metrics.hpp"

#include <array>
#include <string_view>

namespace sessiond::metrics {

namespace {

constexpr std::array<std::string_view, 13> redis_op_names = {
    "get",   "create",     "replace",        "remove",         "list",   "remove_user", "check_index_key",
    "claim", "not_before", "set_not_before", "provider_index", "events", "webhooks"};

// Redis operation latency buckets in microseconds (upper bounds).
constexpr std::array<std::uint64_t, 11> redis_bounds_us = {50,    100,    250,    500,     1000,     2500,
                                                           5'000, 10'000, 50'000, 250'000, 1'000'000};

// Invalidation delay buckets in microseconds (upper bounds).
constexpr std::array<std::uint64_t, 10> invalidation_bounds_us = {100,   250,    500,    1000,    2500,
                                                                  5'000, 10'000, 25'000, 100'000, 1'000'000};

const histogram_family redis_operation_duration{
    "sessiond_redis_operation_duration_seconds",
    "Redis store operations (one command or script each), from sent to answered, by operation.", redis_bounds_us,
    "operation", redis_op_names};

const counter_family redis_errors{"sessiond_redis_errors_total", "Redis store operations that failed, by kind.",
                                  type::counter, "kind", redis_failure_names};

const histogram_family invalidation_delay{
    "sessiond_cache_invalidation_delay_seconds",
    "From a write sent by this instance to Redis' invalidation of its key arriving.", invalidation_bounds_us};

}  // namespace

void observe_redis(redis_op op, std::uint64_t duration_us) noexcept {
    redis_operation_duration.observe(duration_us, static_cast<std::size_t>(op));
}

void count_redis_failure(redis_failure why) noexcept {
    redis_errors.local(why).inc();
}

void observe_invalidation_delay(std::uint64_t duration_us) noexcept {
    invalidation_delay.observe(duration_us);
}

const counter_family redis_in_flight{"sessiond_redis_operations_in_flight",
                                     "Redis store operations sent and not yet answered.", type::gauge};
const counter_family store_full{"sessiond_store_full_total", "Creates refused because the embedded store was full."};
const counter_family records_forged{
    "sessiond_store_records_forged_total",
    "Stored session records refused as not written by sessiond (seal, format or bucket wrong): tampering or "
    "corruption in the store."};
const counter_family records_unsigned{
    "sessiond_store_records_unsigned_total",
    "Format-2 (unsealed) session records refused because record-accept-unsigned is off."};
const counter_family records_unsigned_read{
    "sessiond_store_records_unsigned_read_total",
    "Format-2 (unsealed) session records read while record-accept-unsigned is on."};
const counter_family records_unreadable{"sessiond_store_records_unreadable_total",
                                        "Session records of a newer format than this version reads."};
const counter_family cache_hits{"sessiond_cache_hits_total", "Validations answered from the validation cache."};
const counter_family cache_misses{"sessiond_cache_misses_total",
                                  "Validations that read Redis and could fill the cache."};
const counter_family cache_blind{
    "sessiond_cache_blind_total",
    "Validations that read Redis because invalidation was not established or not heard from recently."};
const counter_family cache_invalidations{"sessiond_cache_invalidations_total",
                                         "Invalidations of session keys received from Redis."};
const counter_family cache_flushes{
    "sessiond_cache_flushes_total",
    "Validation cache flushes (an invalidation link lost, a topology change, Redis flushed)."};
const counter_family cache_entries{"sessiond_cache_entries",
                                   "Session records in the validation cache (all I/O threads).", type::gauge};

}  // namespace sessiond::metrics
