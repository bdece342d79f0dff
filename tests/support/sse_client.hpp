#pragma once
// A client of a Server-Sent Events stream (GET /v1/events) over a blocking
// socket: it sends the request, reads the head, then decodes the chunked
// body into events and comments as they come. Every read has a deadline.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"

namespace sessiond::test {

struct sse_event {
    std::string id;
    std::string type;  // the "event:" field
    std::string data;
};

class sse_stream {
public:
    // Connects and sends `GET target` with `headers`; `receive_buffer`, if
    // not 0, is the socket's receive buffer (a small one for a client that
    // stops reading).
    sse_stream(unsigned short port, const std::string& target, const std::map<std::string, std::string>& headers,
               int receive_buffer = 0);
    ~sse_stream();
    sse_stream(const sse_stream&) = delete;
    sse_stream& operator=(const sse_stream&) = delete;

    // The response's head (status 0 when none came in time); for a status
    // other than 200, `head.body` is its body.
    const http_response& head() const { return head_; }

    // The next event, within `timeout`; nullopt at the end of the stream or
    // the deadline (ended() tells which).
    std::optional<sse_event> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Events until `n` came or the deadline.
    std::vector<sse_event> take(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Comment lines received so far (without the ':' and a space).
    const std::vector<std::string>& comments() const { return comments_; }
    // Reads (events and comments) until `pred` holds or the deadline.
    template <class Pred>
    bool read_until(Pred pred, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!pred()) {
            if (parse_one()) continue;
            if (!receive(deadline)) return pred();
        }
        return true;
    }
    // The body ended (the last chunk) or the connection closed.
    bool ended() const { return ended_; }
    // Waits until the stream ends, discarding what comes; false at the deadline.
    bool wait_ended(std::chrono::milliseconds timeout);
    // Whether the last chunk ("0\r\n\r\n") was received (a clean end).
    bool finished_cleanly() const { return last_chunk_; }
    // Events decoded but not yet taken.
    std::size_t pending() const { return events_.size(); }

private:
    bool receive(std::chrono::steady_clock::time_point deadline);
    void decode();     // raw_ -> body_, chunks
    bool parse_one();  // body_ -> one event or comment; false if none whole
    int fd_ = -1;
    std::string raw_;   // received, not yet decoded
    std::string body_;  // decoded, not yet parsed
    bool chunked_ = false;
    bool last_chunk_ = false;
    bool ended_ = false;
    http_response head_;
    std::vector<sse_event> events_;
    std::vector<std::string> comments_;
};

}  // namespace sessiond::test
