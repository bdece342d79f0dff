#pragma once
// Request ids: taken from the caller when well-formed, otherwise generated.

#include <string>
#include <string_view>

namespace sessiond::http {

constexpr std::size_t max_request_id_length = 128;

// 1..128 printable ASCII characters (0x20..0x7E: no control character, so
// it is safe in a header; logs escape it), as proto/openapi.yaml allows.
bool valid_request_id(std::string_view id) noexcept;

// A new id, unique within the process and unlikely to repeat across
// processes: a random per-process prefix and a counter. Not a secret.
std::string make_request_id();
// The same, written over `out` (whose storage a connection reuses).
void make_request_id(std::string& out);

}  // namespace sessiond::http
