#pragma once
// The domain layer's expected failures, as one enum that converts to
// boost::system::error_code (category "sessiond.session"). The API layer maps
// all token errors to 401 invalid_session and may put message() in `detail`.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace sessiond::session {

enum class errc {
    // token_codec::decode — the order is the order of the checks
    malformed_token = 1,  // wrong length, not canonical base64url, unknown version, bucket out of range
    bad_prefix,           // not this deployment's token prefix
    unknown_key,          // key id not (or no longer) accepted
    bad_tag,              // MAC mismatch: forged or mangled
    // rules::new_record
    invalid_user_id,           // not valid_user_id: empty, too long, not UTF-8, control characters
    invalid_idle_timeout,      // <= 0 or above the configured maximum
    invalid_absolute_timeout,  // <= 0 or above the configured maximum
};

const boost::system::error_category& session_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), session_category()};
}

}  // namespace sessiond::session

template <>
struct boost::system::is_error_code_enum<sessiond::session::errc> : std::true_type {};
