#include "session/errc.hpp"

#include "common/error_category.hpp"

namespace sessiond::session {
namespace {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::malformed_token:
            return "malformed token";
        case errc::bad_prefix:
            return "token prefix does not match";
        case errc::unknown_key:
            return "token signed with a key that is not accepted";
        case errc::bad_tag:
            return "token authentication tag does not match";
        case errc::invalid_user_id:
            return "user_id must be 1..256 bytes of UTF-8 without control characters";
        case errc::invalid_idle_timeout:
            return "idle_timeout out of the allowed range";
        case errc::invalid_absolute_timeout:
            return "absolute_timeout out of the allowed range";
    }
    return "unknown session error";
}

}  // namespace

const boost::system::error_category& session_category() noexcept {
    static const enum_category<errc> instance("sessiond.session", describe);
    return instance;
}

}  // namespace sessiond::session
