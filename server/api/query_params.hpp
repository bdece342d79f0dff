#pragma once
// A route's own query parameters, read strictly: an unknown, repeated or
// badly encoded parameter is refused with 400 rather than ignored, so a typo
// never drops a requirement and a parameter has one value.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "http/router.hpp"

namespace sessiond::api {

// The next non-empty `name=value` pair of `query` (its raw text; value
// empty without '='), taken off its front; false at the end.
bool next_param(std::string_view& query, std::string_view& name, std::string_view& value);

// The query of a route that takes the named parameters, each at most once
// (400 set and false returned otherwise).
bool only_params(http::request_context& ctx, std::initializer_list<std::string_view> known);

// A query parameter: nullopt when it is absent; false when it is present but
// not correctly percent-encoded (and 400 has been set).
bool read_param(http::request_context& ctx, std::string_view name, std::optional<std::string>& out);

}  // namespace sessiond::api
