#include "app/ops_metrics.hpp"

#include <chrono>

#include "common/metrics.hpp"

namespace sessiond::app {

namespace {

// The Redis topology: the mode, and per thread (each keeps its own view)
// the primary in use (Sentinel) or the slot map's coverage (Cluster).
std::string topology_metrics(const std::vector<std::unique_ptr<worker>>& workers) {
    if (workers.empty() || !workers.front()->redis_client) return {};
    std::string out;
    const auto mode = workers.front()->redis_client->status().mode;
    out += "# HELP sessiond_redis_topology The Redis deployment sessiond is configured for.\n";
    out += "# TYPE sessiond_redis_topology gauge\n";
    out += "sessiond_redis_topology{mode=\"" + std::string(redis::to_string(mode)) + "\"} 1\n";
    if (mode == redis::topology::sentinel) {
        out += "# HELP sessiond_redis_primary The primary an I/O thread sends commands to (Sentinel).\n";
        out += "# TYPE sessiond_redis_primary gauge\n";
        for (std::size_t i = 0; i < workers.size(); ++i) {
            const auto st = workers[i]->redis_client->status();
            if (!st.primary.empty())
                out +=
                    "sessiond_redis_primary{thread=\"" + std::to_string(i) + "\",address=\"" + st.primary + "\"} 1\n";
        }
    } else if (mode == redis::topology::cluster) {
        out +=
            "# HELP sessiond_redis_cluster_slots_covered Slots with a known primary in an I/O thread's map (16384 when "
            "whole).\n";
        out += "# TYPE sessiond_redis_cluster_slots_covered gauge\n";
        std::string primaries =
            "# HELP sessiond_redis_cluster_primaries Primaries in an I/O thread's slot map.\n"
            "# TYPE sessiond_redis_cluster_primaries gauge\n";
        for (std::size_t i = 0; i < workers.size(); ++i) {
            const auto st = workers[i]->redis_client->status();
            const std::string label = "{thread=\"" + std::to_string(i) + "\"} ";
            out += "sessiond_redis_cluster_slots_covered" + label + std::to_string(st.slots_covered) + "\n";
            primaries += "sessiond_redis_cluster_primaries" + label + std::to_string(st.primaries) + "\n";
        }
        out += primaries;
    }
    return out;
}

// The HTTPS certificate's end of validity, for an alert before it comes.
std::string certificate_metrics(const http::tls_provider* tls) {
    if (!tls) return {};
    const auto not_after = tls->certificate().not_after;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count();
    return "# HELP sessiond_tls_certificate_not_after_seconds When the HTTPS certificate in use expires (Unix time).\n"
           "# TYPE sessiond_tls_certificate_not_after_seconds gauge\n"
           "sessiond_tls_certificate_not_after_seconds " +
           std::to_string(seconds) + "\n";
}

}  // namespace

std::string ops_metrics(const std::vector<std::unique_ptr<worker>>& workers, const http::tls_provider* tls) {
    return topology_metrics(workers) + certificate_metrics(tls) + metrics::process_metrics() +
           "# HELP sessiond_build_info The running version.\n# TYPE sessiond_build_info gauge\n"
           "sessiond_build_info{version=\"" SESSIOND_VERSION "\"} 1\n";
}

}  // namespace sessiond::app
