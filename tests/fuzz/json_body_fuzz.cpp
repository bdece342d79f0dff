// JSON request bodies: parse_object with its strict checks (content type, one
// object, no duplicate key, finite numbers, depth), then only_fields and the
// typed readers the handlers use, over the fields the API knows.

#include <boost/json/monotonic_resource.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/json_body.hpp"

using namespace sessiond;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
