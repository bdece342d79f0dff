#pragma once
// One request/response exchange, apart from the connection that carries it:
// the parser's limits, feeding the parser and telling exchange_fsm what came
// of it, the route's verdict on a header, the problem for a request that is
// refused, routing to a handler, and the response's bytes. Each connection of
// http::server runs its requests through these, as exchange_fsm decides;
// handle_one drives the same decisions on bytes without a socket (fuzzing,
// tests).

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "config/config.hpp"
#include "http/exchange_fsm.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

namespace sessiond::http {

using request_parser = beast_http::request_parser<beast_http::string_body, field_allocator<char>>;

// The server's parser limits: header and body sizes from `cfg`. (Whether the
// body is parsed with the header is the caller's choice: a connection reads
// the header first, to check it before the body.)
void apply_limits(request_parser& parser, const http_config& cfg);

// The problem code and detail for a request the parser refused with `ec`.
std::pair<sessiond::error, std::string> parse_failure(const boost::system::error_code& ec, const http_config& cfg);

// The interim answer to `Expect: 100-continue`.
inline constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// Feeds `parser` what `buffer` holds and tells `fsm` what came of it (a
// parse error, the header, the whole request, or a need for more), returning
// its next action. Once the header is accepted the parser takes the body
// eagerly and `rid` holds the request's id (the client's, if valid).
exchange_fsm::action parse_buffered(exchange_fsm& fsm, request_parser& parser, boost::beast::flat_buffer& buffer,
                                    std::string& rid, const http_config& cfg);

// The route's verdict on a header alone (Expect: 100-continue): `m` gets the
// match, and a refusal is set in `res`.
exchange_fsm::verdict header_verdict(const router& routes, request& head, response& res, std::string_view rid,
                                     const peer_certificate* peer, std::optional<router::match_result>& m,
                                     const boost::asio::ip::address* remote = nullptr);

// The problem that ends the connection, as `fsm` refused the request; `rid`
// gets an id if the request had none yet.
void set_refusal(response& res, const exchange_fsm& fsm, std::string& rid, const http_config& cfg);

// The handled response's last fields: its id, Connection, Content-Length.
void finish_response(response& res, std::string_view rid, bool keep_alive, const http_config& cfg);

// The head of a streamed response (the route set a stream_producer): its
// id, Connection: close, chunked (HTTP/1.1; HTTP/1.0: ended by the close).
void finish_streamed_head(response& res, std::string_view rid, const http_config& cfg);
// `bytes` as one chunk appended to `out` (nothing for no bytes), and the
// chunk that ends a chunked body.
void append_chunk(std::string& out, std::string_view bytes);
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// The path and the query of a request target.
std::string_view path_of(std::string_view target);
std::string_view query_of(std::string_view target);

// Runs the handler of the route `m` matched for `req`, which fills `res`; an
// unknown path, a method not allowed and a handler that throws become
// problems. `stream`: where the handler may set a producer to stream the
// body (request_context::stream).
boost::asio::awaitable<void> dispatch(router::match_result& m, request& req, response& res, std::string_view request_id,
                                      const peer_certificate* peer = nullptr,
                                      const boost::asio::ip::address* remote = nullptr,
                                      stream_producer* stream = nullptr);

// The problem+json answer that ends a connection (with the request id, and
// Connection: close).
void set_final_problem(response& res, sessiond::error e, std::string_view detail, std::string_view rid,
                       const std::string& rid_header);

// The response as bytes on the wire, in `out` (reused across requests): one
// contiguous buffer and one write, cheaper than Beast's serializer. The
// answer to HEAD has the header of the answer to GET, without the body.
void serialize(const response& res, std::string& out, bool with_body = true);

// What a connection would write in answer to the first request in `bytes`,
// received at once: exchange_fsm's decisions (framing, 100-continue, early
// refusal by route, keep-alive) driven with the server's limits, the request
// routed and handled, the response serialized; a 100 Continue before it where
// one would be sent. Input that ends before the request does is answered as a
// request that does not parse (a connection would wait for the rest); bytes
// after the first request are ignored.
boost::asio::awaitable<std::string> handle_one(const router& routes, const http_config& cfg, std::string_view bytes);

}  // namespace sessiond::http
