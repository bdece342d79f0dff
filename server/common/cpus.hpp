#pragma once
// How many CPUs this process may actually use: the default number of I/O
// threads. std::thread::hardware_concurrency() counts the machine's CPUs and
// ignores both the affinity mask (taskset, cpusets, Kubernetes' static CPU
// manager) and a cgroup CPU quota (container CPU limits), so a container
// limited to 2 CPUs on a 64-core host would start 64 threads.

#include <cstddef>
#include <optional>
#include <string_view>

namespace sessiond::cpus {

// The CPUs a cgroup v2 `cpu.max` line ("<quota> <period>" or "max <period>")
// allows, rounded up; nullopt for "max" (no limit) or an unreadable line.
std::optional<std::size_t> from_cgroup_quota(std::string_view cpu_max);

// min(CPUs in the affinity mask, the cgroup v2 quota of this process' cgroup),
// at least 1; falls back to hardware_concurrency() when the mask is unknown.
std::size_t available();

}  // namespace sessiond::cpus
