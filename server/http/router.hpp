#pragma once
// Maps a method and a path to a handler. Templates are literal segments and
// `{name}` parameters (one whole segment each); an unknown path is 404 and a
// known path with another method is 405 with the methods it allows.

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
    void add(verb method, std::string path_template, handler h);

    struct match_result {
        const handler* target = nullptr;  // set on success
        std::string_view route;           // the template matched
        path_params params;
        sessiond::error failure{};  // not_found, method_not_allowed or malformed_request
        std::string allow;          // for 405: "GET, DELETE"
    };
    // `path` is the request target without the query string.
    match_result match(verb method, std::string_view path) const;

    // Every (method, template) served, for comparison with the OpenAPI description.
    std::vector<std::pair<verb, std::string>> routes() const;

private:
    struct segment {
        std::string text;  // literal text, or the parameter name
        bool param;
    };
    struct route {
        std::string path_template;
        std::vector<segment> segments;
        std::vector<std::pair<verb, handler>> methods;
    };
    std::vector<route> routes_;
};

// The value of query parameter `name` (percent-decoded), nullopt if absent or malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace sessiond::http
