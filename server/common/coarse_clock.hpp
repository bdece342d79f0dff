#pragma once
// steady_clock::now() at jiffy resolution (CLOCK_MONOTONIC_COARSE: a few ms),
// several times cheaper to read than the precise clock. For deadlines that a
// periodic sweep or tick enforces at a coarser period anyway: connection
// timeouts, per-command timeouts. libstdc++'s steady_clock is CLOCK_MONOTONIC,
// and the coarse variant shares its origin, so the two compare.

#include <time.h>  // NOLINT(modernize-deprecated-headers): clock_gettime is POSIX, declared here

#include <chrono>

namespace sessiond {

inline std::chrono::steady_clock::time_point coarse_steady_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace sessiond
