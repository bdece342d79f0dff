#pragma once
// Reading JWT claims (RFC 7519) from a verified payload: shared by the
// signed assertions and the back-channel logout.

#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "session/rules.hpp"

namespace sessiond::service::claims {

inline std::int64_t seconds_of(session::timestamp t) {
    return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

// A NumericDate claim (RFC 7519 2): seconds, possibly fractional; nullopt
// when absent or not a finite number.
inline std::optional<double> numeric_date(const boost::json::object& claims, std::string_view name) {
    const auto* v = claims.if_contains(name);
    if (!v) return std::nullopt;
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    if (v->is_double() && std::isfinite(v->as_double())) return v->as_double();
    return std::nullopt;
}

// The string claim `name`, or nullopt when it is absent or not a string.
inline std::optional<std::string_view> string_claim(const boost::json::object& claims, std::string_view name) {
    const auto* v = claims.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string_view(v->as_string());
}

// aud is `audience`, or an array that holds it.
inline bool audience_matches(const boost::json::value* aud, std::string_view audience) {
    if (!aud) return false;
    if (aud->is_string()) return aud->as_string() == audience;
    if (!aud->is_array()) return false;
    const auto& list = aud->as_array();
    return std::any_of(list.begin(), list.end(),
                       [&](const boost::json::value& v) { return v.is_string() && v.as_string() == audience; });
}

}  // namespace sessiond::service::claims
