#include "api/json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <unordered_set>
#include <vector>

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
// What boost::json::parse lets through and sessiond refuses: a key twice in
// one object (a filter in front may read the first, sessiond would read the
// last) and a number too large for a double (parsed as infinity, which has
// no JSON spelling). A parse of its own that builds no value, only checks.
class strict_checks {
public:
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_string_size = -1;
    static constexpr std::size_t max_key_size = -1;

    std::string problem;

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_array_begin(boost::system::error_code&) { return true; }
    bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) {
        objects_.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        objects_.pop_back();
        return true;
    }
    bool on_string_part(boost::json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(boost::json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
        key_.append(s.data(), s.size());
        if (!objects_.back().insert(key_)) {
            problem = "duplicate key '" + key_.substr(0, 64) + "'";
            return fail(ec);
        }
        key_.clear();
        return true;
    }
    bool on_number_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_uint64(std::uint64_t, boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_double(double d, boost::json::string_view, boost::system::error_code& ec) {
        if (std::isfinite(d)) return true;
        problem = "a number is too large to be represented";
        return fail(ec);
    }
    bool on_bool(bool, boost::system::error_code&) { return true; }
    bool on_null(boost::system::error_code&) { return true; }
    bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

private:
    static bool fail(boost::system::error_code& ec) {
        ec = boost::json::error::extra_data;  // any error stops the parser; `problem` says which
        return false;
    }
    // The keys of one object so far. A linear search while there are few (the
    // usual body), a hash set beyond: a body of thousands of keys must not
    // cost a quadratic number of comparisons.
    class key_set {
    public:
        bool insert(const std::string& key) {
            if (many_.empty()) {
                if (std::find(few_.begin(), few_.end(), key) != few_.end()) return false;
                if (few_.size() < few_limit) {
                    few_.push_back(key);
                    return true;
                }
                many_.insert(std::make_move_iterator(few_.begin()), std::make_move_iterator(few_.end()));
                few_.clear();
            }
            return many_.insert(key).second;
        }

    private:
        static constexpr std::size_t few_limit = 16;
        std::vector<std::string> few_;
        std::unordered_set<std::string> many_;
    };
    std::vector<key_set> objects_;
    std::string key_;
};

// The strict checks' verdict on a body that parsed: empty when it passes.
std::string strict_problem(std::string_view body, const boost::json::parse_options& opts) {
    boost::json::basic_parser<strict_checks> p(opts);
    boost::system::error_code ec;
    p.write_some(false, body.data(), body.size(), ec);
    return ec ? std::move(p.handler().problem) : std::string();
}

}  // namespace

bool accepts_json(http::request_context& ctx) {
    if (is_json_content_type(ctx.req[http::field::content_type])) return true;
    http::set_problem(ctx.res, sessiond::error::unsupported_media_type, "expected Content-Type: application/json",
                      ctx.request_id);
    return false;
}

std::optional<boost::json::object> parse_object(http::request_context& ctx, boost::json::storage_ptr storage) {
    if (!accepts_json(ctx)) return std::nullopt;
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
    if (auto problem = strict_problem(ctx.req.body(), opts); !problem.empty()) {
        malformed(ctx, problem);
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
