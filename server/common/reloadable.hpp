#pragma once
// Settings a reload replaces while the I/O threads use them (token keys,
// API keys): immutable values, published whole, picked up by each thread at
// its next use.
//
// A reloadable holds the current value; publish() (any thread, rare) swaps
// it and moves the generation on. Each I/O thread reads through a
// local_view of its own: one atomic load of the generation per use, and a
// shared_ptr whose control block is the view's own, so that requests
// copying it (to keep the value alive to their end, across suspensions)
// touch no cache line another thread writes. A value lives until the last
// request that took it ends.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace sessiond {

template <class T>
class reloadable {
public:
    explicit reloadable(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
    reloadable(const reloadable&) = delete;
    reloadable& operator=(const reloadable&) = delete;

    void publish(std::shared_ptr<const T> next) {
        std::lock_guard lock(mutex_);
        current_ = std::move(next);
        generation_.fetch_add(1, std::memory_order_release);
    }
    std::shared_ptr<const T> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
    std::atomic<std::uint64_t> generation_{0};
};

// One thread's reader of a reloadable, or of a value that never changes.
// Not shared between threads.
template <class T>
class local_view {
public:
    explicit local_view(const reloadable<T>& source) : source_(&source) { refresh(); }
    explicit local_view(std::shared_ptr<const T> fixed) : local_(std::move(fixed)) {}

    // The value now; hold it for as long as it is used.
    std::shared_ptr<const T> get() const {
        if (source_ && source_->generation() != seen_) refresh();
        return local_;
    }

private:
    void refresh() const {
        seen_ = source_->generation();  // before the value: a publish in between is seen next time
        auto shared = source_->current();
        const T* raw = shared.get();
        local_ = std::shared_ptr<const T>(std::make_shared<std::shared_ptr<const T>>(std::move(shared)), raw);
    }

    const reloadable<T>* source_ = nullptr;
    mutable std::uint64_t seen_ = 0;
    mutable std::shared_ptr<const T> local_;
};

}  // namespace sessiond
