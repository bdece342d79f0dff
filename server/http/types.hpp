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
