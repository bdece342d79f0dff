#include "api/errors.hpp"

#include "http/problem.hpp"
#include "log/log.hpp"
#include "service/errc.hpp"
#include "session/errc.hpp"

namespace sessiond::api {

namespace {

using metrics::token_refusal;
using sessiond::error;
using category_fn = const boost::system::error_category& (*)() noexcept;

// A problem that is the store's own error code, passed through.
constexpr auto same = error{};

struct row {
    category_fn category;  // nullptr: any category
    int value;             // 0: any value of the category not listed above it
    error problem;
    std::string_view detail;  // empty: the error's message()
    std::optional<token_refusal> refusal = std::nullopt;
    http::field header = http::field::unknown;
    std::string_view header_value = {};
};

template <class Enum>
constexpr int v(Enum e) noexcept {
    return static_cast<int>(e);
}

constexpr std::string_view unreachable_detail = "the session store could not be reached in time";

// The first row that matches an error code is its mapping.
const row rows[] = {
    // The session service: refused tokens and lookups.
    {service::service_category, v(service::errc::no_token), error::invalid_session, {}},
    {service::service_category, v(service::errc::unknown_session), error::invalid_session, invalid_token_detail,
     token_refusal::unknown_session},
    {service::service_category, v(service::errc::wrong_secret), error::invalid_session, invalid_token_detail,
     token_refusal::wrong_secret},
    {service::service_category, v(service::errc::session_expired), error::invalid_session, invalid_token_detail,
     token_refusal::expired},
    {service::service_category, v(service::errc::reuse_detected), error::invalid_session, invalid_token_detail,
     token_refusal::reuse},
    {service::service_category, v(service::errc::not_current), error::invalid_session, invalid_token_detail,
     token_refusal::not_current},
    {service::service_category, v(service::errc::signed_out), error::invalid_session, invalid_token_detail,
     token_refusal::signed_out},
    {service::service_category, v(service::errc::reauthentication_required), error::reauthentication_required, {}},
    {service::service_category,
     v(service::errc::concurrent_change),
     error::concurrent_update,
     {},
     std::nullopt,
     http::field::retry_after,
     "0"},
    {service::service_category, v(service::errc::not_found), error::not_found, {}},
    {service::service_category, v(service::errc::unknown_provider), error::malformed_request, {}},
    {service::service_category, 0, error::invalid_session, {}},
    // The domain: tokens that do not decode, and request values it refuses.
    {session::session_category, v(session::errc::malformed_token), error::invalid_session, invalid_token_detail,
     token_refusal::malformed},
    {session::session_category, v(session::errc::bad_prefix), error::invalid_session, invalid_token_detail,
     token_refusal::malformed},
    {session::session_category, v(session::errc::unknown_key), error::invalid_session, invalid_token_detail,
     token_refusal::unknown_key},
    {session::session_category, v(session::errc::bad_tag), error::invalid_session, invalid_token_detail,
     token_refusal::bad_tag},
    {session::session_category, v(session::errc::invalid_user_id), error::malformed_request, {}},
    {session::session_category, v(session::errc::invalid_idle_timeout), error::malformed_request, {}},
    {session::session_category, v(session::errc::invalid_absolute_timeout), error::malformed_request, {}},
    {session::session_category, 0, error::invalid_session, {}},
    // Signed assertions: the message says which check failed.
    {service::assertion_category, v(service::assertion_errc::disabled), error::not_found, {}},
    {service::assertion_category, v(service::assertion_errc::audience_not_allowed), error::malformed_request, {}},
    {service::assertion_category, v(service::assertion_errc::used), error::assertion_used, {}},
    {service::assertion_category,
     0,
     error::invalid_assertion,
     {},
     std::nullopt,
     http::field::www_authenticate,
     "Bearer error=\"invalid_token\""},
    // The store (its classification of Redis failures: store/redis_store.cpp).
    {sessiond::error_category, v(error::store_busy), error::store_busy, "the session store is busy, retry"},
    {sessiond::error_category, v(error::store_full), error::store_full,
     "the embedded session store holds memory-max-sessions sessions; room comes back as sessions expire or are "
     "revoked"},
    {sessiond::error_category, v(error::session_limit), error::session_limit, "the user has reached the session limit"},
    {sessiond::error_category, v(error::session_unreadable), error::session_unreadable,
     "the session was stored by a newer sessiond; an instance of that version can answer"},
    {sessiond::error_category, v(error::store_unacknowledged), error::store_unacknowledged,
     "the write reached the Redis primary but not enough replicas acknowledged it in time, so a failover could "
     "undo it; retry (a revoke or delete again, a rotate with the same Idempotency-Key)"},
    {sessiond::error_category, v(error::store_out_of_memory), error::store_out_of_memory,
     "Redis refused the write: it is out of memory (OOM: maxmemory reached); nothing was written"},
    {sessiond::error_category, v(error::store_forbidden), error::store_forbidden,
     "Redis refused the command: sessiond's Redis user lacks a permission (NOPERM; see deploy/redis/sessiond.acl); "
     "nothing was done"},
    {sessiond::error_category, v(error::store_rejected), error::store_rejected,
     "Redis rejected the command (an error reply; sessiond's log names it); nothing was done"},
    {sessiond::error_category, 0, same, unreachable_detail},
    // Anything else from below is an unavailable store.
    {nullptr, 0, error::store_unavailable, unreachable_detail},
};

const row& row_of(const boost::system::error_code& ec) noexcept {
    for (const auto& r : rows) {
        if (r.category && r.category() != ec.category()) continue;
        if (r.value == 0 || r.value == ec.value()) return r;
    }
    return std::end(rows)[-1];
}

}  // namespace

failure failure_of(const boost::system::error_code& ec) {
    const row& r = row_of(ec);
    failure out{r.problem, r.detail.empty() ? ec.message() : std::string(r.detail), r.refusal, r.header,
                r.header_value};
    if (out.problem == same) out.problem = static_cast<error>(ec.value());
    return out;
}

void set_failure(http::request_context& ctx, const boost::system::error_code& ec, std::string_view detail) {
    const auto f = failure_of(ec);
    if (f.refusal) {
        // The caller gets one detail for every refused token: which key ids
        // exist, whether the id behind a token is live, or whether an
        // outdated token's session is still there is no caller's business.
        // The metric and the debug line keep the reason.
        metrics::tokens_refused.local(*f.refusal).inc();
        log::debug("session token refused", {{"reason", ec.message()}, {"request_id", ctx.request_id}});
    }
    http::set_problem(ctx.res, f.problem, detail.empty() ? std::string_view(f.detail) : detail, ctx.request_id);
    if (f.header != http::field::unknown) ctx.res.set(f.header, f.header_value);
}

std::string requirement_detail(const boost::system::error_code& ec, const session::check_options& required) {
    if (ec != service::errc::reauthentication_required) return {};
    std::string out = "the user must sign in again: this requires";
    if (required.max_auth_age)
        out += " a sign-in within the last " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*required.max_auth_age).count()) +
               " s (max_auth_age)";
    if (required.max_auth_age && required.min_aal > 0) out += " and";
    if (required.min_aal > 0) out += " assurance level " + std::to_string(required.min_aal) + " or above (aal)";
    return out;
}

void set_failure(http::request_context& ctx, const boost::system::error_code& ec) {
    set_failure(ctx, ec, {});
}

}  // namespace sessiond::api
