#pragma once
// Turns the bytes Redis sends into replies, with hiredis' redisReader building
// redis::reply values directly (no intermediate redisReply tree).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.hpp"

struct redisReader;

namespace sessiond::redis {

class reply_decoder {
public:
    // A reply may not take more than this much memory while it is decoded:
    // bytes buffered for it, its strings, and its arrays' element slots. A
    // reply announcing more (an array header of 50 million elements, a bulk
    // string of a gigabyte) is a protocol error before anything that large is
    // allocated. sessiond's largest replies (a user's sessions) stay far below.
    static constexpr std::size_t default_max_reply_bytes = 64 * 1024 * 1024;

    explicit reply_decoder(std::size_t max_reply_bytes = default_max_reply_bytes);
    ~reply_decoder();
    reply_decoder(const reply_decoder&) = delete;
    reply_decoder& operator=(const reply_decoder&) = delete;

    // Appends received bytes. False (and failed()) on a protocol error.
    bool feed(std::string_view bytes);

    // The next complete reply, if any. After a protocol error, always nullopt.
    std::optional<reply> next();

    // feed() and next() until `bytes` are used up, appending the replies to
    // `out`. Feeds at most 1 KiB at a time: hiredis 0.14 moves the unread rest
    // of its buffer after every reply once 1 KiB is consumed, which is
    // quadratic for a large read of many small replies. False on a protocol
    // error (replies before it are in `out`).
    bool decode(std::string_view bytes, std::vector<reply>& out);

    bool failed() const noexcept { return failed_; }
    const std::string& error_message() const noexcept { return error_; }

    // Drops buffered bytes and any partial reply (for a new connection).
    void reset();

private:
    friend struct decoder_callbacks;
    void set_failed();
    // Counts `n` more bytes against the current reply; false past the bound.
    bool charge(std::size_t n) noexcept;

    reply root_;  // the reply being built; declared before reader_, which points into it
    struct reader_deleter {
        void operator()(redisReader* r) const noexcept;
    };
    std::unique_ptr<redisReader, reader_deleter> reader_;
    bool failed_ = false;
    std::string error_;
    std::size_t max_reply_bytes_;
    std::size_t reply_bytes_ = 0;  // memory the reply being decoded holds so far
    bool too_large_ = false;
};

}  // namespace sessiond::redis
