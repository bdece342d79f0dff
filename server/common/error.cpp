#include "common/error.hpp"

#include <string>

namespace sessiond {

namespace {

const problem_kind kinds[] = {
    {500, "internal_error", "Internal error"},  // 0: not an error value, never used
    {400, "malformed_request", "Malformed request"},
    {404, "not_found", "Not found"},
    {405, "method_not_allowed", "Method not allowed"},
    {413, "body_too_large", "Request body too large"},
    {415, "unsupported_media_type", "Unsupported media type"},
    {431, "headers_too_large", "Request header fields too large"},
    {408, "request_timeout", "Request timeout"},
    {401, "invalid_session", "Invalid session"},
    {401, "reauthentication_required", "Reauthentication required"},
    {401, "unauthenticated", "Unauthenticated"},
    {403, "forbidden", "Forbidden"},
    {409, "session_limit", "Session limit reached"},
    {409, "concurrent_update", "Concurrent update"},
    {503, "store_unavailable", "Session store unavailable"},
    {503, "store_busy", "Session store busy"},
    {503, "store_full", "Session store full"},
    {503, "too_many_connections", "Too many connections"},
    {503, "session_unreadable", "Session stored by a newer version"},
    {503, "store_unavailable", "Session store write not acknowledged by replicas"},
    {401, "invalid_assertion", "Invalid assertion"},
    {409, "assertion_used", "Assertion already redeemed"},
    {503, "store_unavailable", "Session store out of memory"},
    {503, "store_unavailable", "Session store refused the command: permission"},
    {503, "store_unavailable", "Session store refused the command"},
    {500, "internal_error", "Internal error"},
};
static_assert(std::size(kinds) == static_cast<std::size_t>(error::internal_error) + 1);

class category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sessiond"; }
    std::string message(int ev) const override {
        if (ev <= 0 || ev > static_cast<int>(error::internal_error)) return "unknown error";
        return std::string(kinds[ev].title);
    }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
    static const category_impl instance;
    return instance;
}

const problem_kind& problem_for(error e) noexcept {
    auto i = static_cast<std::size_t>(e);
    return i < std::size(kinds) && i > 0 ? kinds[i] : kinds[static_cast<std::size_t>(error::internal_error)];
}

const problem_kind& problem_for(const boost::system::error_code& ec) noexcept {
    if (ec.category() == error_category()) return problem_for(static_cast<error>(ec.value()));
    return kinds[static_cast<std::size_t>(error::internal_error)];
}

}  // namespace sessiond
