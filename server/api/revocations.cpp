#include "api/revocations.hpp"

#include <boost/json/monotonic_resource.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/authorization.hpp"
#include "api/errors.hpp"
#include "api/json_body.hpp"
#include "common/json_text.hpp"
#include "http/problem.hpp"
#include "session/rules.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
namespace json = boost::json;

void reply_revocation(http::request_context& ctx, const service::user_revocation& outcome) {
    if (outcome.failure && outcome.revoked == 0) return set_failure(ctx, outcome.failure);
    if (outcome.failure) {
        // Some went, others may remain: say so, and that repeating is safe.
        return set_failure(ctx, outcome.failure,
                           std::to_string(outcome.revoked) +
                               " of the user's sessions were revoked before the session store failed; others "
                               "may remain: repeat the request to revoke them");
    }
    http::set_json(ctx.res, http::status::ok, R"({"revoked":)" + std::to_string(outcome.revoked) + "}");
}

namespace {

// The request's user ids: 1..max_bulk_users distinct user ids; nullopt
// after a 400.
std::optional<std::vector<std::string_view>> read_user_ids(http::request_context& ctx, const json::object& body) {
    const auto* list = body.if_contains("user_ids");
    if (list == nullptr || !list->is_array() || list->as_array().empty() || list->as_array().size() > max_bulk_users) {
        malformed(ctx, "user_ids must be an array of 1 to " + std::to_string(max_bulk_users) + " user ids");
        return std::nullopt;
    }
    std::vector<std::string_view> ids;
    std::set<std::string_view> seen;
    for (const auto& v : list->as_array()) {
        const auto at = "user_ids[" + std::to_string(ids.size()) + "]";
        const std::string_view user_id = v.is_string() ? std::string_view(v.as_string()) : std::string_view();
        if (!v.is_string() || !session::valid_user_id(user_id)) {
            malformed(ctx, at + " must be 1..256 bytes of UTF-8 without control characters");
            return std::nullopt;
        }
        if (!seen.insert(user_id).second) {
            malformed(ctx, at + " repeats an earlier user id");
            return std::nullopt;
        }
        ids.push_back(user_id);
    }
    return ids;
}

}  // namespace

asio::awaitable<void> revoke_users(http::request_context& ctx, service::session_service& sessions,
                                   std::shared_ptr<const caller> who) {
    if (!who) co_return;
    unsigned char buffer[4096];
    json::monotonic_resource mr(buffer, sizeof buffer);
    auto body = parse_object(ctx, &mr);
    if (!body || !only_fields(ctx, *body, {"user_ids"})) co_return;
    const auto ids = read_user_ids(ctx, *body);
    if (!ids) co_return;

    // One user after another: each revocation does bounded work per store
    // call, and a store failure for one user does not stop the next.
    std::string out = R"({"results":[)";
    std::size_t failed = 0, revoked = 0;
    boost::system::error_code first_failure;
    for (const auto user_id : *ids) {
        const auto outcome = co_await sessions.revoke_user(user_id, std::nullopt, actor_of(*who, ctx));
        if (out.back() != '[') out += ',';
        out += R"({"user_id":)";
        append_json_string(out, user_id);
        out.append(R"(,"revoked":)").append(std::to_string(outcome.revoked));
        if (outcome.failure) {
            if (failed++ == 0) first_failure = outcome.failure;
            out += R"(,"error":)";
            append_json_string(out, sessiond::problem_for(failure_of(outcome.failure).problem).code);
        }
        out += '}';
        revoked += outcome.revoked;
    }
    out += "]}";
    if (failed == ids->size()) {
        co_return set_failure(ctx, first_failure,
                              "the session store failed for every user; " + std::to_string(revoked) +
                                  " sessions were revoked before it did: repeat the request to revoke the rest");
    }
    http::set_json(ctx.res, http::status::ok, std::move(out));
}

}  // namespace sessiond::api
