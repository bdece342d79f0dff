#include "common/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace sessiond::cpus {

std::optional<std::size_t> from_cgroup_quota(std::string_view cpu_max) {
    while (!cpu_max.empty() && (cpu_max.back() == '\n' || cpu_max.back() == ' '))
        cpu_max.remove_suffix(1);
    auto space = cpu_max.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    std::string_view quota_text = cpu_max.substr(0, space), period_text = cpu_max.substr(space + 1);
    std::uint64_t quota = 0, period = 0;
    auto parse = [](std::string_view s, std::uint64_t& v) {
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && end == s.data() + s.size();
    };
    if (quota_text == "max" || !parse(quota_text, quota) || !parse(period_text, period) || quota == 0 || period == 0)
        return std::nullopt;
    return std::max<std::size_t>(1, static_cast<std::size_t>((quota + period - 1) / period));
}

namespace {

// The quota of this process' own cgroup (cgroup v2: "0::<path>" in /proc/self/cgroup).
std::optional<std::size_t> cgroup_quota() {
    std::ifstream self("/proc/self/cgroup");
    std::string line, path;
    while (std::getline(self, line))
        if (line.rfind("0::", 0) == 0) path = line.substr(3);
    if (path.empty()) return std::nullopt;
    std::ifstream max_file("/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/cpu.max");
    std::string cpu_max;
    if (!std::getline(max_file, cpu_max)) return std::nullopt;
    return from_cgroup_quota(cpu_max);
}

}  // namespace

std::size_t available() {
    std::size_t n = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
    if (auto quota = cgroup_quota()) n = std::min(n, *quota);
    return n;
}

}  // namespace sessiond::cpus
