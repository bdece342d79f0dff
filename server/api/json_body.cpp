#include "api/json_body.hpp"

#include <boost/json/parse.hpp>

#include "http/problem.hpp"

namespace sessiond::api {

void malformed(http::request_context& ctx, std::string_view detail) {
    http::set_problem(ctx.res, sessiond::error::malformed_request, detail, ctx.request_id);
}

namespace {
bool is_json_content_type(std::string_view v) {
    auto semi = v.find(';');
    auto type = v.substr(0, semi);
    while (!type.empty() && type.back() == ' ')
        type.remove_suffix(1);
    if (type.size() != 16) return false;
    for (std::size_t i = 0; i < 16; ++i)
        if (std::tolower(static_cast<unsigned char>(type[i])) != "application/json"[i]) return false;
    return true;
}
}  // namespace

std::optional<boost::json::object> parse_object(http::request_context& ctx, boost::json::storage_ptr storage) {
    if (!is_json_content_type(ctx.req[http::field::content_type])) {
        http::set_problem(ctx.res, sessiond::error::unsupported_media_type, "expected Content-Type: application/json",
                          ctx.request_id);
        return std::nullopt;
    }
    boost::system::error_code ec;
    boost::json::parse_options opts;
    opts.max_depth = 16;
    auto v = boost::json::parse(ctx.req.body(), ec, std::move(storage), opts);
    if (ec) {
        malformed(ctx, "the body is not valid JSON");
        return std::nullopt;
    }
    if (!v.is_object()) {
        malformed(ctx, "the body must be a JSON object");
        return std::nullopt;
    }
    return std::move(v.as_object());
}

bool only_fields(http::request_context& ctx, const boost::json::object& obj,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& kv : obj) {
        bool known = false;
        for (auto a : allowed)
            known = known || kv.key() == a;
        if (!known) {
            std::string detail = "unknown field '";
            detail.append(kv.key().data(), std::min<std::size_t>(kv.key().size(), 64));
            detail += "'";
            malformed(ctx, detail);
            return false;
        }
    }
    return true;
}

std::optional<std::string_view> get_string(http::request_context& ctx, const boost::json::object& obj,
                                           std::string_view name, bool required) {
    auto it = obj.find(name);
    if (it == obj.end()) {
        if (required) malformed(ctx, "missing field '" + std::string(name) + "'");
        return required ? std::nullopt : std::optional<std::string_view>(std::string_view());
    }
    if (!it->value().is_string()) {
        malformed(ctx, "field '" + std::string(name) + "' must be a string");
        return std::nullopt;
    }
    auto& s = it->value().get_string();
    return std::string_view(s.data(), s.size());
}

std::optional<bool> get_bool(http::request_context& ctx, const boost::json::object& obj, std::string_view name,
                             bool fallback) {
    auto it = obj.find(name);
    if (it == obj.end()) return fallback;
    if (!it->value().is_bool()) {
        malformed(ctx, "field '" + std::string(name) + "' must be true or false");
        return std::nullopt;
    }
    return it->value().get_bool();
}

std::optional<std::optional<std::int64_t>> get_int(http::request_context& ctx, const boost::json::object& obj,
                                                   std::string_view name, std::int64_t min, std::int64_t max) {
    auto it = obj.find(name);
    if (it == obj.end()) return std::optional<std::int64_t>();
    const auto& v = it->value();
    std::optional<std::int64_t> n;
    if (v.is_int64())
        n = v.get_int64();
    else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        n = static_cast<std::int64_t>(v.get_uint64());
    if (!n || *n < min || *n > max) {
        malformed(ctx, "field '" + std::string(name) + "' must be an integer in " + std::to_string(min) + ".." +
                           std::to_string(max));
        return std::nullopt;
    }
    return std::optional<std::optional<std::int64_t>>(n);
}

}  // namespace sessiond::api
