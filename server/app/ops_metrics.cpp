#include "app/ops_metrics.hpp"

#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond::app {

namespace {

using metrics::sample;
using metrics::type;

// The Redis topology of the threads' clients, with `thread="i"` as its label.
redis::topology mode_of(const io_threads& io) {
    return io.workers.empty() || !io.workers.front()->redis_client ? redis::topology::standalone
                                                                   : io.workers.front()->redis_client->status().mode;
}
bool with_redis(const io_threads& io) {
    return !io.workers.empty() && io.workers.front()->redis_client;
}
std::string thread_label(std::size_t i) {
    return fmt::format("thread=\"{}\"", i);
}

// Per thread, a value of the Cluster topology's status.
template <class F>
std::vector<sample> cluster_samples(const io_threads& io, F value) {
    std::vector<sample> out;
    if (!with_redis(io) || mode_of(io) != redis::topology::cluster) return out;
    for (std::size_t i = 0; i < io.workers.size(); ++i)
        out.push_back({thread_label(i), static_cast<double>(value(io.workers[i]->redis_client->status()))});
    return out;
}

// The fields of /proc/self/stat after the command name (which is in
// parentheses and may hold spaces): f[0] is field 3 (state).
std::vector<std::string> proc_stat() {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (!std::getline(stat, line)) return {};
    const auto close = line.rfind(')');
    std::istringstream rest(close == std::string::npos ? std::string() : line.substr(close + 2));
    return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

// A /proc/self/stat field (utime 14, stime 15, starttime 22, vsize 23, rss 24) as a number.
std::optional<double> stat_field(const std::vector<std::string>& f, std::size_t field) {
    if (f.size() <= 21) return std::nullopt;  // not the layout expected
    return std::stod(f[field - 3]);
}

double clock_ticks() {
    return static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// One unlabelled sample, or none.
std::vector<sample> one(std::optional<double> v) {
    if (!v) return {};
    return {{{}, *v}};
}

// The process_* families Prometheus' client libraries export, from /proc.
const metrics::callback_family process_cpu{"process_cpu_seconds_total",
                                           "Total user and system CPU time spent in seconds.", type::counter, [] {
                                               const auto f = proc_stat();
                                               const auto user = stat_field(f, 14);
                                               const auto system = stat_field(f, 15);
                                               if (!user || !system || clock_ticks() <= 0) return std::vector<sample>{};
                                               return one((*user + *system) / clock_ticks());
                                           }};
const metrics::callback_family process_virtual{"process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                               type::gauge, [] { return one(stat_field(proc_stat(), 23)); }};
const metrics::callback_family process_resident{
    "process_resident_memory_bytes", "Resident memory size in bytes.", type::gauge, [] {
        const auto pages = stat_field(proc_stat(), 24);
        return one(pages ? std::optional(*pages * static_cast<double>(::sysconf(_SC_PAGESIZE))) : std::nullopt);
    }};
const metrics::callback_family process_start{"process_start_time_seconds",
                                             "Start time of the process since unix epoch in seconds.", type::gauge, [] {
                                                 const auto started = stat_field(proc_stat(), 22);
                                                 if (!started || clock_ticks() <= 0) return std::vector<sample>{};
                                                 std::ifstream boot("/proc/stat");
                                                 for (std::string l; std::getline(boot, l);)
                                                     if (l.starts_with("btime "))
                                                         return one(std::stod(l.substr(6)) + *started / clock_ticks());
                                                 return std::vector<sample>{};
                                             }};
const metrics::callback_family process_open_fds{
    "process_open_fds", "Number of open file descriptors.", type::gauge, [] {
        std::error_code ec;
        std::size_t fds = 0;
        for (auto d = std::filesystem::directory_iterator("/proc/self/fd", ec);
             !ec && d != std::filesystem::directory_iterator(); d.increment(ec))
            ++fds;
        return ec ? std::vector<sample>{} : one(static_cast<double>(fds));
    }};
const metrics::callback_family process_max_fds{"process_max_fds", "Maximum number of open file descriptors.",
                                               type::gauge, [] {
                                                   rlimit limit{};
                                                   if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
                                                       return std::vector<sample>{};
                                                   return one(static_cast<double>(limit.rlim_cur));
                                               }};

const metrics::callback_family build_info{"sessiond_build_info", "The running version.", type::gauge, [] {
                                              return std::vector<sample>{{"version=\"" SESSIOND_VERSION "\"", 1}};
                                          }};

}  // namespace

ops_metrics::ops_metrics(const io_threads& io)
    : connections_open_{"sessiond_http_connections_open", "Open client connections.", type::gauge,
                        [&io] { return one(static_cast<double>(io.open_connections.load())); }},
      store_ready_{"sessiond_store_ready", "1 when the session store is reachable.", type::gauge,
                   [&io] { return one(io.store_ready() ? 1 : 0); }},
      topology_{"sessiond_redis_topology", "The Redis deployment sessiond is configured for.", type::gauge,
                [&io] {
                    if (!with_redis(io)) return std::vector<sample>{};
                    return std::vector<sample>{{fmt::format("mode=\"{}\"", redis::to_string(mode_of(io))), 1}};
                }},
      primary_{"sessiond_redis_primary", "The primary an I/O thread sends commands to (Sentinel).", type::gauge,
               [&io] {
                   std::vector<sample> out;
                   if (!with_redis(io) || mode_of(io) != redis::topology::sentinel) return out;
                   for (std::size_t i = 0; i < io.workers.size(); ++i) {
                       const auto st = io.workers[i]->redis_client->status();
                       if (!st.primary.empty())
                           out.push_back({fmt::format("{},address=\"{}\"", thread_label(i), st.primary), 1});
                   }
                   return out;
               }},
      slots_covered_{"sessiond_redis_cluster_slots_covered",
                     "Slots with a known primary in an I/O thread's map (16384 when whole).", type::gauge,
                     [&io] { return cluster_samples(io, [](const auto& st) { return st.slots_covered; }); }},
      cluster_primaries_{"sessiond_redis_cluster_primaries", "Primaries in an I/O thread's slot map.", type::gauge,
                         [&io] { return cluster_samples(io, [](const auto& st) { return st.primaries; }); }},
      certificate_{"sessiond_tls_certificate_not_after_seconds",
                   "When the HTTPS certificate in use expires (Unix time).", type::gauge, [&io] {
                       if (!io.tls) return std::vector<sample>{};
                       const auto not_after = io.tls->certificate().not_after;
                       return one(static_cast<double>(
                           std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count()));
                   }} {}

}  // namespace sessiond::app
