// The routes sessiond serves and the operations proto/openapi.yaml describes
// are the same set.

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <set>
#include <sstream>

#include "api/health.hpp"
#include "api/sessions.hpp"
#include "store/memory_store.hpp"
#include "support/process.hpp"

using namespace sessiond;

namespace {

// "METHOD /path" for every operation under `paths:` (two-space path keys,
// four-space method keys), which is all this check needs of the YAML.
std::set<std::string> spec_operations(const std::string& yaml) {
    static const std::set<std::string> methods = {"get", "put", "post", "delete", "patch", "head", "options"};
    std::set<std::string> out;
    std::istringstream in(yaml);
    std::string line, path;
    bool in_paths = false;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ' ' && line[0] != '#') {
            in_paths = line.rfind("paths:", 0) == 0;
            continue;
        }
        if (!in_paths) continue;
        if (line.rfind("  /", 0) == 0 && line.back() == ':') {
            path = line.substr(2, line.size() - 3);
        } else if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ' && line.back() == ':') {
            auto m = line.substr(4, line.size() - 5);
            if (methods.count(m)) {
                for (auto& c : m)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                out.insert(m + " " + path);
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("served routes equal the OpenAPI operations") {
    boost::asio::io_context ioc;
    session::wall_clock clock;
    store::memory_store memory(ioc, clock, 10);
    service::session_service service(memory,
                                     std::make_shared<const session::keyring>(session::keyring::make_ephemeral()),
                                     session::token_codec(), clock, session::policy{});
    api::session_api sessions(service, api::api_keys::allow_all(), api::api_settings{});
    http::router routes;
    api::add_ops_routes(routes, {[] { return true; }, [] { return std::uint64_t{0}; }});
    sessions.add_routes(routes);

    std::set<std::string> served;
    for (const auto& [method, path] : routes.routes())
        served.insert(std::string(http::beast_http::to_string(method)) + " " + path);

    auto spec = spec_operations(test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/proto/openapi.yaml"));
    REQUIRE(spec.size() >= 12);
    CHECK(served == spec);
    CHECK(spec.count("DELETE /v1/users/{user_id}/sessions") == 1);
}
