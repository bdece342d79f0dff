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
        case errc::signed_out:
            return "the session was ended by a \"not before\" instant";
        case errc::unknown_provider:
            return "provider.name names no configured OIDC provider (oidc-providers)";
    }
    return "unknown session service error";
}

const char* describe(assertion_errc e) noexcept {
    switch (e) {
        case assertion_errc::disabled:
            return "signed assertions are not configured (assertion-keys)";
        case assertion_errc::audience_not_allowed:
            return "audience is not on assertion-audiences";
        case assertion_errc::malformed:
            return "the assertion is not a well-formed JWT of this issuer";
        case assertion_errc::algorithm:
            return "the assertion's alg is not allowed: only the alg of the key named by kid (EdDSA or ES256)";
        case assertion_errc::unknown_key:
            return "the assertion's kid names no key in the JWKS";
        case assertion_errc::signature:
            return "the assertion's signature does not verify";
        case assertion_errc::issuer:
            return "the assertion was issued by someone else";
        case assertion_errc::audience:
            return "the assertion is for another audience";
        case assertion_errc::expired:
            return "the assertion has expired";
        case assertion_errc::not_yet_valid:
            return "the assertion is not valid yet";
        case assertion_errc::session:
            return "the assertion's session is no longer live";
        case assertion_errc::used:
            return "the assertion has been redeemed before";
    }
    return "unknown assertion error";
}

}  // namespace

const boost::system::error_category& assertion_category() noexcept {
    static const enum_category<assertion_errc> instance("sessiond.assertion", describe);
    return instance;
}

const boost::system::error_category& service_category() noexcept {
    static const enum_category<errc> instance("sessiond.service", describe);
    return instance;
}

}  // namespace sessiond::service
