#include "api/query_params.hpp"

#include <algorithm>
#include <vector>

#include "api/json_body.hpp"
#include "http/router.hpp"

namespace sessiond::api {

// The next non-empty `name=value` pair of `query` (its raw text; value
// empty without '='), taken off its front; false at the end.
bool next_param(std::string_view& query, std::string_view& name, std::string_view& value) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        name = pair.substr(0, eq);
        value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        return true;
    }
    return false;
}

// The query of a route that takes the named parameters, each at most once:
// an unknown or repeated one is refused (400 set, false returned), as on
// /v1/auth, so a typo never drops a requirement and a parameter has one value.
bool only_params(http::request_context& ctx, std::initializer_list<std::string_view> known) {
    std::vector<std::string_view> seen;
    std::string_view query = ctx.query;
    std::string_view name, value;
    while (next_param(query, name, value)) {
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            std::string list;
            for (auto k : known)
                list += (list.empty() ? "" : ", ") + std::string(k);
            malformed(ctx, "unknown query parameter: this route takes " + list);
            return false;
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            malformed(ctx, std::string(name) + " is given more than once");
            return false;
        }
        seen.push_back(name);
    }
    return true;
}

// A query parameter: nullopt when it is absent; false when it is present but
// not correctly percent-encoded (and 400 has been set).
bool read_param(http::request_context& ctx, std::string_view name, std::optional<std::string>& out) {
    out = http::query_param(ctx.query, name);
    if (out) return true;
    std::string assignment = std::string(name) + '=';
    if (ctx.query.starts_with(assignment) || ctx.query.find('&' + assignment) != std::string_view::npos) {
        malformed(ctx, std::string(name) + " is not correctly percent-encoded");
        return false;
    }
    return true;
}

}  // namespace sessiond::api
