#pragma once
// For the tests that must let real time pass (an expiry, a grace period, a
// timeout exceeded). A check that something is still alive is made only
// while the machine has kept to the schedule: a stalled machine is reported
// (WARN), not failed. A check that something has expired waits at least the
// whole timeout after the reply that set it, so a stall only makes it later.

#include <catch2/catch.hpp>

#include <chrono>

namespace sessiond::test {

// Whether less than `limit` has passed since `since` (taken before the
// request that set the timeout was sent); WARNs when it has not.
inline bool within(std::chrono::steady_clock::time_point since, std::chrono::milliseconds limit) {
    const bool kept = std::chrono::steady_clock::now() - since < limit;
    if (!kept) WARN("the machine stalled past " << limit.count() << " ms: this check of a live session is skipped");
    return kept;
}

}  // namespace sessiond::test
