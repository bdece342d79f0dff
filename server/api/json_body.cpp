#include "api/json_body.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
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
// The keys of one object so far. A linear search while there are few (the
// usual body), a hash set beyond: a body of thousands of keys must not
// cost a quadratic number of comparisons. Reset rather than destroyed
// between objects, so that its storage serves the next request.
class key_set {
public:
    bool insert(std::string_view key) {
        if (many_.empty()) {
            if (std::find(few_.begin(), few_.end(), key) != few_.end()) return false;
            if (few_.size() < few_limit) {
                few_.emplace_back(key);
                return true;
            }
            many_.insert(std::make_move_iterator(few_.begin()), std::make_move_iterator(few_.end()));
            few_.clear();
        }
        return many_.emplace(key).second;
    }
    void reset() {
        few_.clear();
        if (!many_.empty()) many_ = {};  // a large set is not kept for the next body
    }

private:
    static constexpr std::size_t few_limit = 16;
    std::vector<std::string> few_;
    std::unordered_set<std::string> many_;
};

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
        // The key sets of open objects, one per depth, kept by the thread:
        // a parse runs to its end without suspending, and the depth is
        // bounded (parse_options::max_depth).
        thread_local std::vector<key_set> open;
        objects_ = &open;
        if (depth_ == open.size()) open.emplace_back();
        open[depth_++].reset();
        return true;
    }
    bool on_object_end(std::size_t, boost::system::error_code&) {
        --depth_;
        return true;
    }
    bool on_string_part(boost::json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(boost::json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
        return check_key(whole_key(s), ec);
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

protected:
    // The key whose last part is `last`: a view of the input when it came
    // whole, else of the parts gathered so far (valid until check_key).
    std::string_view whole_key(boost::json::string_view last) {
        if (key_.empty()) return {last.data(), last.size()};
        key_.append(last.data(), last.size());
        return key_;
    }
    bool check_key(std::string_view key, boost::system::error_code& ec) {
        if (!(*objects_)[depth_ - 1].insert(key)) {
            problem = "duplicate key '" + std::string(key.substr(0, 64)) + "'";
            return fail(ec);
        }
        key_.clear();
        return true;
    }

private:
    static bool fail(boost::system::error_code& ec) {
        ec = boost::json::error::extra_data;  // any error stops the parser; `problem` says which
        return false;
    }
    std::vector<key_set>* objects_ = nullptr;
    std::size_t depth_ = 0;  // objects open
    std::string key_;
};

// The strict checks' verdict on a body that parsed: empty when it passes.
std::string strict_problem(std::string_view body, const boost::json::parse_options& opts) {
    boost::json::basic_parser<strict_checks> p(opts);
    boost::system::error_code ec;
    p.write_some(false, body.data(), body.size(), ec);
    return ec ? std::move(p.handler().problem) : std::string();
}

boost::json::parse_options body_options() {
    boost::json::parse_options opts;
    opts.max_depth = 16;
    return opts;
}

}  // namespace

// The one pass of read_flat: the strict checks, and the top-level fields
// recorded as they go by. Any refusal only stops it; parse_object then
// says why.
class flat_reader : public strict_checks {
public:
    flat_reader(flat_body& body, std::string_view input) : body_(body), input_(input) {}

    // The document was an object (a valid one, once the parse succeeded).
    bool top_is_object() const { return top_is_object_; }
    // The first field that is not one of the body's, if any.
    const std::optional<std::string>& unknown() const { return unknown_; }

    bool on_array_begin(boost::system::error_code& ec) {
        value_is(flat_body::kind::other);
        ++level_;
        return strict_checks::on_array_begin(ec);
    }
    bool on_array_end(std::size_t n, boost::system::error_code& ec) {
        --level_;
        return strict_checks::on_array_end(n, ec);
    }
    bool on_object_begin(boost::system::error_code& ec) {
        if (level_ == 0) top_is_object_ = true;
        value_is(flat_body::kind::other);
        ++level_;
        return strict_checks::on_object_begin(ec);
    }
    bool on_object_end(std::size_t n, boost::system::error_code& ec) {
        --level_;
        return strict_checks::on_object_end(n, ec);
    }
    bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code& ec) {
        const std::string_view key = whole_key(s);
        if (level_ == 1) {
            current_ = nullptr;
            for (std::size_t i = 0; i < body_.count_ && !current_; ++i)
                if (body_.fields_[i].name == key) current_ = &body_.fields_[i];
            if (!current_ && !unknown_) unknown_.emplace(key.substr(0, 64));
        }
        return check_key(key, ec);
    }
    bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        if (field* f = top_value()) f->unescaped.append(s.data(), s.size());
        return true;
    }
    bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code&) {
        field* f = value_is(flat_body::kind::string);
        if (!f) return true;
        const bool in_input =
            f->unescaped.empty() && s.data() >= input_.data() && s.data() + s.size() <= input_.data() + input_.size();
        if (in_input) {
            f->text = {s.data(), s.size()};
        } else {
            f->unescaped.append(s.data(), s.size());
            f->text = f->unescaped;
        }
        return true;
    }
    bool on_int64(std::int64_t v, boost::json::string_view, boost::system::error_code&) {
        if (field* f = value_is(flat_body::kind::int64)) f->int64 = v;
        return true;
    }
    bool on_uint64(std::uint64_t v, boost::json::string_view, boost::system::error_code&) {
        if (field* f = value_is(flat_body::kind::uint64)) f->uint64 = v;
        return true;
    }
    bool on_double(double d, boost::json::string_view s, boost::system::error_code& ec) {
        value_is(flat_body::kind::other);
        return strict_checks::on_double(d, s, ec);
    }
    bool on_bool(bool b, boost::system::error_code&) {
        if (field* f = value_is(flat_body::kind::boolean)) f->boolean = b;
        return true;
    }
    bool on_null(boost::system::error_code&) {
        value_is(flat_body::kind::other);
        return true;
    }

private:
    using field = flat_body::field;
    // The field whose value is being read: a known top-level one, or null.
    field* top_value() const { return level_ == 1 ? current_ : nullptr; }
    field* value_is(flat_body::kind k) {
        field* f = top_value();
        if (f) f->type = k;
        return f;
    }

    flat_body& body_;
    std::string_view input_;
    std::size_t level_ = 0;  // containers open
    bool top_is_object_ = false;
    field* current_ = nullptr;
    std::optional<std::string> unknown_;
};

flat_body::flat_body(std::initializer_list<std::string_view> allowed) {
    if (allowed.size() > max_fields) throw std::invalid_argument("flat_body: too many fields");
    for (auto name : allowed)
        fields_[count_++].name = name;
}

const flat_body::field* flat_body::find(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i)
        if (fields_[i].name == name) return &fields_[i];
    return nullptr;
}

bool accepts_json(http::request_context& ctx) {
    if (is_json_content_type(ctx.req[http::field::content_type])) return true;
    http::set_problem(ctx.res, sessiond::error::unsupported_media_type, "expected Content-Type: application/json",
                      ctx.request_id);
    return false;
}

std::optional<boost::json::object> parse_object(http::request_context& ctx, boost::json::storage_ptr storage) {
    if (!accepts_json(ctx)) return std::nullopt;
    boost::system::error_code ec;
    const auto opts = body_options();
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

bool read_flat(http::request_context& ctx, flat_body& body) {
    if (!accepts_json(ctx)) return false;
    const std::string_view input = ctx.req.body();
    boost::json::basic_parser<flat_reader> p(body_options(), body, input);
    boost::system::error_code ec;
    const std::size_t used = p.write_some(false, input.data(), input.size(), ec);
    if (ec || used < input.size() || !p.handler().top_is_object()) {
        // Refused: parse_object finds the same fault and words it.
        boost::json::monotonic_resource mr;
        if (parse_object(ctx, &mr)) malformed(ctx, "the body is not valid JSON");
        return false;
    }
    if (const auto& unknown = p.handler().unknown()) {
        malformed(ctx, "unknown field '" + *unknown + "'");
        return false;
    }
    return true;
}

std::optional<std::string_view> get_string(http::request_context& ctx, const flat_body& body, std::string_view name,
                                           bool required) {
    const auto* f = body.find(name);
    if (!f || f->type == flat_body::kind::absent) {
        if (required) malformed(ctx, "missing field '" + std::string(name) + "'");
        return required ? std::nullopt : std::optional<std::string_view>(std::string_view());
    }
    if (f->type != flat_body::kind::string) {
        malformed(ctx, "field '" + std::string(name) + "' must be a string");
        return std::nullopt;
    }
    return f->text;
}

std::optional<bool> get_bool(http::request_context& ctx, const flat_body& body, std::string_view name, bool fallback) {
    const auto* f = body.find(name);
    if (!f || f->type == flat_body::kind::absent) return fallback;
    if (f->type != flat_body::kind::boolean) {
        malformed(ctx, "field '" + std::string(name) + "' must be true or false");
        return std::nullopt;
    }
    return f->boolean;
}

std::optional<std::optional<std::int64_t>> get_int(http::request_context& ctx, const flat_body& body,
                                                   std::string_view name, std::int64_t min, std::int64_t max) {
    const auto* f = body.find(name);
    if (!f || f->type == flat_body::kind::absent) return std::optional<std::int64_t>();
    std::optional<std::int64_t> n;
    if (f->type == flat_body::kind::int64)
        n = f->int64;
    else if (f->type == flat_body::kind::uint64 && f->uint64 <= static_cast<std::uint64_t>(INT64_MAX))
        n = static_cast<std::int64_t>(f->uint64);
    if (!n || *n < min || *n > max) {
        malformed(ctx, "field '" + std::string(name) + "' must be an integer in " + std::to_string(min) + ".." +
                           std::to_string(max));
        return std::nullopt;
    }
    return std::optional<std::optional<std::int64_t>>(n);
}

}  // namespace sessiond::api
