#pragma once
// The process's file-descriptor limit (RLIMIT_NOFILE) and what it allows:
// every connection holds a descriptor, and a process out of descriptors can
// neither accept nor refuse, so clients would hang in the listen backlog.

#include <cstddef>
#include <cstdint>

namespace sessiond {

struct fd_limits {
    std::uint64_t soft = 0;  // after raise_fd_limit
    std::uint64_t hard = 0;
    std::uint64_t previous = 0;  // the soft limit found at start
};

// Raises the soft limit to the hard one (as far as the kernel allows).
fd_limits raise_fd_limit();

// The connections that fit in `fd_limit` descriptors when `reserved` of
// them are kept for everything else (listeners, Redis, logs, the probe
// reserve): `wanted` if it fits, else what does (at least 1).
std::size_t connections_within(std::size_t wanted, std::uint64_t fd_limit, std::size_t reserved);

}  // namespace sessiond
