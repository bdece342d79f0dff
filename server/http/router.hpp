#pragma once
// Maps a method and a path to a handler. Templates are literal segments and
// `{name}` parameters (one whole segment each); an unknown path is 404 and a
// known path with another method is 405 with the methods it allows. HEAD is
// served by the GET route of a path (the transport sends no body).

#include <optional>
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
    // description (HEAD, implied by GET, is not listed).
    std::vector<std::pair<verb, std::string>> routes() const;

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
    };
    std::vector<route> routes_;
};

// The value of query parameter `name` (percent-decoded), nullopt if absent or malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace sessiond::http
