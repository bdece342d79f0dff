#pragma once
// Every failure a caller of the HTTP API can see, as one error enum that
// converts to error_code, and its one mapping to status and problem+json code.

#include <boost/system/error_code.hpp>

#include <string_view>

namespace sessiond {

enum class error {
    malformed_request = 1,
    not_found,
    method_not_allowed,
    body_too_large,
    unsupported_media_type,
    headers_too_large,
    request_timeout,
    invalid_session,
    reauthentication_required,
    unauthenticated,
    forbidden,
    session_limit,
    concurrent_update,
    store_unavailable,
    store_busy,
    store_full,
    too_many_connections,
    session_unreadable,
    store_unacknowledged,  // durable writes: the replicas did not confirm in time (code store_unavailable)
    invalid_assertion,
    assertion_used,
    store_out_of_memory,  // Redis refused a write: OOM (code store_unavailable)
    store_forbidden,      // Redis refused a command: NOPERM (code store_unavailable)
    store_rejected,       // Redis refused a command otherwise (code store_unavailable)
    internal_error,
};

struct problem_kind {
    unsigned status;
    std::string_view code;   // stable, machine-readable
    std::string_view title;  // short, human-readable
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// The status and code for an error of this category; anything else is a 500.
const problem_kind& problem_for(const boost::system::error_code& ec) noexcept;
const problem_kind& problem_for(error e) noexcept;

}  // namespace sessiond

template <>
struct boost::system::is_error_code_enum<sessiond::error> : std::true_type {};
