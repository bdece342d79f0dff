#pragma once
// The HTTP vocabulary shared by the transport, the router and the handlers.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/field_allocator.hpp"

namespace sessiond::http {

namespace beast_http = boost::beast::http;
using verb = beast_http::verb;
using status = beast_http::status;
using field = beast_http::field;
// Header fields from per-thread free lists (field_allocator.hpp).
using fields = beast_http::basic_fields<field_allocator<char>>;
using request = beast_http::request<beast_http::string_body, fields>;
using response = beast_http::response<beast_http::string_body, fields>;

// Path parameters of a matched route, percent-decoded. Routes have few.
class path_params {
public:
    static constexpr std::size_t capacity = 4;
    void add(std::string_view name, std::string value) {
        if (size_ < capacity) items_[size_++] = {name, std::move(value)};
    }
    // The value of the parameter, or an empty view.
    std::string_view get(std::string_view name) const {
        for (std::size_t i = 0; i < size_; ++i)
            if (items_[i].first == name) return items_[i].second;
        return {};
    }
    std::size_t size() const { return size_; }
    void clear() { size_ = 0; }

private:
    std::array<std::pair<std::string_view, std::string>, capacity> items_;
    std::size_t size_ = 0;
};

// A client certificate that verified against tls-client-ca-file (mTLS):
// the names a caller may be known by.
struct peer_certificate {
    std::vector<std::string> uris;  // URI subject alternative names (SPIFFE ids)
    std::vector<std::string> dns;   // DNS subject alternative names
    std::string common_name;        // the subject's CN, if any
};

// The writer of a streamed response's body (connection.cpp): each write is
// one chunk, sent within the write timeout. Used on the connection's thread.
class stream_writer {
public:
    // Sends `bytes` as one chunk: false when it could not (the peer is gone
    // or too slow to read it within the write timeout), which ends the stream.
    virtual boost::asio::awaitable<bool> write(std::string_view bytes) = 0;
    // The server drains: the producer writes its last words and returns.
    bool stopping() const noexcept { return stopping_; }
    // `wake` is called once the drain begins (on the connection's thread),
    // so that a producer waiting for something to send can end at once.
    void on_stop(std::function<void()> wake) { wake_ = std::move(wake); }
    void stop() {
        if (stopping_) return;
        stopping_ = true;
        if (wake_) wake_();
    }
    stream_writer(const stream_writer&) = delete;
    stream_writer& operator=(const stream_writer&) = delete;

protected:
    stream_writer() = default;
    ~stream_writer() = default;

private:
    bool stopping_ = false;
    std::function<void()> wake_;
};

// What writes a streamed response's body: run by the connection after the
// head, until it returns (then the last chunk, and the connection closes).
using stream_producer = std::function<boost::asio::awaitable<void>(stream_writer&)>;

// Everything a handler gets for one request; it fills `res`.
struct request_context {
    request& req;
    response& res;
    std::string_view request_id;
    std::string_view route;  // the route template, e.g. /v1/sessions/{id}
    std::string_view query;  // raw query string without '?', may be empty
    path_params params;
    // The connection's verified client certificate; null without one (or
    // over plain HTTP).
    const peer_certificate* peer = nullptr;
    // The connection's TCP peer (a proxy's address behind one); null where
    // there is no connection (a test calling a handler).
    const boost::asio::ip::address* remote = nullptr;
    // Where a handler may set a producer to stream the body (the head is
    // `res` without its body, sent chunked, and the connection closes after
    // the stream); null where streaming is not possible.
    stream_producer* stream = nullptr;
};

using handler = std::function<boost::asio::awaitable<void>(request_context&)>;

// A route's verdict on a request's header alone (`req` has no body yet):
// false, with the refusal set in `res`, when the body need not be read. Used
// for `Expect: 100-continue`, so a request the route refuses anyway (caller,
// scope, content type) gets its answer without a 100 and without sending
// its body.
using header_check = std::function<bool(request_context&)>;

// What the transport needs to know of a route besides its handler.
struct route_options {
    header_check check;  // empty: every header is accepted
    // A health probe: still answered when the connection limit is reached
    // (from a small reserve of connections, closed after the answer).
    bool probe = false;
};

}  // namespace sessiond::http
