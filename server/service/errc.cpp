#include "service/errc.hpp"

#include "common/error_category.hpp"

namespace sessiond::service {
namespace {

const char* describe(errc e) noexcept {
    switch (e) {
        case errc::no_token:
            return "no session token";
        case errc::unknown_session:
            return "unknown, expired or revoked session";
        case errc::wrong_secret:
            return "unknown session token";
        case errc::session_expired:
            return "the session has expired";
        case errc::reuse_detected:
            return "a rotated token was reused: the session is revoked";
        case errc::not_current:
            return "only the current token of a session can rotate it";
        case errc::reauthentication_required:
            return "the user authenticated longer ago than max_auth_age";
        case errc::concurrent_change:
            return "the session changed concurrently, retry";
        case errc::not_found:
            return "no such session";
    }
    return "unknown session service error";
}

}  // namespace

const boost::system::error_category& service_category() noexcept {
    static const enum_category<errc> instance("sessiond.service", describe);
    return instance;
}

}  // namespace sessiond::service
