#pragma once
// The API face of a session record: the `session` object of every reply.
// Timestamps are RFC 3339 in UTC with milliseconds; digests never appear.

#include <boost/json/object.hpp>

#include <cstddef>
#include <span>
#include <string>

#include "session/rfc3339.hpp"
#include "session/session_record.hpp"

namespace sessiond::api {

using session::format_rfc3339;
using session::rfc3339_size;

// The session object: id, user_id, metadata (parsed), created_at,
// last_seen_at, idle_expires_at, expires_at, rotated_at (or null),
// authenticated_at; and, where the session has them, device {user_agent,
// label, created_address, last_address}, aal, amr, tenant and provider
// {name, sid}. Throws std::invalid_argument if metadata is not a JSON
// object (the API validates it before it is ever stored).
boost::json::object to_json(const session::session_record& r);

// The same object serialized straight onto `out`, with metadata copied
// verbatim instead of parsed and re-serialized: the fast path for responses.
void append_json(const session::session_record& r, std::string& out);

}  // namespace sessiond::api
