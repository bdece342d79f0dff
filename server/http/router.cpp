#include "http/router.hpp"

#include <stdexcept>

#include "http/http_metrics.hpp"

namespace sessiond::http {

namespace {

// Splits "/a/b/c" into {"a","b","c"}; the leading '/' is required.
bool split_path(std::string_view path, std::vector<std::string_view>& out) {
    out.clear();
    if (path.empty() || path.front() != '/') return false;
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return true;
}

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == name) {
            if (eq == std::string_view::npos) return std::string();
            return percent_decode(pair.substr(eq + 1));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

void router::add(verb method, std::string path_template, handler h, route_options options) {
    std::vector<std::string_view> parts;
    if (!split_path(path_template, parts)) throw std::invalid_argument("route must start with '/': " + path_template);
    std::vector<segment> segments;
    for (auto p : parts) {
        if (p.size() >= 2 && p.front() == '{' && p.back() == '}')
            segments.push_back({std::string(p.substr(1, p.size() - 2)), true});
        else if (p.find_first_of("{}") != std::string_view::npos)
            throw std::invalid_argument("a parameter must be a whole segment: " + path_template);
        else
            segments.push_back({std::string(p), false});
    }
    for (auto& r : routes_) {
        if (r.path_template != path_template) continue;
        if (!r.below_template.empty()) throw std::invalid_argument("duplicate route: " + path_template);
        for (auto& m : r.methods)
            if (m.name == method) throw std::invalid_argument("duplicate route: " + path_template);
        r.methods.push_back({method, std::move(h), std::move(options)});
        return;
    }
    metrics::register_route(path_template);
    routes_.push_back({std::move(path_template), std::move(segments), {}, {}});
    routes_.back().methods.push_back({method, std::move(h), std::move(options)});
}

void router::add_subtree(std::string path, handler h, route_options options) {
    std::vector<std::string_view> parts;
    if (!split_path(path, parts)) throw std::invalid_argument("route must start with '/': " + path);
    std::vector<segment> segments;
    for (auto p : parts) {
        if (p.empty() || p.find_first_of("{}") != std::string_view::npos)
            throw std::invalid_argument("a subtree route has literal segments only: " + path);
        segments.push_back({std::string(p), false});
    }
    for (const auto& r : routes_)
        if (r.path_template == path) throw std::invalid_argument("duplicate route: " + path);
    std::string below = path + "/{path}";
    metrics::register_route(path);
    metrics::register_route(below);
    routes_.push_back({std::move(path), std::move(segments), {}, std::move(below)});
    routes_.back().methods.push_back({verb::unknown, std::move(h), std::move(options)});
}

bool router::match_subtree(std::span<const std::string_view> parts, match_result& result) const {
    for (const auto& r : routes_) {
        if (r.below_template.empty() || parts.size() < r.segments.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < r.segments.size() && ok; ++i)
            ok = r.segments[i].text == parts[i];
        if (!ok) continue;
        std::string below;
        for (std::size_t i = r.segments.size(); i < parts.size(); ++i)
            below.append(1, '/').append(parts[i]);
        result = {};
        result.route = parts.size() == r.segments.size() ? r.path_template : r.below_template;
        result.params.add("path", std::move(below));
        result.target = &r.methods.front().target;
        result.options = &r.methods.front().options;
        return true;
    }
    return false;
}

router::match_result router::match(verb method, std::string_view path) const {
    match_result result;
    result.failure = sessiond::error::not_found;
    thread_local std::vector<std::string_view> parts;
    if (!split_path(path, parts)) return result;

    // A literal route and a parameter route may both match a path (e.g.
    // /v1/sessions/validate and /v1/sessions/{id}): the first one with the
    // method wins; 405 only if none has it, listing what all of them allow.
    for (const auto& r : routes_) {
        if (!r.below_template.empty() || r.segments.size() != parts.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < parts.size() && ok; ++i) {
            const auto& seg = r.segments[i];
            ok = seg.param ? !parts[i].empty() : seg.text == parts[i];
        }
        if (!ok) continue;

        const route::method* target = nullptr;
        for (const auto& m : r.methods)
            if (m.name == method) target = &m;
        // HEAD is GET without the body, unless a route serves HEAD itself.
        if (!target && method == verb::head)
            for (const auto& m : r.methods)
                if (m.name == verb::get) target = &m;
        if (!target) {
            if (result.failure == sessiond::error::not_found) result.route = r.path_template;
            result.failure = sessiond::error::method_not_allowed;
            auto allow = [&](std::string_view name) {
                if (result.allow.find(name) != std::string::npos) return;
                if (!result.allow.empty()) result.allow += ", ";
                result.allow += name;
            };
            for (const auto& m : r.methods) {
                allow(beast_http::to_string(m.name));
                if (m.name == verb::get) allow("HEAD");
            }
            continue;
        }
        result.route = r.path_template;
        result.allow.clear();
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (!r.segments[i].param) continue;
            auto decoded = percent_decode(parts[i]);
            if (!decoded) {
                result.failure = sessiond::error::malformed_request;
                return result;
            }
            result.params.add(r.segments[i].text, std::move(*decoded));
        }
        result.target = &target->target;
        result.options = &target->options;
        result.failure = {};
        return result;
    }
    // A subtree serves every method of every path below it, so it answers
    // what no route above had the method for.
    match_subtree(parts, result);
    return result;
}

std::vector<std::pair<verb, std::string>> router::routes() const {
    std::vector<std::pair<verb, std::string>> out;
    for (const auto& r : routes_) {
        if (!r.below_template.empty()) {
            for (auto m : subtree_methods) {
                out.emplace_back(m, r.path_template);
                out.emplace_back(m, r.below_template);
            }
            continue;
        }
        for (const auto& m : r.methods)
            out.emplace_back(m.name, r.path_template);
    }
    return out;
}

}  // namespace sessiond::http
