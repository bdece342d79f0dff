#include "common/metrics.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <iterator>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace sessiond::metrics {

namespace {

// Every shard ever handed out, and those whose thread has ended. Taken once
// per thread and by render(), never on the request path.
struct shards {
    std::mutex mutex;
    std::vector<std::unique_ptr<shard>> all;
    std::vector<shard*> unused;

    static shards& instance() {
        static shards s;
        return s;
    }
    shard* acquire() {
        std::lock_guard lock(mutex);
        if (!unused.empty()) {
            shard* s = unused.back();
            unused.pop_back();
            return s;
        }
        return all.emplace_back(std::make_unique<shard>()).get();
    }
    void release(shard* s) {
        std::lock_guard lock(mutex);
        unused.push_back(s);
    }
};

// Returns the thread's shard to the pool at thread exit; its counts stay.
struct thread_shard {
    shard* s = shards::instance().acquire();
    ~thread_shard() { shards::instance().release(s); }
};

// The counters of a shard outside its arrays: a counter added to shard is
// summed (and so rendered) only once it is listed here.
// clang-format off
constexpr counter shard::*single_counters[] = {
    &shard::latency_sum_us,
    &shard::connections_accepted,
    &shard::connections_refused,
    &shard::connections_reclaimed,
    &shard::sessions_created,
    &shard::sessions_rotated,
    &shard::sessions_revoked,
    &shard::sessions_evicted,
    &shard::validations_ok,
    &shard::validations_rejected,
    &shard::reuse_detected,
    &shard::reuse_revocations_failed,
    &shard::touches_skipped,
    &shard::rotation_conflicts,
    &shard::store_errors,
    &shard::store_full,
    &shard::exceptions_contained,
    &shard::rotations_replayed,
    &shard::records_forged,
    &shard::records_unsigned,
    &shard::records_unsigned_read,
    &shard::records_unreadable,
    &shard::redis_failovers,
    &shard::redis_moves,
    &shard::redis_asks,
    &shard::redis_cluster_retries,
    &shard::redis_topology_refreshes,
    &shard::redis_writes_unacknowledged,
    &shard::tls_handshakes_failed,
    &shard::tls_reloads,
    &shard::tls_reloads_failed,
    &shard::invalidation_delay_sum_us,
    &shard::cache_hits,
    &shard::cache_misses,
    &shard::cache_blind,
    &shard::cache_invalidations,
    &shard::cache_flushes,
    &shard::cache_entries,
    &shard::cache_tracking,
};
// clang-format on
// A counter appended to shard (after cache_tracking, its last member) but
// not listed above fails here.
static_assert(offsetof(shard, cache_tracking) + sizeof(counter) ==
                  sizeof(shard::responses_by_class) + sizeof(shard::latency_buckets) + sizeof(shard::tokens_refused) +
                      sizeof(shard::invalidation_delay_buckets) + std::size(single_counters) * sizeof(counter),
              "every single counter of shard must be listed in single_counters");
// The sum of every shard.
void sum(shard& total) {
    auto& pool = shards::instance();
    std::lock_guard lock(pool.mutex);
    for (const auto& p : pool.all) {
        const shard& s = *p;
        for (std::size_t i = 0; i < s.responses_by_class.size(); ++i)
            total.responses_by_class[i].inc(s.responses_by_class[i].get());
        for (std::size_t i = 0; i < s.latency_buckets.size(); ++i)
            total.latency_buckets[i].inc(s.latency_buckets[i].get());
        for (std::size_t i = 0; i < s.tokens_refused.size(); ++i)
            total.tokens_refused[i].inc(s.tokens_refused[i].get());
        for (std::size_t i = 0; i < s.invalidation_delay_buckets.size(); ++i)
            total.invalidation_delay_buckets[i].inc(s.invalidation_delay_buckets[i].get());
        for (auto member : single_counters)
            (total.*member).inc((s.*member).get());
    }
}

}  // namespace

shard& get() {
    thread_local thread_shard mine;
    return *mine.s;
}

void observe_request(unsigned status, std::uint64_t duration_us) noexcept {
    auto& r = get();
    r.responses_by_class[std::min<unsigned>(status / 100, 5)].inc();
    std::size_t i = 0;
    while (i < latency_bounds_us.size() && duration_us > latency_bounds_us[i])
        ++i;
    r.latency_buckets[i].inc();
    r.latency_sum_us.inc(duration_us);
}

void observe_invalidation_delay(std::uint64_t duration_us) noexcept {
    auto& r = get();
    std::size_t i = 0;
    while (i < invalidation_bounds_us.size() && duration_us > invalidation_bounds_us[i])
        ++i;
    r.invalidation_delay_buckets[i].inc();
    r.invalidation_delay_sum_us.inc(duration_us);
}

void count_refusal(token_refusal why) noexcept {
    get().tokens_refused[std::min(static_cast<std::size_t>(why), token_refusal_count - 1)].inc();
}

std::string render(std::uint64_t open_connections, bool store_ready, std::string_view extra) {
    shard r;
    sum(r);
    std::string out;
    auto it = std::back_inserter(out);
    auto simple = [&](const char* name, const char* type, const char* help, std::uint64_t v) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
    };
    out +=
        "# HELP sessiond_http_responses_total HTTP responses by status class.\n"
        "# TYPE sessiond_http_responses_total counter\n";
    for (unsigned c = 1; c <= 5; ++c)
        fmt::format_to(it, "sessiond_http_responses_total{{code=\"{}xx\"}} {}\n", c, r.responses_by_class[c].get());
    // A histogram in seconds from microsecond buckets (the last one +Inf).
    auto histogram = [&](const char* name, const char* help, std::span<const std::uint64_t> bounds_us,
                         std::span<const counter> buckets, const counter& sum_us) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bounds_us.size(); ++i) {
            cumulative += buckets[i].get();
            fmt::format_to(it, "{}_bucket{{le=\"{}\"}} {}\n", name, static_cast<double>(bounds_us[i]) / 1e6,
                           cumulative);
        }
        cumulative += buckets.back().get();
        fmt::format_to(it, "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
        fmt::format_to(it, "{}_sum {}\n", name, static_cast<double>(sum_us.get()) / 1e6);
        fmt::format_to(it, "{}_count {}\n", name, cumulative);
    };
    histogram("sessiond_http_request_duration_seconds", "Time from request start to response written.",
              latency_bounds_us, r.latency_buckets, r.latency_sum_us);
    simple("sessiond_http_connections_open", "gauge", "Open client connections.", open_connections);
    simple("sessiond_http_connections_accepted_total", "counter", "Accepted client connections.",
           r.connections_accepted.get());
    simple("sessiond_http_connections_refused_total", "counter", "Connections refused at the limit.",
           r.connections_refused.get());
    simple("sessiond_http_connections_reclaimed_total", "counter",
           "Idle keep-alive connections closed to make room for new ones at the limit.", r.connections_reclaimed.get());
    simple("sessiond_sessions_created_total", "counter", "Sessions created.", r.sessions_created.get());
    simple("sessiond_sessions_rotated_total", "counter", "Session tokens rotated.", r.sessions_rotated.get());
    simple("sessiond_sessions_revoked_total", "counter", "Sessions revoked (by token, id, or user).",
           r.sessions_revoked.get());
    simple("sessiond_sessions_evicted_total", "counter", "Sessions evicted by the per-user limit.",
           r.sessions_evicted.get());
    simple("sessiond_validations_ok_total", "counter", "Successful validations (validate and auth).",
           r.validations_ok.get());
    simple("sessiond_validations_rejected_total", "counter", "Rejected validations (401).",
           r.validations_rejected.get());
    out +=
        "# HELP sessiond_tokens_refused_total Session tokens refused (401 invalid_session), by reason.\n"
        "# TYPE sessiond_tokens_refused_total counter\n";
    static constexpr const char* refusal_names[token_refusal_count] = {
        "malformed", "unknown_key", "bad_tag", "unknown_session", "wrong_secret", "expired", "reuse", "not_current"};
    for (std::size_t i = 0; i < token_refusal_count; ++i)
        fmt::format_to(it, "sessiond_tokens_refused_total{{reason=\"{}\"}} {}\n", refusal_names[i],
                       r.tokens_refused[i].get());
    simple("sessiond_token_reuse_detected_total", "counter", "Rotated tokens presented after the grace period.",
           r.reuse_detected.get());
    simple("sessiond_token_reuse_revocations_failed_total", "counter",
           "Sessions of reused tokens that the store failed to revoke.", r.reuse_revocations_failed.get());
    simple("sessiond_session_touches_skipped_total", "counter",
           "Validations whose due idle extension lost every compare-and-set attempt.", r.touches_skipped.get());
    simple("sessiond_session_rotation_conflicts_total", "counter",
           "Rotation writes that lost to a concurrent write of the same session and were retried.",
           r.rotation_conflicts.get());
    simple("sessiond_session_rotations_replayed_total", "counter",
           "Rotation retries (same idempotency key) answered with the token of the rotation already written.",
           r.rotations_replayed.get());
    simple("sessiond_store_errors_total", "counter", "Store operations that failed (503).", r.store_errors.get());
    simple("sessiond_store_full_total", "counter", "Creates refused because the embedded store was full.",
           r.store_full.get());
    simple("sessiond_store_records_forged_total", "counter",
           "Stored session records refused as not written by sessiond (seal, format or bucket wrong): tampering "
           "or corruption in the store.",
           r.records_forged.get());
    simple("sessiond_store_records_unsigned_total", "counter",
           "Format-2 (unsealed) session records refused because record-accept-unsigned is off.",
           r.records_unsigned.get());
    simple("sessiond_store_records_unsigned_read_total", "counter",
           "Format-2 (unsealed) session records read while record-accept-unsigned is on.",
           r.records_unsigned_read.get());
    simple("sessiond_store_records_unreadable_total", "counter",
           "Session records of a newer format than this version reads.", r.records_unreadable.get());
    simple("sessiond_exceptions_contained_total", "counter",
           "Exceptions that escaped a detached coroutine or handler: logged, the work restarted or ended.",
           r.exceptions_contained.get());
    simple("sessiond_redis_failovers_total", "counter",
           "Changes of the Redis primary seen (Sentinel), counted by each I/O thread.", r.redis_failovers.get());
    out +=
        "# HELP sessiond_redis_redirects_total Redis Cluster redirects followed, by kind.\n"
        "# TYPE sessiond_redis_redirects_total counter\n";
    fmt::format_to(it, "sessiond_redis_redirects_total{{kind=\"moved\"}} {}\n", r.redis_moves.get());
    fmt::format_to(it, "sessiond_redis_redirects_total{{kind=\"ask\"}} {}\n", r.redis_asks.get());
    simple("sessiond_redis_cluster_retries_total", "counter",
           "Redis Cluster commands retried after TRYAGAIN, CLUSTERDOWN or LOADING.", r.redis_cluster_retries.get());
    simple("sessiond_redis_topology_refreshes_total", "counter",
           "Slot maps (Cluster) or primaries (Sentinel) asked for.", r.redis_topology_refreshes.get());
    simple("sessiond_redis_writes_unacknowledged_total", "counter",
           "Writes not acknowledged by redis-wait-replicas replicas in time (answered 503).",
           r.redis_writes_unacknowledged.get());
    simple("sessiond_tls_handshakes_failed_total", "counter", "HTTPS connections that ended in their TLS handshake.",
           r.tls_handshakes_failed.get());
    out +=
        "# HELP sessiond_tls_reloads_total Certificate reloads (SIGHUP), by result: a failed one keeps the old "
        "certificate.\n"
        "# TYPE sessiond_tls_reloads_total counter\n";
    fmt::format_to(it, "sessiond_tls_reloads_total{{result=\"ok\"}} {}\n", r.tls_reloads.get());
    fmt::format_to(it, "sessiond_tls_reloads_total{{result=\"failed\"}} {}\n", r.tls_reloads_failed.get());
    simple("sessiond_cache_hits_total", "counter", "Validations answered from the validation cache.",
           r.cache_hits.get());
    simple("sessiond_cache_misses_total", "counter", "Validations that read Redis and could fill the cache.",
           r.cache_misses.get());
    simple("sessiond_cache_blind_total", "counter",
           "Validations that read Redis because invalidation was not established or not heard from recently.",
           r.cache_blind.get());
    simple("sessiond_cache_invalidations_total", "counter", "Invalidations of session keys received from Redis.",
           r.cache_invalidations.get());
    simple("sessiond_cache_flushes_total", "counter",
           "Validation cache flushes (an invalidation link lost, a topology change, Redis flushed).",
           r.cache_flushes.get());
    simple("sessiond_cache_entries", "gauge", "Session records in the validation cache (all I/O threads).",
           r.cache_entries.get());
    simple("sessiond_cache_tracking_threads", "gauge",
           "I/O threads whose invalidation links to every Redis primary are established.", r.cache_tracking.get());
    histogram("sessiond_cache_invalidation_delay_seconds",
              "From a write sent by this instance to Redis' invalidation of its key arriving.", invalidation_bounds_us,
              r.invalidation_delay_buckets, r.invalidation_delay_sum_us);
    simple("sessiond_store_ready", "gauge", "1 when the session store is reachable.", store_ready ? 1 : 0);
    out += extra;
    return out;
}

}  // namespace sessiond::metrics
