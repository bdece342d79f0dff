#include "common/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace sessiond::metrics {

namespace {

// Every shard ever handed out, and those whose thread has ended. Taken once
// per thread and by render(), never on the request path.
struct shards {
    std::mutex mutex;
    std::vector<std::unique_ptr<shard>> all;
    std::vector<shard*> unused;

    static shards& instance() {
        static shards s;
        return s;
    }
    shard* acquire() {
        std::lock_guard lock(mutex);
        if (!unused.empty()) {
            shard* s = unused.back();
            unused.pop_back();
            return s;
        }
        return all.emplace_back(std::make_unique<shard>()).get();
    }
    void release(shard* s) {
        std::lock_guard lock(mutex);
        unused.push_back(s);
    }
};

// Returns the thread's shard to the pool at thread exit; its counts stay.
struct owned_shard {
    shard* s = shards::instance().acquire();
    ~owned_shard() { shards::instance().release(s); }
};

// The families registered, and the next slot free.
struct registry {
    std::mutex mutex;
    std::vector<const family*> families;
    std::size_t next_slot = 1;  // slot 0: series_ref not yet pointed at a family

    static registry& instance() {
        static registry r;
        return r;
    }
};

// The bucket of a duration: the first bound it does not exceed, else the last (+Inf).
std::size_t bucket(std::span<const std::uint64_t> bounds, std::uint64_t us) noexcept {
    std::size_t i = 0;
    while (i < bounds.size() && us > bounds[i])
        ++i;
    return i;
}

}  // namespace

shard& this_thread_shard() noexcept {
    thread_local owned_shard mine;
    return *mine.s;
}

family::family(descriptor d, std::size_t slots_per_series, std::size_t reserved)
    : d_(d), per_series_(slots_per_series), count_(std::max<std::size_t>(d.values.size(), 1)) {
    values_.reserve(count_ + reserved);
    for (auto v : d.values)
        values_.emplace_back(v);
    values_.resize(count_ + reserved);
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    for (const auto* f : r.families)
        if (f->d_.name == d_.name) throw std::invalid_argument(fmt::format("metric {} registered twice", d_.name));
    const std::size_t slots = per_series_ * values_.size();
    if (slots > max_slots - r.next_slot)
        throw std::length_error(fmt::format("metric {} needs {} slots, {} of metrics::max_slots are left", d_.name,
                                            slots, max_slots - r.next_slot));
    first_ = r.next_slot;
    r.next_slot += slots;
    r.families.push_back(this);
}

family::~family() {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    std::erase(r.families, this);
}

std::size_t family::add_value(std::string_view value) {
    std::lock_guard lock(adding_);
    const std::size_t n = count_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i)
        if (values_[i] == value) return i;
    if (n == values_.size()) return 0;
    values_[n] = std::string(value);
    count_.store(n + 1, std::memory_order_release);  // publishes the value written before
    return n;
}

std::size_t family::find_value(std::string_view value) const noexcept {
    const std::size_t n = series();
    for (std::size_t i = 0; i < n; ++i)
        if (values_[i] == value) return i;
    return 0;
}

void histogram_family::observe(std::uint64_t duration_us, std::size_t series) const noexcept {
    const auto bounds = describe().bounds_us;
    auto* s = &this_thread_shard().slots[slot(series)];
    s[bucket(bounds, duration_us)].inc();
    s[bounds.size() + 1].inc(duration_us);
}

namespace {

const char* type_name(type t) {
    switch (t) {
        case type::counter:
            return "counter";
        case type::gauge:
            return "gauge";
        case type::histogram:
            return "histogram";
    }
    return "untyped";
}

// Writes the samples of a family from the shards' sums (`total`, by slot).
void write_family(std::string& out, const family& f, std::span<const std::uint64_t> total) {
    auto it = std::back_inserter(out);
    const auto& d = f.describe();
    std::vector<sample> collected;
    if (const auto* cb = dynamic_cast<const callback_family*>(&f)) {
        collected = cb->samples();
        if (collected.empty()) return;
    }
    fmt::format_to(it, "# HELP {} {}\n# TYPE {} {}\n", d.name, d.help, d.name, type_name(d.type));
    for (const auto& s : collected)
        fmt::format_to(it, "{}{}{}{} {}\n", d.name, s.labels.empty() ? "" : "{", s.labels, s.labels.empty() ? "" : "}",
                       s.value);
    if (f.slots_per_series() == 0) return;
    for (std::size_t i = 0; i < f.series(); ++i) {
        // `label="value"` or empty.
        const std::string label = d.label.empty() ? std::string() : fmt::format("{}=\"{}\"", d.label, f.value(i));
        const char* open = label.empty() ? "" : "{";
        const char* close = label.empty() ? "" : "}";
        const auto* slots = &total[f.slot(i)];
        if (d.type != type::histogram) {
            fmt::format_to(it, "{}{}{}{} {}\n", d.name, open, label, close, slots[0]);
            continue;
        }
        const char* comma = label.empty() ? "" : ",";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < d.bounds_us.size(); ++b) {
            cumulative += slots[b];
            fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", d.name, label, comma,
                           static_cast<double>(d.bounds_us[b]) / 1e6, cumulative);
        }
        cumulative += slots[d.bounds_us.size()];
        fmt::format_to(it, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", d.name, label, comma, cumulative);
        fmt::format_to(it, "{}_sum{}{}{} {}\n", d.name, open, label, close,
                       static_cast<double>(slots[d.bounds_us.size() + 1]) / 1e6);
        fmt::format_to(it, "{}_count{}{}{} {}\n", d.name, open, label, close, cumulative);
    }
}

std::vector<const family*> by_name(std::vector<const family*> families) {
    std::ranges::sort(families, {}, [](const family* f) { return f->describe().name; });
    return families;
}

}  // namespace

std::string render() {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    std::vector<std::uint64_t> total(r.next_slot);
    {
        auto& pool = shards::instance();
        std::lock_guard shards_lock(pool.mutex);
        for (const auto& s : pool.all)
            for (std::size_t i = 0; i < total.size(); ++i)
                total[i] += s->slots[i].get();
    }
    std::string out;
    for (const auto* f : by_name(r.families))
        write_family(out, *f, total);
    return out;
}

std::vector<std::string> registered() {
    auto& r = registry::instance();
    std::lock_guard lock(r.mutex);
    std::vector<std::string> out;
    for (const auto* f : by_name(r.families))
        out.emplace_back(f->describe().name);
    return out;
}

}  // namespace sessiond::metrics
