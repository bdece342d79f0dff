#pragma once
// Strict JSON request bodies: the right content type, an object at the top,
// no unknown fields, and each field of the expected type. Failures fill the
// response with the problem and return nullopt/false, so handlers stay flat.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string_view>

#include "http/types.hpp"

namespace sessiond::api {

// Parses the body as a JSON object (415 for another content type, 400 for
// bad JSON or a non-object). The result's memory comes from `storage`.
// False, with a 415 problem in the response, unless the request says its
// body is application/json.
bool accepts_json(http::request_context& ctx);
std::optional<boost::json::object> parse_object(http::request_context& ctx, boost::json::storage_ptr storage);

// 400 naming the first field of `obj` not in `allowed`.
bool only_fields(http::request_context& ctx, const boost::json::object& obj,
                 std::initializer_list<std::string_view> allowed);

// Field readers: absent -> fallback; wrong type -> 400 and nullopt.
std::optional<std::string_view> get_string(http::request_context& ctx, const boost::json::object& obj,
                                           std::string_view name, bool required);
std::optional<bool> get_bool(http::request_context& ctx, const boost::json::object& obj, std::string_view name,
                             bool fallback);
// An integer in [min, max]; absent -> std::optional<std::optional<>> holding nullopt.
std::optional<std::optional<std::int64_t>> get_int(http::request_context& ctx, const boost::json::object& obj,
                                                   std::string_view name, std::int64_t min, std::int64_t max);

void malformed(http::request_context& ctx, std::string_view detail);

}  // namespace sessiond::api
