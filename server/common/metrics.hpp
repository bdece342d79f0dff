#pragma once
// Process-wide counters in the Prometheus text format, kept per thread: each
// thread that counts gets its own shard, on cache lines of its own, so an
// increment on the request path is a plain load and store that never
// contends with another I/O thread. render() sums the shards.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sessiond::metrics {

// Written by one thread (the shard's), read by render() on any thread.
struct counter {
    std::atomic<std::uint64_t> value{0};
    void inc(std::uint64_t n = 1) noexcept {
        value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // For a per-thread gauge (the shards' values are summed).
    void set(std::uint64_t v) noexcept { value.store(v, std::memory_order_relaxed); }
    void dec() noexcept { value.store(value.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

// Request latency buckets in microseconds (upper bounds), cumulative on output.
inline constexpr std::array<std::uint64_t, 12> latency_bounds_us = {
    100, 250, 500, 1000, 2500, 5000, 10'000, 25'000, 100'000, 250'000, 1'000'000, 5'000'000};

// Redis operation latency buckets in microseconds (upper bounds).
inline constexpr std::array<std::uint64_t, 11> redis_bounds_us = {50,    100,    250,    500,     1000,     2500,
                                                                  5'000, 10'000, 50'000, 250'000, 1'000'000};

// Request latency is kept per route template: routes are registered once
// (register_route, by the router as routes are added), at most max_routes;
// slot 0 is every request no registered route matched.
inline constexpr std::size_t max_routes = 32;

// What the Redis store asks of Redis, one label each.
enum class redis_op : std::size_t { get, create, replace, remove, list, remove_user, check_index_key, claim, count_ };
inline constexpr std::size_t redis_op_count = static_cast<std::size_t>(redis_op::count_);

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
    count_
};
inline constexpr std::size_t redis_failure_count = static_cast<std::size_t>(redis_failure::count_);

// Invalidation delay buckets in microseconds (upper bounds): from a write sent
// by this instance to Redis' invalidation of its key arriving.
inline constexpr std::array<std::uint64_t, 10> invalidation_bounds_us = {100,   250,    500,    1000,    2500,
                                                                         5'000, 10'000, 25'000, 100'000, 1'000'000};

// Why a presented session token was refused (401 invalid_session). A caller
// gets one neutral detail for all of them; operators tell them apart here.
enum class token_refusal : std::size_t {
    malformed,        // length, encoding, version or prefix
    unknown_key,      // key id not accepted
    bad_tag,          // forged or mangled
    unknown_session,  // no live session under the id (unknown, expired, revoked)
    wrong_secret,     // the id is live, the secret is neither current nor previous
    expired,          // idle or absolute expiry reached
    reuse,            // a rotated token after its grace: the session was revoked
    not_current,      // a previous token presented to rotate
    count_
};
inline constexpr std::size_t token_refusal_count = static_cast<std::size_t>(token_refusal::count_);

// Why a signed assertion was refused at redemption (401 invalid_assertion,
// or 409 assertion_used).
enum class assertion_refusal : std::size_t {
    malformed,      // not a compact JWS of JSON objects, or a claim missing or mistyped
    algorithm,      // alg none, HS*, or not the alg of the key named
    unknown_key,    // kid not in the key set
    signature,      // the signature does not verify
    issuer,         // iss is not this deployment's
    audience,       // aud is not the redeemer's
    expired,        // exp passed
    not_yet_valid,  // nbf or iat in the future
    session,        // the session is gone, expired, or another user's
    used,           // redeemed before
    count_
};
inline constexpr std::size_t assertion_refusal_count = static_cast<std::size_t>(assertion_refusal::count_);

// A cache line on the x86-64 and AArch64 machines sessiond runs on (GCC warns
// that std::hardware_destructive_interference_size may change between versions).
inline constexpr std::size_t cache_line = 64;

// One thread's counts.
struct alignas(cache_line) shard {
    std::array<counter, 6> responses_by_class;  // 1xx..5xx, index = status / 100
    std::array<std::array<counter, latency_bounds_us.size() + 1>, max_routes> latency_buckets;  // [route slot]
    std::array<counter, max_routes> latency_sum_us;
    std::array<counter, token_refusal_count> tokens_refused;          // index = token_refusal
    std::array<counter, assertion_refusal_count> assertions_refused;  // index = assertion_refusal
    std::array<counter, invalidation_bounds_us.size() + 1> invalidation_delay_buckets;
    std::array<std::array<counter, redis_bounds_us.size() + 1>, redis_op_count> redis_buckets;  // [redis_op]
    std::array<counter, redis_op_count> redis_sum_us;
    std::array<counter, redis_failure_count> redis_failures;  // index = redis_failure
    counter connections_accepted;
    counter connections_refused;
    counter connections_reclaimed;  // idle keep-alive connections closed to make room
    counter sessions_created;
    counter sessions_rotated;
    counter sessions_revoked;
    counter sessions_evicted;
    counter validations_ok;
    counter validations_rejected;
    counter reuse_detected;
    counter reuse_revocations_failed;  // a reused token's session could not be removed
    counter touches_skipped;           // a due touch lost every compare-and-set attempt
    counter rotation_conflicts;        // a rotation's compare-and-set lost to another write (retried)
    counter store_errors;
    counter store_full;                   // creates refused by a full embedded store
    counter exceptions_contained;         // escaped a detached coroutine or handler, logged, the work went on
    counter rotations_replayed;           // retries of a written rotation answered with its token
    counter records_forged;               // stored records refused: seal wrong, malformed, user outside the bucket
    counter records_unsigned;             // format-2 (unsealed) records refused
    counter records_unsigned_read;        // format-2 records read while accepted (a rolling upgrade)
    counter records_unreadable;           // records of a newer format than this version reads
    counter redis_failovers;              // the primary named by the sentinels changed
    counter redis_moves;                  // MOVED redirects followed
    counter redis_asks;                   // ASK redirects followed
    counter redis_redirects_refused;      // MOVED/ASK to an address that is not a cluster member
    counter redis_cluster_retries;        // TRYAGAIN, CLUSTERDOWN, LOADING retried after a pause
    counter redis_topology_refreshes;     // slot maps or primaries asked for
    counter redis_writes_unacknowledged;  // WAIT: a write not acknowledged by enough replicas in time
    counter tls_handshakes_failed;        // HTTPS connections that ended in their handshake
    counter tls_reloads;                  // certificate reloads that took effect
    counter tls_reloads_failed;           // certificate reloads refused (the old one stays)
    counter invalidation_delay_sum_us;
    counter cache_hits;             // validations answered from the validation cache
    counter cache_misses;           // validations that read Redis while the cache could be used
    counter cache_blind;            // validations that read Redis because invalidation was not established or fresh
    counter cache_invalidations;    // invalidations received for session keys
    counter cache_flushes;          // every entry dropped (link lost, topology change, Redis flushed)
    counter cache_entries;          // gauge: this thread's entries
    counter cache_tracking;         // gauge: 1 while this thread's invalidation links are established
    counter redis_reconnects;       // Redis connections made again after one failed
    counter redis_in_flight;        // gauge: Redis operations of this thread awaiting their reply
    counter config_reloads;         // SIGHUP reloads that took effect
    counter config_reloads_failed;  // SIGHUP reloads refused (the configuration in use stays)
    counter assertions_minted;      // signed assertions issued (mint and forward auth)
    counter assertions_redeemed;    // assertions redeemed (first use)
    // A new counter goes here, and into single_counters in metrics.cpp.
};

// The calling thread's shard (registered on its first use; it counts on
// after the thread ends, and a later thread reuses it).
shard& get();

// The slot of a route template (any thread; at start-up): 0 when all are taken.
std::size_t register_route(std::string_view route_template);
// The slot a registered route has, else 0.
std::size_t route_slot(std::string_view route_template) noexcept;

void observe_request(unsigned status, std::uint64_t duration_us, std::string_view route = {}) noexcept;
void observe_redis(redis_op op, std::uint64_t duration_us) noexcept;
void count_redis_failure(redis_failure why) noexcept;
void count_refusal(token_refusal why) noexcept;
void count_refusal(assertion_refusal why) noexcept;
void observe_invalidation_delay(std::uint64_t duration_us) noexcept;

// The process_* families Prometheus' client libraries export (resident and
// virtual memory, open and maximum descriptors, CPU seconds, start time),
// read from /proc; empty where /proc cannot be read.
std::string process_metrics();

// The exposition text, with gauges supplied by the caller; `extra` (whole
// metric families in the text format) is appended.
std::string render(std::uint64_t open_connections, bool store_ready, std::string_view extra = {});

}  // namespace sessiond::metrics
