#pragma once
// Metrics in the Prometheus text format. A family (name, help, type, a label
// with its values, histogram bounds) is an object at namespace scope in the
// layer that counts it (http/http_metrics.hpp, store/store_metrics.hpp, …);
// constructing it registers it and reserves its slots in every thread's
// shard. Each thread that counts gets a shard of its own, on cache lines of
// its own, so an increment on the request path is a plain load and store on
// the calling thread's shard: no shared atomic, no lock, no lookup by name.
// render() walks the families and sums the shards; a value read when
// scraped is a callback_family, rendered the same way.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sessiond::metrics {

// Written by one thread (the shard's), read by render() on any thread.
struct counter {
    std::atomic<std::uint64_t> value{0};
    void inc(std::uint64_t n = 1) noexcept {
        value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // For a per-thread gauge (the shards' values are summed).
    void set(std::uint64_t v) noexcept { value.store(v, std::memory_order_relaxed); }
    void dec() noexcept { value.store(value.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

// A cache line on the x86-64 and AArch64 machines sessiond runs on (GCC warns
// that std::hardware_destructive_interference_size may change between versions).
inline constexpr std::size_t cache_line = 64;

// The slots of a shard. The families together may not take more: the one
// that would is refused when constructed (std::length_error, at start-up).
inline constexpr std::size_t max_slots = 1024;

// One thread's counts, a slot per series (a histogram series takes one per
// bucket and one for its sum). Slot 0 belongs to no family.
struct alignas(cache_line) shard {
    std::array<counter, max_slots> slots;
};

// The calling thread's shard (registered on its first use; it counts on
// after the thread ends, and a later thread reuses it).
shard& this_thread_shard() noexcept;

enum class type { counter, gauge, histogram };

// What a family is. The strings are literals (or otherwise outlive it).
struct descriptor {
    std::string_view name;  // sessiond_…, with _total on counters and base units
    std::string_view help;
    metrics::type type = type::counter;
    std::string_view label = {};  // the label's name; empty: a single series
    // The label's values, one series each (a few fixed values: never a user
    // id, a session id or a raw path).
    std::span<const std::string_view> values = {};
    // A histogram's bucket upper bounds in microseconds; it renders seconds.
    std::span<const std::uint64_t> bounds_us = {};
};

// A registered family and its slots. Registration checks that the name is
// new and the slots fit (std::invalid_argument, std::length_error).
class family {
public:
    family(const family&) = delete;
    family& operator=(const family&) = delete;
    virtual ~family();

    const descriptor& describe() const noexcept { return d_; }
    // A series' first slot (series = the label value's position).
    std::size_t slot(std::size_t series = 0) const noexcept { return first_ + series * per_series_; }
    std::size_t slots_per_series() const noexcept { return per_series_; }
    // The series rendered: the values known so far.
    std::size_t series() const noexcept { return count_.load(std::memory_order_acquire); }
    const std::string& value(std::size_t series) const noexcept { return values_[series]; }

    // A label value added after the fixed ones (any thread; at start-up):
    // its series, the same for a value added again, 0 when all are taken.
    std::size_t add_value(std::string_view value);
    // The series of a value, else 0.
    std::size_t find_value(std::string_view value) const noexcept;

protected:
    // `reserved`: the series kept for values added later (add_value),
    // besides the fixed ones; slots_per_series: 0 reserves none.
    family(descriptor d, std::size_t slots_per_series, std::size_t reserved = 0);

private:
    descriptor d_;
    std::size_t per_series_;
    std::size_t first_ = 0;
    std::vector<std::string> values_;
    std::atomic<std::size_t> count_;
    std::mutex adding_;
};

// A counter, or a gauge kept per thread (its shards' values summed): one
// series, or one per value of its label.
class counter_family : public family {
public:
    counter_family(std::string_view name, std::string_view help, metrics::type t = type::counter,
                   std::string_view label = {}, std::span<const std::string_view> values = {})
        : family({name, help, t, label, values}, 1) {}

    // The calling thread's count of a series.
    counter& local(std::size_t series = 0) const noexcept { return this_thread_shard().slots[slot(series)]; }
    // Of the series of an enum's value (the values in the enum's order).
    template <class E>
    requires std::is_enum_v<E> counter& local(E value) const noexcept {
        const auto i = static_cast<std::size_t>(value);
        return local(i < series() ? i : series() - 1);
    }
    void inc(std::uint64_t n = 1) const noexcept { local().inc(n); }
    void set(std::uint64_t v) const noexcept { local().set(v); }
    void dec() const noexcept { local().dec(); }
};

// A histogram of durations: observed in microseconds, rendered in seconds.
// `reserved` series are kept for label values added later (add_value).
class histogram_family : public family {
public:
    histogram_family(std::string_view name, std::string_view help, std::span<const std::uint64_t> bounds_us,
                     std::string_view label = {}, std::span<const std::string_view> values = {},
                     std::size_t reserved = 0)
        : family({name, help, type::histogram, label, values, bounds_us}, bounds_us.size() + 2, reserved) {}

    void observe(std::uint64_t duration_us, std::size_t series = 0) const noexcept;
};

// One sample of a callback family: its labels (`a="x",b="y"`, or empty) and value.
struct sample {
    std::string labels;
    double value = 0;
};

// A family whose samples are read when scraped (the topology, the
// certificate, the process): no slots; rendered only when it has samples.
class callback_family : public family {
public:
    using collect = std::function<std::vector<sample>()>;
    callback_family(std::string_view name, std::string_view help, metrics::type t, collect fn)
        : family({name, help, t}, 0), collect_(std::move(fn)) {}

    std::vector<sample> samples() const { return collect_(); }

private:
    collect collect_;
};

// The exposition text of every family, in the order of their names.
std::string render();

// The names of the families registered, in that order.
std::vector<std::string> registered();

}  // namespace sessiond::metrics
