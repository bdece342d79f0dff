// JSON request bodies: parse_object with its strict checks (content type, one
// object, no duplicate key, finite numbers, depth), then only_fields and the
// typed readers the handlers use, over the fields the API knows; and the
// one-pass reader of flat bodies (validate, revoke), which must answer
// exactly as those do.

#include <boost/json/monotonic_resource.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/json_body.hpp"

using namespace sessiond;

namespace {

// What a handler reading `allowed` (validate's fields, or revoke's) makes of
// the body: the response and the values, through the object readers or
// through read_flat.
std::string outcome(std::string_view body, std::initializer_list<std::string_view> allowed, bool flat) {
    http::request req{http::verb::post, "/v1/sessions/validate", 11};
    req.set(http::field::content_type, "application/json");
    req.body().assign(body.data(), body.size());
    http::response res;
    http::request_context ctx{req, res, "fuzz", "/v1/sessions/validate", {}, {}};
    std::string values;
    auto read = [&](const auto& fields) {
        auto token = api::get_string(ctx, fields, "token", true);
        if (!token) return;
        values += "token=" + std::string(*token);
        if (allowed.size() == 1) return;
        auto touch = api::get_bool(ctx, fields, "touch", true);
        if (!touch) return;
        values += *touch ? " touch" : " no-touch";
        auto age = api::get_int(ctx, fields, "max_auth_age", 0, INT32_MAX);
        if (!age) return;
        values += " age=" + (*age ? std::to_string(**age) : std::string("-"));
    };
    if (flat) {
        api::flat_body fields(allowed);
        if (api::read_flat(ctx, fields)) read(fields);
    } else {
        boost::json::monotonic_resource mr;
        auto obj = api::parse_object(ctx, &mr);
        if (obj && api::only_fields(ctx, *obj, allowed)) read(*obj);
    }
    return std::to_string(res.result_int()) + " " + res.body() + " | " + values;
}

void same_as_object_readers(std::string_view body) {
    for (const auto& allowed : {std::initializer_list<std::string_view>{"token", "touch", "max_auth_age"},
                                std::initializer_list<std::string_view>{"token"}})
        if (outcome(body, allowed, true) != outcome(body, allowed, false)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    same_as_object_readers(std::string_view(reinterpret_cast<const char*>(data), size));
    http::request req{http::verb::post, "/v1/sessions", 11};
    req.set(http::field::content_type, "application/json");
    req.body().assign(reinterpret_cast<const char*>(data), size);
    http::response res;
    http::request_context ctx{req, res, "fuzz", "/v1/sessions", {}, {}};

    boost::json::monotonic_resource mr;
    auto obj = api::parse_object(ctx, &mr);
    if (!obj) {
        // Refused: always a problem response, never silence.
        if (res.result() == http::status::ok || res.body().empty()) std::abort();
        return 0;
    }
    if (res.result() != http::status::ok || !res.body().empty()) std::abort();
    if (!api::only_fields(ctx, *obj,
                          {"user_id", "metadata", "idle_timeout", "absolute_timeout", "token", "touch", "max_auth_age",
                           "reauthenticated"}))
        return 0;
    (void)api::get_string(ctx, *obj, "user_id", false);
    (void)api::get_string(ctx, *obj, "token", true);
    (void)api::get_bool(ctx, *obj, "touch", true);
    (void)api::get_bool(ctx, *obj, "reauthenticated", false);
    (void)api::get_int(ctx, *obj, "idle_timeout", 1, 86400);
    (void)api::get_int(ctx, *obj, "absolute_timeout", 1, 30 * 86400);
    (void)api::get_int(ctx, *obj, "max_auth_age", 0, INT64_MAX);
    return 0;
}
