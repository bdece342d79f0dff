#pragma once
// Maps a method and a path to a handler. Templates are literal segments and
// `{name}` parameters (one whole segment each); an unknown path is 404 and a
// known path with another method is 405 with the methods it allows. HEAD is
// served by the GET route of a path (the transport sends no body). A subtree
// route serves a path and every path below it, whatever the method: a
// forward-auth endpoint, to which a proxy may send the original request's
// method and path under a prefix (Envoy ext_authz).

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"
#include "http/types.hpp"

namespace sessiond::http {

class router {
public:
    // Adds a route; throws std::invalid_argument for a malformed template or a duplicate.
    void add(verb method, std::string path_template, handler h, route_options options = {});
    // Adds a subtree route: `path` (literal segments only) and every path
    // below it, with any method. Routes added with add() win where both
    // match. The part below `path` ("" for `path` itself, "/a/b" below it)
    // is the parameter "path", not decoded. Throws std::invalid_argument for
    // a malformed or duplicate path.
    void add_subtree(std::string path, handler h, route_options options = {});

    struct match_result {
        const handler* target = nullptr;         // set on success
        const route_options* options = nullptr;  // set on success
        std::string_view route;                  // the template matched
        path_params params;
        sessiond::error failure{};  // not_found, method_not_allowed or malformed_request
        std::string allow;          // for 405: "GET, HEAD, DELETE"
    };
    // `path` is the request target without the query string.
    match_result match(verb method, std::string_view path) const;

    // Every (method, template) added, for comparison with the OpenAPI
    // description (HEAD, implied by GET, is not listed). A subtree route is
    // listed as `path` and `path/{path}`, each with every method in
    // subtree_methods.
    std::vector<std::pair<verb, std::string>> routes() const;

    // The methods a subtree route is listed with: those OpenAPI can name but
    // HEAD (it serves any method, HEAD and unknown ones included).
    static constexpr verb subtree_methods[] = {verb::get,     verb::put,     verb::post,
                                               verb::delete_, verb::options, verb::patch};

private:
    struct segment {
        std::string text;  // literal text, or the parameter name
        bool param;
    };
    struct route {
        std::string path_template;
        std::vector<segment> segments;
        struct method {
            verb name;
            handler target;
            route_options options;
        };
        std::vector<method> methods;
        std::string below_template;  // subtree routes: path_template + "/{path}", else empty
    };
    bool match_subtree(std::span<const std::string_view> parts, match_result& result) const;
    std::vector<route> routes_;
};

// The value of query parameter `name` (percent-decoded), nullopt if absent or malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace sessiond::http
