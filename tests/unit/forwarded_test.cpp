// The original request a proxy describes to /v1/auth: which header wins,
// and that a value that is not well formed counts as unknown.

#include <catch2/catch.hpp>

#include "api/forwarded.hpp"

using namespace sessiond;

namespace {
http::request request(std::initializer_list<std::pair<std::string, std::string>> headers,
                      http::verb method = http::verb::get, std::string target = "/v1/auth") {
    http::request req{method, target, 11};
    for (const auto& [name, value] : headers)
        req.set(name, value);
    return req;
}
}  // namespace

TEST_CASE("X-Forwarded-* (Traefik, Caddy) give the original request") {
    auto o = api::original_of(request({{"X-Forwarded-Method", "POST"},
                                       {"X-Forwarded-Proto", "HTTPS"},
                                       {"X-Forwarded-Host", "App.Example.com:8443"},
                                       {"X-Forwarded-Uri", "/orders?page=2"}}),
                              "");
    CHECK(o.method == "POST");
    CHECK(o.url() == "https://app.example.com:8443/orders?page=2");
    CHECK(o.for_log() == "POST https://app.example.com:8443/orders");
}

TEST_CASE("X-Original-URL and X-Original-Method (nginx) give the original request") {
    auto o = api::original_of(
        request({{"X-Original-URL", "https://app.example.com/a/b?reset=secret"}, {"X-Original-Method", "PUT"}}), "");
    CHECK(o.method == "PUT");
    CHECK(o.url() == "https://app.example.com/a/b?reset=secret");
    CHECK(o.for_log() == "PUT https://app.example.com/a/b");  // never the query
    CHECK(api::original_of(request({{"X-Original-URL", "http://app.example.com"}}), "").url() ==
          "http://app.example.com/");
}

TEST_CASE("below /v1/auth the request line and Host are the original request's (Envoy)") {
    auto o = api::original_of(request({{"Host", "app.example.com"}, {"X-Forwarded-Proto", "https"}},
                                      http::verb::delete_, "/v1/auth/items/7?force=1"),
                              "/items/7");
    CHECK(o.method == "DELETE");
    CHECK(o.url() == "https://app.example.com/items/7?force=1");
    // On /v1/auth itself they are the proxy's request to sessiond.
    auto own = api::original_of(request({{"Host", "sessiond:8080"}}), "");
    CHECK(own.host.empty());
    CHECK(own.method.empty());
}

TEST_CASE("a forwarded value that is not well formed counts as unknown") {
    for (auto [name, value] : std::initializer_list<std::pair<std::string, std::string>>{
             {"X-Forwarded-Host", "a.example, evil.example"},
             {"X-Forwarded-Host", "evil.example/x"},
             {"X-Forwarded-Host", "user@evil.example"},
             {"X-Forwarded-Host", std::string(300, 'a')},
             {"X-Forwarded-Proto", "javascript"},
             {"X-Forwarded-Uri", "//evil.example/"},
             {"X-Forwarded-Uri", "orders"},
             {"X-Forwarded-Uri", "/caf\xc3\xa9"},
             {"X-Original-URL", "https://user@evil.example/"},
             {"X-Original-URL", "ftp://a.example/"},
         }) {
        INFO(name << ": " << value);
        auto o = api::original_of(request({{"X-Forwarded-Proto", "https"},
                                           {"X-Forwarded-Host", "a.example"},
                                           {"X-Forwarded-Uri", "/"},
                                           {name, value}}),
                                  "");
        if (name == "X-Original-URL")
            CHECK(o.url() == "https://a.example/");  // ignored; the X-Forwarded-* ones stand
        else
            CHECK(o.url().empty());
    }
    CHECK(api::original_of(request({{"X-Forwarded-Method", "GE T"}}), "").method.empty());
}

TEST_CASE("redirect hosts: exact names and *.domain, ports ignored") {
    std::vector<std::string> allowed = {"app.example.com", "*.apps.example.com"};
    CHECK(api::host_allowed("app.example.com", allowed));
    CHECK(api::host_allowed("app.example.com:8443", allowed));
    CHECK(api::host_allowed("x.apps.example.com", allowed));
    CHECK_FALSE(api::host_allowed("apps.example.com", allowed));
    CHECK_FALSE(api::host_allowed("evilapps.example.com", allowed));
    CHECK_FALSE(api::host_allowed("app.example.com.evil.example", allowed));
    CHECK_FALSE(api::host_allowed("", allowed));
    CHECK(api::query_escape("https://a.example/x?y=1&z") == "https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z");
}
