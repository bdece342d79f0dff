#pragma once
// The decisions of one connection's exchanges, without I/O: what to do next
// on each thing that happens (bytes received, a header parsed, a body
// complete, a parse error, a timeout, the drain begun, a response written).
// A connection's coroutine (connection.cpp) does the I/O and asks it; so
// does http::handle_one, on bytes alone, so that the fuzzer drives the same
// decisions. No allocation: a few flags and the limits.
//
//   idle --received--> header --header ok--> body --complete--> handling
//     ^                  |  \--Expect: 100-continue--> (verdict) --> continuing --> body
//     |                  |                                \--refused--> handling / responding
//     |        parse error, framing, timeout --> refusing --written--> close gracefully
//     |                                         handling --handled--> responding
//     +------------------- keep alive <--written-- responding --written--> close (gracefully)
//                                                    |
//                     streamed: the head --written--> streaming --streamed--> close gracefully

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "config/config.hpp"
#include "http/types.hpp"

namespace sessiond::http {

// A connection's deadlines.
struct exchange_limits {
    std::chrono::milliseconds read_timeout;   // a whole request, once it began
    std::chrono::milliseconds idle_timeout;   // between requests
    std::chrono::milliseconds write_timeout;  // a whole response
    std::chrono::milliseconds drain_linger;   // draining: between requests
};

class exchange_fsm {
public:
    enum class state : std::uint8_t {
        idle,        // between requests: waiting for the next one's first bytes
        header,      // reading the request's header
        body,        // the header is accepted: reading the body
        continuing,  // writing 100 Continue
        handling,    // the request is whole (or refused on its header): routing it
        responding,  // writing the response (a streamed one's head)
        streaming,   // a streamed response's body: the route's producer writes it
        refusing,    // writing the problem that ends the connection
        closed,      // nothing more on this connection
    };

    enum class action : std::uint8_t {
        read,              // read from the peer within timeout(), then on_received (or on_timeout, on_lost)
        start,             // a request begins: a fresh parser and response, timeout() for all of it; then parse
        parse,             // feed the parser what is buffered: on_header, on_need_more, on_body_complete
        check_header,      // ask the route about the header alone (Expect: 100-continue): on_header_verdict
        send_continue,     // write 100 Continue, then on_written
        refuse,            // write refusal() with Connection: close, then on_written
        dispatch,          // route the request to its handler, then on_handled
        look_ahead,        // draining: take what the peer already sent, then on_looked_ahead
        write,             // write the response, Connection as keep_alive() (streamed(): the head), then on_written
        stream,            // run the route's producer, each chunk within timeout(), then the last chunk: on_streamed
        keep_alive,        // the next request on this connection: next_request
        close_gracefully,  // stop sending, then discard what the peer still sends, briefly
        close,             // close at once: nobody to answer
    };

    // The route's answer to a header that expects 100-continue.
    enum class verdict : std::uint8_t {
        accepted,  // the body may come
        no_route,  // no handler for it: dispatching answers 404 or 405
        refused,   // refused by the route, whose answer is set
    };

    // `reserved`: a connection from the probe reserve (one request, then close).
    exchange_fsm(const exchange_limits& limits, bool reserved) noexcept : limits_(limits), reserved_(reserved) {}

    // Events.
    action next_request(bool received) noexcept;  // between requests; `received`: bytes are buffered
    action on_received() noexcept;
    action on_need_more() noexcept;
    // `body_unsent`: the body is still to come and nothing of it is buffered.
    action on_header(const request& head, bool body_unsent) noexcept;
    action on_header_verdict(verdict v) noexcept;
    action on_body_complete() noexcept;
    action on_parse_error(const boost::system::error_code& ec) noexcept;
    action on_timeout() noexcept;  // a read past its deadline
    action on_lost() noexcept;     // the peer closed or reset
    // `streamed`: the route set a producer for the body (never kept alive).
    action on_handled(bool wants_keep_alive, bool streamed = false) noexcept;
    action on_looked_ahead(bool next_received) noexcept;
    action on_written(bool ok) noexcept;
    action on_streamed() noexcept;  // the producer returned (the last chunk is written, or the peer is gone)
    // From now on, answer what was received and close; an idle connection
    // waits timeout() (the drain linger) for a request.
    void on_drain_begun() noexcept { draining_ = true; }

    // Queries.
    state current() const noexcept { return state_; }
    bool keep_alive() const noexcept { return keep_alive_; }  // the response's Connection
    bool streamed() const noexcept { return streamed_; }      // the response's body is streamed
    bool draining() const noexcept { return draining_; }
    bool reserved() const noexcept { return reserved_; }
    // The deadline of the current state (from its start).
    std::chrono::milliseconds timeout() const noexcept;
    // The problem to answer in state refusing (error paths only allocate).
    std::pair<sessiond::error, std::string> refusal(const http_config& cfg) const;

private:
    enum class cause : std::uint8_t { none, parse_error, framing, timeout };
    action to(state s, action a) noexcept {
        state_ = s;
        return a;
    }
    action refuse(cause c) noexcept;

    exchange_limits limits_;
    state state_ = state::idle;
    cause cause_ = cause::none;
    bool reserved_;
    bool draining_ = false;
    bool refused_early_ = false;  // refused on its header: the body was never asked for
    bool keep_alive_ = false;
    bool streamed_ = false;
    boost::system::error_code parse_error_;
    std::string_view framing_;  // static text (framing_problem)
};

}  // namespace sessiond::http
