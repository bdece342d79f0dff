#include "redis/backoff.hpp"

#include <algorithm>

namespace sessiond::redis {

backoff::backoff(duration min, duration max, std::uint64_t seed) noexcept
    : min_(std::max(min, duration(1))), max_(std::max(max, min_)), state_(seed | 1) {}

std::uint64_t backoff::random() noexcept {
    // xorshift64*: jitter needs no cryptographic quality.
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
}

backoff::duration backoff::next() noexcept {
    duration cap = min_;
    for (unsigned i = 0; i < failures_ && cap < max_; ++i)
        cap *= 2;
    cap = std::min(cap, max_);
    if (failures_ < 64) ++failures_;
    const auto half = cap.count() / 2;
    const auto spread = static_cast<std::uint64_t>(cap.count() - half) + 1;
    return duration(half + static_cast<duration::rep>(random() % spread));
}

}  // namespace sessiond::redis
