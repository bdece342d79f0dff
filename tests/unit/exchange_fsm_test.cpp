// One connection's exchanges as decisions, without sockets: framing,
// 100-continue, timeouts, the drain and keep-alive (http::exchange_fsm).

#include <catch2/catch.hpp>

#include <boost/beast/http/error.hpp>

#include "http/exchange_fsm.hpp"

using namespace sessiond;
using namespace std::chrono_literals;
using fsm = http::exchange_fsm;
using act = fsm::action;
using st = fsm::state;

namespace {

const http::exchange_limits limits{10'000ms, 60'000ms, 5'000ms, 500ms};

http::request head(std::initializer_list<std::pair<http::field, const char*>> fields, unsigned version = 11) {
    http::request req{http::verb::post, "/v1/sessions", version};
    req.set(http::field::host, "x");
    for (const auto& [name, value] : fields)
        req.insert(name, value);
    return req;
}

// A whole request read and handled: the action that follows on_handled.
act handled(fsm& f, bool wants_keep_alive = true) {
    REQUIRE(f.next_request(false) == act::read);
    REQUIRE(f.on_received() == act::start);
    REQUIRE(f.on_need_more() == act::read);
    REQUIRE(f.on_received() == act::parse);
    REQUIRE(f.on_header(head({}), false) == act::parse);
    REQUIRE(f.on_body_complete() == act::dispatch);
    return f.on_handled(wants_keep_alive);
}

}  // namespace

TEST_CASE("exchange: a request, its response, then keep-alive or close as the request asks") {
    fsm f(limits, false);
    CHECK(handled(f) == act::write);
    CHECK(f.keep_alive());
    CHECK(f.current() == st::responding);
    CHECK(f.timeout() == 5'000ms);
    CHECK(f.on_written(true) == act::keep_alive);
    CHECK(f.current() == st::idle);
    CHECK(f.timeout() == 60'000ms);

    CHECK(handled(f, false) == act::write);
    CHECK_FALSE(f.keep_alive());
    CHECK(f.on_written(true) == act::close_gracefully);
    CHECK(f.current() == st::closed);

    // A failed write: nobody to close politely for.
    fsm lost(limits, false);
    CHECK(handled(lost) == act::write);
    CHECK(lost.on_written(false) == act::close);
}

TEST_CASE("exchange: a pipelined request starts at once, without the idle wait") {
    fsm f(limits, false);
    CHECK(f.next_request(true) == act::start);
    CHECK(f.current() == st::header);
    CHECK(f.timeout() == 10'000ms);
}

TEST_CASE("exchange: a header whose framing cannot be served is refused, then the connection closes") {
    fsm f(limits, false);
    f.next_request(true);
    auto smuggled = head({{http::field::transfer_encoding, "chunked"}, {http::field::content_length, "5"}});
    CHECK(f.on_header(smuggled, false) == act::refuse);
    CHECK(f.current() == st::refusing);
    auto [e, detail] = f.refusal(http_config{});
    CHECK(e == error::malformed_request);
    CHECK(detail == "Transfer-Encoding and Content-Length must not be sent together");
    CHECK(f.timeout() == 5'000ms);
    // Written or not, the refusal ends the connection politely.
    CHECK(f.on_written(false) == act::close_gracefully);
}

TEST_CASE("exchange: a parse error is refused with its problem") {
    http_config cfg;
    fsm f(limits, false);
    f.next_request(true);
    CHECK(f.on_parse_error(boost::beast::http::error::body_limit) == act::refuse);
    CHECK(f.refusal(cfg).first == error::body_too_large);
    f.next_request(true);
    CHECK(f.on_parse_error(boost::beast::http::error::header_limit) == act::refuse);
    CHECK(f.refusal(cfg).first == error::headers_too_large);
    f.next_request(true);
    CHECK(f.on_parse_error(boost::beast::http::error::bad_method) == act::refuse);
    CHECK(f.refusal(cfg).first == error::malformed_request);
}

TEST_CASE("exchange: 100-continue only when the body waits for it; the route may refuse first") {
    auto expecting = head({{http::field::content_length, "5"}, {http::field::expect, "100-continue"}});

    fsm f(limits, false);
    f.next_request(true);
    // The body is already buffered: the client did not wait.
    CHECK(f.on_header(expecting, false) == act::parse);
    CHECK(f.current() == st::body);
    // HTTP/1.0 knows no 100 Continue.
    f.next_request(true);
    CHECK(f.on_header(head({{http::field::expect, "100-continue"}}, 10), true) == act::parse);

    f.next_request(true);
    REQUIRE(f.on_header(expecting, true) == act::check_header);
    CHECK(f.on_header_verdict(fsm::verdict::accepted) == act::send_continue);
    CHECK(f.current() == st::continuing);
    CHECK(f.on_written(true) == act::parse);
    CHECK(f.current() == st::body);
    CHECK(f.on_need_more() == act::read);
    CHECK(f.on_body_complete() == act::dispatch);
    CHECK(f.on_handled(true) == act::write);
    CHECK(f.keep_alive());

    SECTION("a 100 that cannot be written: the peer is gone") {
        fsm g(limits, false);
        g.next_request(true);
        g.on_header(expecting, true);
        g.on_header_verdict(fsm::verdict::accepted);
        CHECK(g.on_written(false) == act::close);
    }
    SECTION("refused by the route: its answer, without the body, then close") {
        fsm g(limits, false);
        g.next_request(true);
        g.on_header(expecting, true);
        CHECK(g.on_header_verdict(fsm::verdict::refused) == act::write);
        CHECK_FALSE(g.keep_alive());
        CHECK(g.on_written(true) == act::close_gracefully);
    }
    SECTION("no route: dispatched for its 404 or 405, then close") {
        fsm g(limits, false);
        g.next_request(true);
        g.on_header(expecting, true);
        CHECK(g.on_header_verdict(fsm::verdict::no_route) == act::dispatch);
        CHECK(g.on_handled(true) == act::write);
        CHECK_FALSE(g.keep_alive());
    }
}

TEST_CASE("exchange: timeouts: 408 within a request, a silent close between requests") {
    fsm f(limits, false);
    CHECK(f.next_request(false) == act::read);
    CHECK(f.on_timeout() == act::close);

    f.next_request(true);
    CHECK(f.on_timeout() == act::refuse);
    auto [e, detail] = f.refusal(http_config{});
    CHECK(e == error::request_timeout);
    CHECK(detail == "the request was not received within 10000 ms");

    f.next_request(true);
    f.on_header(head({{http::field::content_length, "5"}}), false);
    CHECK(f.on_timeout() == act::refuse);

    f.next_request(false);
    CHECK(f.on_lost() == act::close);
}

TEST_CASE("exchange: draining, a connection answers what it received, then closes") {
    fsm f(limits, false);
    CHECK(handled(f) == act::write);
    f.on_drain_begun();
    CHECK(f.draining());

    // Whether to keep the connection: only if the next request is there.
    REQUIRE(f.next_request(true) == act::start);
    f.on_header(head({}), false);
    f.on_body_complete();
    CHECK(f.on_handled(true) == act::look_ahead);
    CHECK(f.on_looked_ahead(true) == act::write);
    CHECK(f.keep_alive());
    CHECK(f.on_written(true) == act::keep_alive);
    // Between requests, only the linger.
    CHECK(f.timeout() == 500ms);

    f.next_request(true);
    f.on_header(head({}), false);
    f.on_body_complete();
    CHECK(f.on_handled(true) == act::look_ahead);
    CHECK(f.on_looked_ahead(false) == act::write);
    CHECK_FALSE(f.keep_alive());
    CHECK(f.on_written(true) == act::close_gracefully);

    // A request that closes anyway needs no look ahead.
    fsm g(limits, false);
    g.on_drain_begun();
    CHECK(handled(g, false) == act::write);
}

TEST_CASE("exchange: a probe-reserve connection serves one request within the read timeout") {
    fsm f(limits, true);
    CHECK(f.next_request(false) == act::read);
    CHECK(f.timeout() == 10'000ms);  // not the idle timeout
    f.on_drain_begun();
    CHECK(f.timeout() == 10'000ms);
    CHECK(handled(f) == act::write);
    CHECK_FALSE(f.keep_alive());
    CHECK(f.on_written(true) == act::close_gracefully);
}

TEST_CASE("exchange: a streamed response: the head, the producer, then the close; never kept alive") {
    fsm f(limits, false);
    REQUIRE(f.next_request(false) == act::read);
    REQUIRE(f.on_received() == act::start);
    REQUIRE(f.on_header(head({}), false) == act::parse);
    REQUIRE(f.on_body_complete() == act::dispatch);
    CHECK(f.on_handled(true, true) == act::write);
    CHECK(f.streamed());
    CHECK_FALSE(f.keep_alive());
    CHECK(f.current() == st::responding);
    CHECK(f.on_written(true) == act::stream);
    CHECK(f.current() == st::streaming);
    CHECK(f.timeout() == 5'000ms);  // each chunk's write
    CHECK(f.on_streamed() == act::close_gracefully);
    CHECK(f.current() == st::closed);

    // The head could not be written: nothing to stream to.
    fsm lost(limits, false);
    REQUIRE(lost.next_request(true) == act::start);
    REQUIRE(lost.on_header(head({}), false) == act::parse);
    REQUIRE(lost.on_body_complete() == act::dispatch);
    CHECK(lost.on_handled(true, true) == act::write);
    CHECK(lost.on_written(false) == act::close);

    // The next request starts with no stream.
    fsm again(limits, false);
    CHECK(handled(again) == act::write);
    CHECK_FALSE(again.streamed());
    CHECK(again.on_written(true) == act::keep_alive);
    CHECK_FALSE(again.streamed());
}

TEST_CASE("exchange: draining, a streamed response still gets its head and stream (the producer ends it)") {
    fsm f(limits, false);
    REQUIRE(f.next_request(false) == act::read);
    REQUIRE(f.on_received() == act::start);
    REQUIRE(f.on_header(head({}), false) == act::parse);
    REQUIRE(f.on_body_complete() == act::dispatch);
    f.on_drain_begun();
    // No look-ahead for a next request: the stream ends the connection.
    CHECK(f.on_handled(true, true) == act::write);
    CHECK(f.on_written(true) == act::stream);
    CHECK(f.draining());
    CHECK(f.on_streamed() == act::close_gracefully);
}

TEST_CASE("exchange: on_streamed outside a stream closes") {
    fsm f(limits, false);
    CHECK(handled(f) == act::write);
    CHECK(f.on_streamed() == act::close);
}
