#include "common/metrics.hpp"

#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <iterator>
#include <memory>
#include <atomic>
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
    &shard::redis_redirects_refused,
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
    &shard::redis_reconnects,
    &shard::redis_in_flight,
    &shard::config_reloads,
    &shard::config_reloads_failed,
    &shard::assertions_minted,
    &shard::assertions_redeemed,
};
// clang-format on
// A counter appended to shard (after assertions_redeemed, its last
// member) but not listed above fails here.
static_assert(offsetof(shard, assertions_redeemed) + sizeof(counter) ==
                  sizeof(shard::responses_by_class) + sizeof(shard::latency_buckets) + sizeof(shard::latency_sum_us) +
                      sizeof(shard::tokens_refused) + sizeof(shard::assertions_refused) +
                      sizeof(shard::invalidation_delay_buckets) + sizeof(shard::redis_buckets) +
                      sizeof(shard::redis_sum_us) + sizeof(shard::redis_failures) +
                      std::size(single_counters) * sizeof(counter),
              "every single counter of shard must be listed in single_counters");
// Adds every counter of `from` to `to`.
template <std::size_t N>
void add(std::array<counter, N>& to, const std::array<counter, N>& from) {
    for (std::size_t i = 0; i < N; ++i)
        to[i].inc(from[i].get());
}
template <std::size_t N, std::size_t M>
void add(std::array<std::array<counter, N>, M>& to, const std::array<std::array<counter, N>, M>& from) {
    for (std::size_t i = 0; i < M; ++i)
        add(to[i], from[i]);
}

// The route templates by slot; slot 0 is "other". A slot's name is written
// once, before the count that publishes it.
struct route_names {
    std::mutex mutex;
    std::array<std::string, max_routes> names{"other"};
    std::atomic<std::size_t> count{1};

    static route_names& instance() {
        static route_names r;
        return r;
    }
};

// The sum of every shard.
void sum(shard& total) {
    auto& pool = shards::instance();
    std::lock_guard lock(pool.mutex);
    for (const auto& p : pool.all) {
        const shard& s = *p;
        add(total.responses_by_class, s.responses_by_class);
        add(total.latency_buckets, s.latency_buckets);
        add(total.latency_sum_us, s.latency_sum_us);
        add(total.tokens_refused, s.tokens_refused);
        add(total.assertions_refused, s.assertions_refused);
        add(total.invalidation_delay_buckets, s.invalidation_delay_buckets);
        add(total.redis_buckets, s.redis_buckets);
        add(total.redis_sum_us, s.redis_sum_us);
        add(total.redis_failures, s.redis_failures);
        for (auto member : single_counters)
            (total.*member).inc((s.*member).get());
    }
}

}  // namespace

shard& get() {
    thread_local thread_shard mine;
    return *mine.s;
}

namespace {

// The bucket of a duration: the first bound it does not exceed, else the last (+Inf).
template <std::size_t N>
std::size_t bucket(const std::array<std::uint64_t, N>& bounds, std::uint64_t us) noexcept {
    std::size_t i = 0;
    while (i < N && us > bounds[i])
        ++i;
    return i;
}

}  // namespace

std::size_t register_route(std::string_view route_template) {
    auto& r = route_names::instance();
    std::lock_guard lock(r.mutex);
    const std::size_t n = r.count.load(std::memory_order_relaxed);
    for (std::size_t i = 1; i < n; ++i)
        if (r.names[i] == route_template) return i;
    if (n == max_routes) return 0;
    r.names[n] = std::string(route_template);
    r.count.store(n + 1, std::memory_order_release);
    return n;
}

std::size_t route_slot(std::string_view route_template) noexcept {
    const auto& r = route_names::instance();
    const std::size_t n = r.count.load(std::memory_order_acquire);
    for (std::size_t i = 1; i < n; ++i)
        if (r.names[i] == route_template) return i;
    return 0;
}

void observe_request(unsigned status, std::uint64_t duration_us, std::string_view route) noexcept {
    auto& r = get();
    r.responses_by_class[std::min<unsigned>(status / 100, 5)].inc();
    const std::size_t slot = route.empty() ? 0 : route_slot(route);
    r.latency_buckets[slot][bucket(latency_bounds_us, duration_us)].inc();
    r.latency_sum_us[slot].inc(duration_us);
}

void observe_redis(redis_op op, std::uint64_t duration_us) noexcept {
    auto& r = get();
    const auto i = std::min(static_cast<std::size_t>(op), redis_op_count - 1);
    r.redis_buckets[i][bucket(redis_bounds_us, duration_us)].inc();
    r.redis_sum_us[i].inc(duration_us);
}

void count_redis_failure(redis_failure why) noexcept {
    get().redis_failures[std::min(static_cast<std::size_t>(why), redis_failure_count - 1)].inc();
}

void observe_invalidation_delay(std::uint64_t duration_us) noexcept {
    auto& r = get();
    r.invalidation_delay_buckets[bucket(invalidation_bounds_us, duration_us)].inc();
    r.invalidation_delay_sum_us.inc(duration_us);
}

void count_refusal(token_refusal why) noexcept {
    get().tokens_refused[std::min(static_cast<std::size_t>(why), token_refusal_count - 1)].inc();
}

void count_refusal(assertion_refusal why) noexcept {
    get().assertions_refused[std::min(static_cast<std::size_t>(why), assertion_refusal_count - 1)].inc();
}

std::string process_metrics() {
    std::string out;
    auto it = std::back_inserter(out);
    auto gauge = [&](const char* name, const char* type, const char* help, double v) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
    };
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (ticks > 0 && std::getline(stat, line)) {
        // The fields after the command name, which is in parentheses and may hold spaces.
        const auto close = line.rfind(')');
        std::istringstream rest(close == std::string::npos ? std::string() : line.substr(close + 2));
        std::vector<std::string> f{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
        // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
        if (f.size() > 21) {
            const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
            gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
            gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(f[20]));
            gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(f[21]) * page);
            std::ifstream boot("/proc/stat");
            for (std::string l; std::getline(boot, l);)
                if (l.starts_with("btime ")) {
                    gauge("process_start_time_seconds", "gauge",
                          "Start time of the process since unix epoch in seconds.",
                          std::stod(l.substr(6)) + std::stod(f[19]) / ticks);
                    break;
                }
        }
    }
    std::error_code ec;
    std::size_t fds = 0;
    for (auto d = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && d != std::filesystem::directory_iterator(); d.increment(ec))
        ++fds;
    if (!ec) gauge("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(fds));
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
        gauge("process_max_fds", "gauge", "Maximum number of open file descriptors.",
              static_cast<double>(limit.rlim_cur));
    return out;
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
    // One series of a histogram in seconds from microsecond buckets (the
    // last one +Inf); `label` is `key="value",` or empty.
    auto series = [&](const char* name, std::string_view label, std::span<const std::uint64_t> bounds_us,
                      std::span<const counter> buckets, const counter& sum_us) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bounds_us.size(); ++i) {
            cumulative += buckets[i].get();
            fmt::format_to(it, "{}_bucket{{{}le=\"{}\"}} {}\n", name, label, static_cast<double>(bounds_us[i]) / 1e6,
                           cumulative);
        }
        cumulative += buckets.back().get();
        fmt::format_to(it, "{}_bucket{{{}le=\"+Inf\"}} {}\n", name, label, cumulative);
        const std::string_view bare = label.empty() ? label : label.substr(0, label.size() - 1);
        const char* open = bare.empty() ? "" : "{";
        const char* close = bare.empty() ? "" : "}";
        fmt::format_to(it, "{}_sum{}{}{} {}\n", name, open, bare, close, static_cast<double>(sum_us.get()) / 1e6);
        fmt::format_to(it, "{}_count{}{}{} {}\n", name, open, bare, close, cumulative);
    };
    auto histogram = [&](const char* name, const char* help, std::span<const std::uint64_t> bounds_us,
                         std::span<const counter> buckets, const counter& sum_us) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
        series(name, {}, bounds_us, buckets, sum_us);
    };
    out +=
        "# HELP sessiond_http_request_duration_seconds Time from request start to response written, by route "
        "template (\"other\": no route matched).\n"
        "# TYPE sessiond_http_request_duration_seconds histogram\n";
    const std::size_t routes = route_names::instance().count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < routes; ++i)
        series("sessiond_http_request_duration_seconds", fmt::format("route=\"{}\",", route_names::instance().names[i]),
               latency_bounds_us, r.latency_buckets[i], r.latency_sum_us[i]);
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
    simple("sessiond_assertions_minted_total", "counter", "Signed assertions issued (mint and forward auth).",
           r.assertions_minted.get());
    simple("sessiond_assertions_redeemed_total", "counter", "Signed assertions redeemed (their first use).",
           r.assertions_redeemed.get());
    out +=
        "# HELP sessiond_assertions_refused_total Signed assertions refused at redemption, by reason.\n"
        "# TYPE sessiond_assertions_refused_total counter\n";
    static constexpr const char* assertion_refusal_names[assertion_refusal_count] = {
        "malformed", "algorithm", "unknown_key",   "signature", "issuer",
        "audience",  "expired",   "not_yet_valid", "session",   "used"};
    for (std::size_t i = 0; i < assertion_refusal_count; ++i)
        fmt::format_to(it, "sessiond_assertions_refused_total{{reason=\"{}\"}} {}\n", assertion_refusal_names[i],
                       r.assertions_refused[i].get());
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
    simple("sessiond_redis_redirects_refused_total", "counter",
           "Redis Cluster redirects refused: the address named is not a member of the cluster.",
           r.redis_redirects_refused.get());
    simple("sessiond_redis_cluster_retries_total", "counter",
           "Redis Cluster commands retried after TRYAGAIN, CLUSTERDOWN or LOADING.", r.redis_cluster_retries.get());
    simple("sessiond_redis_topology_refreshes_total", "counter",
           "Slot maps (Cluster) or primaries (Sentinel) asked for.", r.redis_topology_refreshes.get());
    simple("sessiond_redis_writes_unacknowledged_total", "counter",
           "Writes not acknowledged by redis-wait-replicas replicas in time (answered 503).",
           r.redis_writes_unacknowledged.get());
    simple("sessiond_tls_handshakes_failed_total", "counter", "HTTPS connections that ended in their TLS handshake.",
           r.tls_handshakes_failed.get());
    // A counter of outcomes, result="ok" and result="failed".
    auto outcomes = [&](const char* name, const char* help, const counter& ok, const counter& failed) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} counter\n", name, help, name);
        fmt::format_to(it, "{}{{result=\"ok\"}} {}\n{}{{result=\"failed\"}} {}\n", name, ok.get(), name, failed.get());
    };
    outcomes("sessiond_tls_reloads_total",
             "Certificate reloads (SIGHUP), by result: a failed one keeps the old certificate.", r.tls_reloads,
             r.tls_reloads_failed);
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
    out +=
        "# HELP sessiond_redis_operation_duration_seconds Redis store operations (one command or script each), "
        "from sent to answered, by operation.\n"
        "# TYPE sessiond_redis_operation_duration_seconds histogram\n";
    static constexpr const char* op_names[redis_op_count] = {"get",  "create",      "replace",         "remove",
                                                             "list", "remove_user", "check_index_key", "claim"};
    for (std::size_t i = 0; i < redis_op_count; ++i)
        series("sessiond_redis_operation_duration_seconds", fmt::format("operation=\"{}\",", op_names[i]),
               redis_bounds_us, r.redis_buckets[i], r.redis_sum_us[i]);
    out +=
        "# HELP sessiond_redis_errors_total Redis store operations that failed, by kind.\n"
        "# TYPE sessiond_redis_errors_total counter\n";
    static constexpr const char* failure_names[redis_failure_count] = {
        "timeout", "connection_lost", "not_connected", "busy",    "unacknowledged", "error_reply",
        "oom",     "noperm",          "rejected",      "protocol"};
    for (std::size_t i = 0; i < redis_failure_count; ++i)
        fmt::format_to(it, "sessiond_redis_errors_total{{kind=\"{}\"}} {}\n", failure_names[i],
                       r.redis_failures[i].get());
    simple("sessiond_redis_reconnects_total", "counter", "Redis connections made again after one failed.",
           r.redis_reconnects.get());
    simple("sessiond_redis_operations_in_flight", "gauge", "Redis store operations sent and not yet answered.",
           r.redis_in_flight.get());
    outcomes("sessiond_config_reloads_total",
             "Configuration reloads (SIGHUP), by result: a failed one keeps the configuration in use.",
             r.config_reloads, r.config_reloads_failed);
    simple("sessiond_store_ready", "gauge", "1 when the session store is reachable.", store_ready ? 1 : 0);
    out += extra;
    return out;
}

}  // namespace sessiond::metrics
