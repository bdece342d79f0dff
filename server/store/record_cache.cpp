#include "store/record_cache.hpp"

#include <utility>

namespace sessiond::store {

write_marks::stamp write_marks::now() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

namespace {

// Marks only move forward: two threads marking the same slot may store in
// either order, and the later stamp must win.
void raise(std::atomic<write_marks::stamp>& mark, write_marks::stamp at) noexcept {
    auto seen = mark.load(std::memory_order_relaxed);
    while (seen < at && !mark.compare_exchange_weak(seen, at, std::memory_order_release, std::memory_order_relaxed)) {
    }
}

}  // namespace

void write_marks::mark(const session::session_id& id) noexcept {
    mark_at(id, now());
}

void write_marks::mark_at(const session::session_id& id, stamp at) noexcept {
    raise(marks_[std::hash<session::session_id>{}(id) % slots], at);
}

void write_marks::mark_all() noexcept {
    raise(all_, now());
}

void write_marks::mark_not_before() noexcept {
    raise(not_before_, now());
}

bool write_marks::not_before_written_since(stamp since) const noexcept {
    return not_before_.load(std::memory_order_acquire) >= since;
}

bool write_marks::written_since(const session::session_id& id, stamp since) const noexcept {
    return all_.load(std::memory_order_acquire) >= since ||
           marks_[std::hash<session::session_id>{}(id) % slots].load(std::memory_order_acquire) >= since;
}

record_cache::ticket::ticket(ticket&& other) noexcept
    : cache_(std::exchange(other.cache_, nullptr)),
      id_(other.id_),
      generation_(other.generation_),
      sent_(other.sent_) {}

record_cache::ticket::~ticket() {
    if (cache_) cache_->end(id_);
}

record_cache::record_cache(cache_limits limits, std::shared_ptr<const write_marks> marks)
    : limits_(limits), marks_(std::move(marks)) {}

const session::session_record* record_cache::find(const session::session_id& id, clock::time_point now) {
    auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    const entry& e = *it->second;
    if (now > e.expires || marks_->written_since(id, e.sent)) {
        erase(it);
        return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->record;
}

record_cache::ticket record_cache::begin(const session::session_id& id) {
    ticket t;
    if (limits_.max_entries == 0) return t;
    ++pending_[id].reads;
    t.cache_ = this;
    t.id_ = id;
    t.generation_ = generation_;
    t.sent_ = write_marks::now();
    return t;
}

void record_cache::fill(ticket& t, const session::session_record& read, clock::time_point now) {
    if (!t.cache_) return;
    const auto p = pending_.find(t.id_);
    const bool current = t.generation_ == generation_ && p != pending_.end() && !p->second.changed;
    if (current) {
        if (auto it = index_.find(t.id_); it != index_.end()) erase(it);
        // 3/4 of max_age and up to a quarter more, by the id's first random byte.
        const auto age = limits_.max_age - limits_.max_age / 4 * (255 - t.id_.id[0]) / 255;
        lru_.push_front(entry{t.id_, read, now + age, t.sent_});
        index_.emplace(t.id_, lru_.begin());
        while (index_.size() > limits_.max_entries)
            erase(index_.find(lru_.back().id));
    }
    end(t.id_);
    t.cache_ = nullptr;
}

void record_cache::end(const session::session_id& id) {
    const auto p = pending_.find(id);
    if (p != pending_.end() && --p->second.reads == 0) pending_.erase(p);
}

void record_cache::invalidate(const session::session_id& id) {
    if (auto it = index_.find(id); it != index_.end()) erase(it);
    if (auto p = pending_.find(id); p != pending_.end()) p->second.changed = true;
}

void record_cache::clear() {
    ++generation_;
    index_.clear();
    lru_.clear();
}

void record_cache::erase(std::unordered_map<session::session_id, std::list<entry>::iterator>::iterator it) {
    lru_.erase(it->second);
    index_.erase(it);
}

}  // namespace sessiond::store
