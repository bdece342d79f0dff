// The original request a proxy describes to /v1/auth: which header wins,
// and that a value that is not well formed counts as unknown.

#include <catch2/catch.hpp>

#include <boost/url/parse.hpp>

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
        // A malformed X-Original-URL is not completed from X-Forwarded-*:
        // the family the proxy sets was there, so no other is read.
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

TEST_CASE("the proxy's X-Original-* win over a client's X-Forwarded-* (nginx copies the client's headers)") {
    auto o = api::original_of(request({{"X-Original-URL", "https://app.example.com/orders?page=2"},
                                       {"X-Original-Method", "GET"},
                                       {"X-Forwarded-Method", "DELETE"},
                                       {"X-Forwarded-Proto", "http"},
                                       {"X-Forwarded-Host", "other.example.com"},
                                       {"X-Forwarded-Uri", "/evil"}}),
                              "");
    CHECK(o.method == "GET");
    CHECK(o.url() == "https://app.example.com/orders?page=2");
    CHECK(o.for_log() == "GET https://app.example.com/orders");

    // The proxy's value is malformed: unknown, never the client's instead.
    auto bad = api::original_of(
        request({{"X-Original-URL", "https://app.example.com:evil.com/"}, {"X-Forwarded-Host", "app.example.com"}}),
        "");
    CHECK(bad.url().empty());
    CHECK(bad.host.empty());
}

TEST_CASE("auth-original-headers: only the families listed, in their order") {
    auto both = request({{"X-Original-URL", "https://a.example/x"},
                         {"X-Forwarded-Proto", "https"},
                         {"X-Forwarded-Host", "b.example"},
                         {"X-Forwarded-Uri", "/y"}});
    using sessiond::header_family;
    CHECK(api::original_of(both, "").url() == "https://a.example/x");
    CHECK(api::original_of(both, "", {header_family::x_forwarded}).url() == "https://b.example/y");
    CHECK(api::original_of(both, "", {header_family::x_forwarded, header_family::x_original}).url() ==
          "https://b.example/y");
    CHECK(api::original_of(both, "", {header_family::x_original}).url() == "https://a.example/x");
    CHECK(api::original_of(both, "", {}).url().empty());
    // Only X-Forwarded-* present: read when listed, whatever the order.
    auto forwarded =
        request({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", "b.example"}, {"X-Forwarded-Uri", "/y"}});
    CHECK(api::original_of(forwarded, "").url() == "https://b.example/y");
    CHECK(api::original_of(forwarded, "", {header_family::x_original}).url().empty());

    CHECK(sessiond::parse_original_headers("x-original, X-Forwarded") ==
          std::vector<header_family>{header_family::x_original, header_family::x_forwarded});
    CHECK(sessiond::parse_original_headers("").empty());
    CHECK_THROWS(sessiond::parse_original_headers("x-original,x-original"));
    CHECK_THROWS(sessiond::parse_original_headers("forwarded"));
}

TEST_CASE("a header given twice is ambiguous and counts as unknown") {
    http::request req{http::verb::get, "/v1/auth", 11};
    req.insert("X-Original-URL", "https://app.example.com/a");
    req.insert("X-Original-URL", "https://evil.example.com/a");
    CHECK(api::original_of(req, "").url().empty());
}

TEST_CASE("below /v1/auth the request line wins over X-Forwarded-* (Envoy sends it)") {
    auto o = api::original_of(request({{"Host", "app.example.com"},
                                       {"X-Forwarded-Proto", "https"},
                                       {"X-Forwarded-Host", "evil.example.com"},
                                       {"X-Forwarded-Uri", "/evil"}},
                                      http::verb::get, "/v1/auth/items/7"),
                              "/items/7");
    CHECK(o.url() == "https://app.example.com/items/7");
}

TEST_CASE("original hosts are parsed strictly: every redirect target is a valid URL") {
    for (std::string host : std::vector<std::string>{"app.example.com:evil.com",
                                                     "app.example.com:99999",
                                                     "app.example.com:65536",
                                                     "app.example.com:0",
                                                     "app.example.com:080",
                                                     "app.example.com:",
                                                     "app.example.com:+80",
                                                     "app.example.com:80:80",
                                                     ":80",
                                                     "a..example.org",
                                                     ".example.org",
                                                     "example.org.",
                                                     "-a.example.org",
                                                     "a-.example.org",
                                                     "a_b.example.org",
                                                     std::string(64, 'a') + ".example.org",
                                                     "1.2.3",
                                                     "999.1.1.1",
                                                     "01.2.3.4",
                                                     "app.123",
                                                     "[::1",
                                                     "[::1]x",
                                                     "[::1]:",
                                                     "[zz::1]",
                                                     "[v1.x]",
                                                     "[fe80::1%25eth0]",
                                                     "::1",
                                                     "a.example,b.example"}) {
        INFO(host);
        CHECK(api::checked_host(host).empty());
        auto o = api::original_of(
            request({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", host}, {"X-Forwarded-Uri", "/x"}}), "");
        CHECK(o.url().empty());
    }
    for (std::string url : {"https://app.example.com:80:80/", "https://app.example.com:99999/",
                            "https://a..example.org/", "https://app.example.com:evil.com/x",
                            "https://app.example.com:x@evil.example/", "https:///x", "https://[::1/"}) {
        INFO(url);
        CHECK(api::original_of(request({{"X-Original-URL", url}}), "").url().empty());
    }
    for (auto [host, expected] :
         std::initializer_list<std::pair<std::string, std::string>>{{"app.example.com", "app.example.com"},
                                                                    {"App.Example.COM:8443", "app.example.com:8443"},
                                                                    {"localhost:1", "localhost:1"},
                                                                    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
                                                                    {"a.b-c.example:65535", "a.b-c.example:65535"},
                                                                    {"127.0.0.1:8080", "127.0.0.1:8080"},
                                                                    {"[::1]:8443", "[::1]:8443"},
                                                                    {"[2001:DB8::1]", "[2001:db8::1]"},
                                                                    {"3com.example", "3com.example"}}) {
        INFO(host);
        CHECK(api::checked_host(host) == expected);
        auto o = api::original_of(
            request({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", host}, {"X-Forwarded-Uri", "/x?y=1"}}), "");
        CHECK(o.url() == "https://" + expected + "/x?y=1");
        CHECK(boost::urls::parse_absolute_uri(o.url()).has_value());
    }
    CHECK(api::original_of(request({{"X-Original-URL", "https://[::1]:8443/a"}}), "").url() == "https://[::1]:8443/a");
}

TEST_CASE("Accept: a browser asking for HTML, with its qualities honoured") {
    for (std::string yes : {"text/html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "TEXT/HTML",
                            "text/*", "text/html;q=0.001", "text/html; q=1.000", "text/html;level=1",
                            "text/*;q=0, text/html", "text/html, */*;q=0", "application/json;q=0.5, text/html;q=0.1"}) {
        INFO(yes);
        CHECK(api::accepts_html(yes));
    }
    for (std::string no :
         {"", "*/*", "application/json", "text/html;q=0", "text/html;q=0.0", "text/html; Q=0.000", "text/html;q=0, */*",
          "text/*;q=0", "text/*;q=0, */*", "*/*;q=0", "text/html;q=0, text/*;q=1", "text/html;q=2", "text/html;q=abc",
          "text/plain", "text/htmlx", "application/text/html"}) {
        INFO(no);
        CHECK_FALSE(api::accepts_html(no));
    }
    CHECK_FALSE(api::accepts_html(std::string(1100, ' ') + "text/html"));
}
