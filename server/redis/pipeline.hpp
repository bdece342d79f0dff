#pragma once
// The bookkeeping of one pipelined connection, without I/O: commands waiting to
// be written, commands waiting for their reply (matched in order), the
// in-flight bound, and the decisions of the periodic tick (timeout, PING).
// Not thread-safe: its owner serialises access.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "redis/completion.hpp"

namespace sessiond::redis {

class pipeline {
public:
    using clock = std::chrono::steady_clock;

    struct entry {
        detail::completion done;
        clock::time_point deadline = clock::time_point::max();
    };

    struct push_result {
        boost::system::error_code ec;  // not_connected or busy: the completion was not taken
        bool schedule_flush = false;   // the caller must arrange a flush() soon
    };

    enum class tick_action { none, timeout, ping };

    // max_in_flight: 0 = no limit.
    explicit pipeline(std::size_t max_in_flight);

    // Callers' commands are accepted only while open (connection ready).
    void open() noexcept { open_ = true; }
    bool is_open() const noexcept { return open_; }

    // Queues a caller's command. On error the completion is left with the caller.
    push_result push(std::string_view bytes, detail::completion& done, clock::time_point deadline);
    // Queues the client's own commands (handshake, PING): not subject to open()
    // or the bound.
    push_result push_internal(std::string_view bytes, detail::completion&& done, clock::time_point deadline);

    // Moves the bytes queued so far into `buffer` (one write); the buffer's old
    // storage is recycled for the next batch. Returns false, and ends the flush,
    // when there is nothing to write.
    //
    // Unless `force`, output is held (false, the flush stays pending) while
    // commands already written await their replies and less than hold_limit
    // bytes are queued: the next read forces the write, so that a busy
    // connection sends one large batch per round trip (as redis-benchmark -P
    // does) instead of many small writes that cost Redis a system call each. An
    // idle connection writes at once.
    bool take_output(std::string& buffer, bool force = true);
    static constexpr std::size_t hold_limit = 32 * 1024;

    // Commands written and not yet answered.
    std::size_t awaiting() const noexcept { return count_ - unwritten_; }

    // Commands queued or written, not yet answered.
    std::size_t in_flight() const noexcept { return count_; }
    // The oldest pending command (its reply has arrived). Precondition: in_flight() > 0.
    entry pop() noexcept;

    // Connection lost: closes, appends every pending entry to `out` (oldest first)
    // and drops unwritten bytes.
    void take_all(std::vector<entry>& out);

    // Replies (or any bytes) were received at `now`.
    void note_activity(clock::time_point now) noexcept { last_activity_ = now; }
    // What the periodic tick should do: time out (oldest command past its
    // deadline), PING (nothing pending, nothing received for ping_interval;
    // 0 = never), or nothing.
    tick_action on_tick(clock::time_point now, clock::duration ping_interval) const noexcept;

private:
    void grow();

    std::size_t max_in_flight_;
    bool open_ = false;
    bool flush_scheduled_ = false;  // a flush is posted or a write is in progress
    std::string out_;               // bytes not yet handed to a write
    std::vector<entry> ring_;       // capacity is a power of two
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::size_t unwritten_ = 0;  // the newest entries, whose bytes are in out_
    clock::time_point last_activity_{};
};

}  // namespace sessiond::redis
