#pragma once
// Strict JSON request bodies: the right content type, an object at the top,
// no unknown fields, and each field of the expected type. Failures fill the
// response with the problem and return nullopt/false, so handlers stay flat.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
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

// A body whose fields are all strings, booleans or integers (validate,
// revoke), read in one pass without building a JSON value: the checks and
// refusals of parse_object and only_fields, word for word, and no
// allocation for the usual body. A string without escapes is a view into
// the request body; one with escapes is unescaped into the field's own
// buffer.
class flat_body {
public:
    static constexpr std::size_t max_fields = 4;
    enum class kind : std::uint8_t { absent, string, boolean, int64, uint64, other };
    struct field {
        std::string_view name;
        kind type = kind::absent;
        bool boolean = false;
        std::int64_t int64 = 0;
        std::uint64_t uint64 = 0;
        std::string_view text;  // kind::string
        std::string unescaped;  // text's storage when the string had escapes
    };

    // The fields a handler knows; any other is refused (only_fields).
    flat_body(std::initializer_list<std::string_view> allowed);
    flat_body(const flat_body&) = delete;  // its fields may be views of its own storage
    flat_body& operator=(const flat_body&) = delete;

    const field* find(std::string_view name) const;

private:
    friend class flat_reader;
    std::array<field, max_fields> fields_;
    std::size_t count_ = 0;
};

// Fills `body` from the request (415 and 400 exactly as parse_object and
// then only_fields would set them); false after a refusal.
bool read_flat(http::request_context& ctx, flat_body& body);

// The field readers over a flat body: the same results and refusals as
// those over an object.
std::optional<std::string_view> get_string(http::request_context& ctx, const flat_body& body, std::string_view name,
                                           bool required);
std::optional<bool> get_bool(http::request_context& ctx, const flat_body& body, std::string_view name, bool fallback);
std::optional<std::optional<std::int64_t>> get_int(http::request_context& ctx, const flat_body& body,
                                                   std::string_view name, std::int64_t min, std::int64_t max);

}  // namespace sessiond::api
