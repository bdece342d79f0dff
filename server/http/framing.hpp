#pragma once
// What a request's header says about its framing and expectations, decided
// before its body is read (RFC 9112 §3.2, §6.1, §6.3; RFC 9110 §10.1.1).
// Plain functions of the parsed header, without I/O.

#include <string_view>

#include "http/types.hpp"

namespace sessiond::http {

// Why the header cannot be served (400, then close: the body's extent is
// unknown or ambiguous), or an empty view when it can:
// - a Transfer-Encoding other than exactly `chunked` (sessiond applies no
//   other coding, and without a final chunked the body has no end);
// - Transfer-Encoding together with Content-Length (request smuggling);
// - an HTTP/1.1 request without exactly one Host (HTTP/1.0 may omit it).
std::string_view framing_problem(const request& req);

// An HTTP/1.1 request waiting for `100 Continue` before it sends its body.
bool expects_continue(const request& req);

}  // namespace sessiond::http
