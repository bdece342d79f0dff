#pragma once
// Timestamps as every reply, event and document of sessiond writes them:
// RFC 3339 in UTC with milliseconds.

#include <cstddef>
#include <span>
#include <string>

#include "session/session_record.hpp"

namespace sessiond::session {

// "2026-11-26T06:16:03.123Z": always 24 characters, UTC, milliseconds.
// Timestamps outside [min_timestamp, max_timestamp] are clamped into it.
inline constexpr std::size_t rfc3339_size = 24;
void format_rfc3339(timestamp t, std::span<char, rfc3339_size> out) noexcept;
std::string format_rfc3339(timestamp t);

}  // namespace sessiond::session
