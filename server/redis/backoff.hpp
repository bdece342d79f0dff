#pragma once
// Reconnection delays: capped exponential growth with jitter.

#include <chrono>
#include <cstdint>

namespace sessiond::redis {

class backoff {
public:
    using duration = std::chrono::milliseconds;

    // seed: any value; different connections should use different seeds so that
    // they do not reconnect in lockstep.
    backoff(duration min, duration max, std::uint64_t seed) noexcept;

    // The delay before the next attempt: min·2^failures capped at max, then a
    // random value in [half of it, all of it]. Counts one more failure.
    duration next() noexcept;
    // A connection succeeded: the next delay starts again from min.
    void reset() noexcept { failures_ = 0; }
    unsigned failures() const noexcept { return failures_; }

private:
    std::uint64_t random() noexcept;

    duration min_;
    duration max_;
    unsigned failures_ = 0;
    std::uint64_t state_;
};

}  // namespace sessiond::redis
