#pragma once
// One request/response exchange, apart from the connection that carries it:
// the parser's limits, the problem for a request that does not parse, routing
// to a handler, and the response's bytes. Each connection of http::server
// runs its requests through these; handle_one runs a whole exchange from
// bytes without a socket (fuzzing, tests).

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "config/config.hpp"
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

// The path and the query of a request target.
std::string_view path_of(std::string_view target);
std::string_view query_of(std::string_view target);

// Runs the handler of the route `m` matched for `req`, which fills `res`; an
// unknown path, a method not allowed and a handler that throws become
// problems.
boost::asio::awaitable<void> dispatch(router::match_result& m, request& req, response& res, std::string_view request_id,
                                      const peer_certificate* peer = nullptr);

// The problem+json answer that ends a connection (with the request id, and
// Connection: close).
void set_final_problem(response& res, sessiond::error e, std::string_view detail, std::string_view rid,
                       const std::string& rid_header);

// The response as bytes on the wire, in `out` (reused across requests): one
// contiguous buffer and one write, cheaper than Beast's serializer. The
// answer to HEAD has the header of the answer to GET, without the body.
void serialize(const response& res, std::string& out, bool with_body = true);

// The serialized response to the first request in `bytes`, parsed with the
// server's limits and framing rules, routed and handled as a connection
// would. Input that ends
// before the request does is answered as a request that does not parse (a
// connection would wait for the rest); bytes after the first request are
// ignored.
boost::asio::awaitable<std::string> handle_one(const router& routes, const http_config& cfg, std::string_view bytes);

}  // namespace sessiond::http
