// The routes sessiond serves and the operations proto/openapi.yaml describes
// are the same set.

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <set>

#include "api/assertions.hpp"
#include "api/backchannel_logout.hpp"
#include "api/events.hpp"
#include "api/health.hpp"
#include "api/sessions.hpp"
#include "store/memory_store.hpp"
#include "support/process.hpp"
#include "support/yaml_tree.hpp"

using namespace sessiond;

namespace {

// "METHOD /path" for every operation under `paths:`.
std::set<std::string> spec_operations(const std::string& yaml) {
    static const std::set<std::string> methods = {"get", "put", "post", "delete", "patch", "head", "options"};
    std::set<std::string> out;
    auto spec = test::parse_yaml(yaml);
    for (const auto& [path, item] : spec.find("paths")->items)
        for (const auto& entry : item.items)
            if (methods.count(entry.key)) {
                std::string method = entry.key;
                for (auto& c : method)
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                out.insert(method.append(" ").append(path));
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
    api::session_api sessions(service, std::make_shared<const api::callers>(api::callers::allow_all()),
                              api::api_settings{});
    service::assertion_service assertions(service, memory, nullptr);
    api::assertion_api assertion_routes(assertions, std::make_shared<const api::callers>(api::callers::allow_all()),
                                        "X-API-Key");
    service::logout_service logouts(service, memory, nullptr);
    api::backchannel_logout_api logout_routes(logouts);
    api::events_api event_routes(nullptr, std::make_shared<const api::callers>(api::callers::allow_all()), "X-API-Key",
                                 std::chrono::seconds(15));
    http::router routes;
    api::add_ops_routes(routes, {[] { return true; }});
    sessions.add_routes(routes);
    assertion_routes.add_routes(routes);
    logout_routes.add_routes(routes);
    event_routes.add_routes(routes);

    std::set<std::string> served;
    for (const auto& [method, path] : routes.routes())
        served.insert(std::string(http::beast_http::to_string(method)) + " " + path);

    auto spec = spec_operations(test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/proto/openapi.yaml"));
    REQUIRE(spec.size() >= 12);
    CHECK(served == spec);
    CHECK(spec.count("DELETE /v1/users/{user_id}/sessions") == 1);
    CHECK(spec.count("POST /v1/assertions/redeem") == 1);
    CHECK(spec.count("POST /v1/oidc/backchannel-logout/{provider}") == 1);
}
