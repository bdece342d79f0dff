#include <catch2/catch.hpp>

#include "http/router.hpp"

using namespace sessiond;
using http::verb;

namespace {
http::handler noop() {
    return [](http::request_context&) -> boost::asio::awaitable<void> { co_return; };
}
}  // namespace

TEST_CASE("router matches literal routes and extracts path parameters") {
    http::router r;
    r.add(verb::post, "/v1/sessions", noop());
    r.add(verb::post, "/v1/sessions/validate", noop());
    r.add(verb::get, "/v1/sessions/{id}", noop());
    r.add(verb::delete_, "/v1/sessions/{id}", noop());
    r.add(verb::get, "/v1/users/{user_id}/sessions", noop());

    auto m = r.match(verb::post, "/v1/sessions");
    CHECK(m.target != nullptr);
    CHECK(m.route == "/v1/sessions");

    m = r.match(verb::get, "/v1/sessions/abc");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/sessions/{id}");
    CHECK(m.params.get("id") == "abc");

    m = r.match(verb::get, "/v1/users/alice%40example.com/sessions");
    REQUIRE(m.target != nullptr);
    CHECK(m.params.get("user_id") == "alice@example.com");

    // The literal route wins for its own method; other methods fall through
    // to the parameter route.
    m = r.match(verb::post, "/v1/sessions/validate");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/sessions/validate");
    m = r.match(verb::delete_, "/v1/sessions/validate");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/sessions/{id}");
}

TEST_CASE("router answers 404 for unknown paths and 405 with Allow for other methods") {
    http::router r;
    r.add(verb::get, "/v1/sessions/{id}", noop());
    r.add(verb::delete_, "/v1/sessions/{id}", noop());
    r.add(verb::post, "/v1/sessions", noop());

    CHECK(r.match(verb::get, "/v1/nothing").failure == error::not_found);
    CHECK(r.match(verb::get, "/v1/sessions/a/b").failure == error::not_found);
    CHECK(r.match(verb::get, "/v1/sessions/").failure == error::not_found);  // empty parameter
    CHECK(r.match(verb::get, "").failure == error::not_found);
    CHECK(r.match(verb::get, "relative").failure == error::not_found);

    auto m = r.match(verb::put, "/v1/sessions/x");
    CHECK(m.target == nullptr);
    CHECK(m.failure == error::method_not_allowed);
    CHECK(m.allow == "GET, HEAD, DELETE");
    CHECK(m.route == "/v1/sessions/{id}");

    m = r.match(verb::get, "/v1/sessions");
    CHECK(m.failure == error::method_not_allowed);
    CHECK(m.allow == "POST");
}

TEST_CASE("router rejects malformed percent-encoding in parameters") {
    http::router r;
    r.add(verb::get, "/v1/sessions/{id}", noop());
    CHECK(r.match(verb::get, "/v1/sessions/%zz").failure == error::malformed_request);
    CHECK(r.match(verb::get, "/v1/sessions/ab%4").failure == error::malformed_request);
    CHECK(r.match(verb::get, "/v1/sessions/ab%41").params.get("id") == "abA");
}

TEST_CASE("router refuses bad templates and duplicates") {
    http::router r;
    r.add(verb::get, "/a/{x}", noop());
    CHECK_THROWS_AS(r.add(verb::get, "/a/{x}", noop()), std::invalid_argument);
    CHECK_THROWS_AS(r.add(verb::get, "no-slash", noop()), std::invalid_argument);
    CHECK_THROWS_AS(r.add(verb::get, "/a/b{x}", noop()), std::invalid_argument);
    r.add(verb::post, "/a/{x}", noop());
    CHECK(r.routes().size() == 2);
}

TEST_CASE("query parameters are found and decoded") {
    CHECK(http::query_param("except=abc", "except") == std::optional<std::string>("abc"));
    CHECK(http::query_param("a=1&except=a%2Fb&c=3", "except") == std::optional<std::string>("a/b"));
    CHECK(http::query_param("a=1", "except") == std::nullopt);
    CHECK(http::query_param("", "except") == std::nullopt);
    CHECK(http::query_param("except=%g1", "except") == std::nullopt);
    CHECK(http::query_param("except", "except") == std::optional<std::string>(""));
}

TEST_CASE("a subtree route serves its path and every path below it, with any method") {
    http::router r;
    r.add(verb::get, "/v1/sessions/{id}", noop());
    r.add_subtree("/v1/auth", noop());
    r.add(verb::get, "/v1/auth/status", noop());

    for (auto method : {verb::get, verb::head, verb::post, verb::put, verb::delete_, verb::options, verb::unknown}) {
        auto m = r.match(method, "/v1/auth");
        REQUIRE(m.target != nullptr);
        CHECK(m.route == "/v1/auth");
        CHECK(m.params.get("path").empty());
    }
    auto m = r.match(verb::post, "/v1/auth/app/a%20b/");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/auth/{path}");
    CHECK(m.params.get("path") == "/app/a%20b/");  // raw: it is the proxied request's path

    // A route added with add() wins for its method; the subtree takes the others.
    m = r.match(verb::get, "/v1/auth/status");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/auth/status");
    m = r.match(verb::post, "/v1/auth/status");
    REQUIRE(m.target != nullptr);
    CHECK(m.route == "/v1/auth/{path}");

    // Only whole segments: elsewhere 404 and 405 are as before.
    CHECK(r.match(verb::get, "/v1/authx").failure == sessiond::error::not_found);
    CHECK(r.match(verb::get, "/v1").failure == sessiond::error::not_found);
    auto na = r.match(verb::post, "/v1/sessions/abc");
    CHECK(na.failure == sessiond::error::method_not_allowed);
    CHECK(na.allow == "GET, HEAD");

    CHECK_THROWS_AS(r.add_subtree("/v1/auth", noop()), std::invalid_argument);
    CHECK_THROWS_AS(r.add(verb::get, "/v1/auth", noop()), std::invalid_argument);
    CHECK_THROWS_AS(r.add_subtree("/v1/{x}", noop()), std::invalid_argument);

    std::size_t listed = 0;
    for (const auto& [method, path] : r.routes())
        if (path == "/v1/auth" || path == "/v1/auth/{path}") ++listed;
    CHECK(listed == 2 * std::size(http::router::subtree_methods));
}
