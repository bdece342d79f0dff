#include "redis/pipeline.hpp"

#include "redis/error.hpp"

namespace sessiond::redis {

pipeline::pipeline(std::size_t max_in_flight) : max_in_flight_(max_in_flight), ring_(16) {}

void pipeline::grow() {
    std::vector<entry> bigger(ring_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i)
        bigger[i] = std::move(ring_[(head_ + i) & (ring_.size() - 1)]);
    ring_.swap(bigger);
    head_ = 0;
}

pipeline::push_result pipeline::push(std::string_view bytes, detail::completion& done, clock::time_point deadline) {
    if (!open_) return {make_error_code(error::not_connected), false};
    if (max_in_flight_ != 0 && count_ >= max_in_flight_) return {make_error_code(error::busy), false};
    return push_internal(bytes, std::move(done), deadline);
}

pipeline::push_result pipeline::push_internal(std::string_view bytes, detail::completion&& done,
                                              clock::time_point deadline) {
    if (count_ == ring_.size()) grow();
    entry& e = ring_[(head_ + count_) & (ring_.size() - 1)];
    e.done = std::move(done);
    e.deadline = deadline;
    ++count_;
    ++unwritten_;
    out_.append(bytes);
    const bool schedule = !flush_scheduled_;
    flush_scheduled_ = true;
    return {{}, schedule};
}

bool pipeline::take_output(std::string& buffer, bool force) {
    buffer.clear();
    if (out_.empty()) {
        flush_scheduled_ = false;
        return false;
    }
    if (!force && awaiting() > 0 && out_.size() < hold_limit) return false;
    buffer.swap(out_);
    unwritten_ = 0;
    return true;
}

pipeline::entry pipeline::pop() noexcept {
    entry& e = ring_[head_];
    entry out{std::move(e.done), e.deadline};
    head_ = (head_ + 1) & (ring_.size() - 1);
    --count_;
    return out;
}

void pipeline::take_all(std::vector<entry>& out) {
    open_ = false;
    unwritten_ = 0;
    while (count_ > 0)
        out.push_back(pop());
    head_ = 0;
    unwritten_ = 0;
    out_.clear();
    flush_scheduled_ = false;
}

pipeline::tick_action pipeline::on_tick(clock::time_point now, clock::duration ping_interval) const noexcept {
    if (count_ > 0) return ring_[head_].deadline <= now ? tick_action::timeout : tick_action::none;
    if (open_ && ping_interval.count() > 0 && now - last_activity_ >= ping_interval) return tick_action::ping;
    return tick_action::none;
}

}  // namespace sessiond::redis
