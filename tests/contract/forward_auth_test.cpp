// Forward auth (/v1/auth) behind the proxies people put in front of it:
// real nginx and Caddy, started here with the configurations of
// deploy/proxies/ in front of sessiond and a recording upstream; and, for
// Traefik and Envoy, which are not installed here, sessiond asked exactly
// what their documentation says they send.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>

#include "support/timing.hpp"
#include "support/contract_target.hpp"
#include "support/header_recorder.hpp"
#include "support/proxy_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

const std::string login_url = "https://login.example.test/login";

// sessiond as deploy/proxies/ expects it: a metadata header, a login page,
// the test's loopback host as the one host that may be redirected.
std::vector<std::string> forward_auth_flags() {
    return {"--auth-metadata-headers",     "tenant:X-Tenant", "--auth-login-url", login_url, "--auth-redirect-hosts",
            "127.0.0.1,*.app.example.test"};
}

// One request with the given Host (format_request always sends its own).
http_response send(unsigned short port, const std::string& method, const std::string& target,
                   std::map<std::string, std::string> headers, const std::string& host, const std::string& body = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers)
        r += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n" + body;
    http_connection conn(port);
    REQUIRE(conn.send(r));
    auto answer = conn.read_response(10s, method == "HEAD");
    REQUIRE(answer);
    return *answer;
}

std::string deletion_of(const std::string& cookie_name) {
    return cookie_name + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax";
}

struct backend {
    header_recorder app;
    contract_target sessiond{"memory", forward_auth_flags()};

    std::map<std::string, std::string> values() {
        return {{"SESSIOND", "127.0.0.1:" + std::to_string(sessiond.port())},
                {"UPSTREAM", "127.0.0.1:" + std::to_string(app.port())},
                {"API_KEY", test_keys::auth}};
    }
    // A fresh session's token and public id.
    std::pair<std::string, std::string> login(const std::string& user, const std::string& metadata = "") {
        auto created = sessiond.create(user, metadata.empty() ? "" : R"("metadata":)" + metadata);
        REQUIRE(created.status == 201);
        return {str(created.json, "token"), std::string(session_of(created).at("id").as_string())};
    }
};

// What every proxy in front of sessiond must do, whatever its configuration language.
void check_proxy(backend& b, unsigned short port, const std::string& proxy_log_name,
                 const std::function<std::string()>& proxy_log) {
    INFO(proxy_log_name << " log:\n" << proxy_log());
    const std::string host = "127.0.0.1:" + std::to_string(port);
    const auto logging_in = std::chrono::steady_clock::now();
    auto [token, id] = b.login("zoë@example.com", R"({"tenant":"acme","role":"admin"})");
    const std::string cookie = "theme=dark; __Host-sid=" + token;

    SECTION("allowed: the request reaches the application with the identity headers") {
        auto r = send(port, "GET", "/orders?page=2", {{"Cookie", cookie}, {"X-Session-User", "mallory"}}, host);
        CHECK(r.status == 200);
        CHECK(r.body == "upstream");
        auto got = b.app.requests();
        REQUIRE(got.size() == 1);
        CHECK(got[0].target == "/orders?page=2");
        CHECK(got[0].headers.count("x-session-user") == 1);
        CHECK(got[0].header("x-session-user") == "zo%C3%AB@example.com");
        CHECK(got[0].header("x-session-id") == id);
        CHECK(got[0].header("x-tenant") == "acme");
        CHECK_FALSE(got[0].has("x-api-key"));  // the proxy's key stays between it and sessiond
    }
    SECTION("a POST to a protected location") {
        auto r = send(port, "POST", "/orders", {{"Cookie", cookie}, {"Content-Type", "application/json"}}, host,
                      R"({"item":7})");
        CHECK(r.status == 200);
        auto got = b.app.requests();
        REQUIRE(got.size() == 1);
        CHECK(got[0].method == "POST");
        CHECK(got[0].header("x-session-id") == id);
    }
    SECTION("a client cannot supply an identity header the session does not have") {
        auto [plain, plain_id] = b.login("bob");
        auto r = send(port, "GET", "/", {{"Cookie", "__Host-sid=" + plain}, {"X-Tenant", "forged"}}, host);
        CHECK(r.status == 200);
        auto got = b.app.requests();
        REQUIRE(got.size() == 1);
        CHECK(got[0].header("x-session-id") == plain_id);
        CHECK(got[0].header("x-tenant").empty());
    }
    SECTION("denied: no token, a forged header does not help") {
        auto r = send(port, "GET", "/orders", {{"X-Session-User", "admin"}}, host);
        CHECK(r.status == 401);
        CHECK_FALSE(r.has_header("set-cookie"));  // there was no cookie to delete
        CHECK(b.app.requests().empty());
    }
    SECTION("a cookie sessiond did not issue is deleted in the browser") {
        auto r = send(port, "GET", "/orders", {{"Cookie", "__Host-sid=sid_notatoken"}}, host);
        CHECK(r.status == 401);
        CHECK(r.header("set-cookie") == deletion_of("__Host-sid"));
        CHECK(b.app.requests().empty());
        // A revoked one too.
        REQUIRE(b.sessiond.revoke(token).status == 204);
        r = send(port, "GET", "/orders", {{"Cookie", cookie}}, host);
        CHECK(r.status == 401);
        CHECK(r.header("set-cookie") == deletion_of("__Host-sid"));
    }
    SECTION("max_auth_age per location: /admin/ wants a recent login, / does not") {
        const auto recent = send(port, "GET", "/admin/users", {{"Cookie", cookie}}, host);
        if (within(logging_in, 900ms)) CHECK(recent.status == 200);
        std::this_thread::sleep_for(1100ms);  // the login is more than max_auth_age=1 old
        auto r = send(port, "GET", "/admin/users", {{"Cookie", cookie}}, host);
        CHECK(r.status == 401);
        CHECK_FALSE(r.has_header("set-cookie"));  // still a good session elsewhere
        CHECK(send(port, "GET", "/orders", {{"Cookie", cookie}}, host).status == 200);
    }
    SECTION("a browser without a session goes to the login page, back to where it was") {
        auto r = send(port, "GET", "/orders?page=2", {{"Accept", "text/html,application/xhtml+xml"}}, host);
        CHECK(r.status == 302);
        CHECK(r.header("location") ==
              login_url + "?rd=" + "http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) + "%2Forders%3Fpage%3D2");
        // With a refused cookie: redirected, and the cookie deleted.
        r = send(port, "GET", "/", {{"Accept", "text/html"}, {"Cookie", "__Host-sid=sid_x"}}, host);
        CHECK(r.status == 302);
        CHECK(r.header("set-cookie") == deletion_of("__Host-sid"));
        CHECK(b.app.requests().empty());
    }
    SECTION("a client's own X-Forwarded-* and X-Original-* do not describe the original request") {
        // Hosts on auth-redirect-hosts, so only which header is read decides.
        auto r = send(port, "GET", "/orders?page=2",
                      {{"Accept", "text/html"},
                       {"X-Forwarded-Method", "POST"},
                       {"X-Forwarded-Proto", "https"},
                       {"X-Forwarded-Host", "phish.app.example.test"},
                       {"X-Forwarded-Uri", "/steal"},
                       {"X-Original-URL", "https://phish.app.example.test/steal"},
                       {"X-Original-Method", "POST"}},
                      host);
        CHECK(r.status == 302);
        CHECK(r.header("location") ==
              login_url + "?rd=" + "http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) + "%2Forders%3Fpage%3D2");
        CHECK(b.app.requests().empty());
    }
    SECTION("no open redirect: a host that is not on the list gets the plain 401") {
        auto r = send(port, "GET", "/orders", {{"Accept", "text/html"}}, "evil.example");
        CHECK(r.status == 401);
        CHECK_FALSE(r.has_header("location"));
        CHECK(b.app.requests().empty());
    }
}

}  // namespace

TEST_CASE("nginx auth_request with deploy/proxies/nginx.conf", "[forward-auth]") {
    if (!have_program("/usr/sbin/nginx")) FAIL("nginx is not installed (scripts/install-deps)");
    backend b;
    // The example's five minutes, made one second so that a test can outlive it.
    nginx_proxy proxy(b.values(), {{"max_auth_age=300", "max_auth_age=1"}});
    check_proxy(b, proxy.port(), "nginx", [&] { return proxy.log(); });
}

TEST_CASE("Caddy forward_auth with deploy/proxies/Caddyfile", "[forward-auth]") {
    if (!have_program("/usr/bin/caddy")) FAIL("caddy is not installed (scripts/install-deps)");
    backend b;
    caddy_proxy proxy(b.values(), {{"max_auth_age=300", "max_auth_age=1"}});
    check_proxy(b, proxy.port(), "caddy", [&] { return proxy.log(); });
}

// Traefik (not installed here): what the ForwardAuth middleware sends, per
// its documentation (doc.traefik.io, "ForwardAuth" HTTP middleware): a GET
// to `address` with the client's headers and X-Forwarded-Method, -Proto,
// -Host, -Uri and -For; no body. A 2xx passes with authResponseHeaders
// copied onto the request; anything else is sent to the client with its
// headers. The API key comes from the headers middleware of
// deploy/proxies/traefik.yaml.
TEST_CASE("Traefik ForwardAuth request shape", "[forward-auth]") {
    backend b;
    auto [token, id] = b.login("carol", R"({"tenant":"acme"})");
    auto traefik = [&](std::map<std::string, std::string> client, const std::string& address = "/v1/auth") {
        client["X-Forwarded-Method"] = "POST";
        client["X-Forwarded-Proto"] = "https";
        client["X-Forwarded-Host"] = "shop.app.example.test";
        client["X-Forwarded-Uri"] = "/cart/checkout?step=2";
        client["X-Forwarded-For"] = "203.0.113.7";
        client["X-API-Key"] = test_keys::auth;
        return send(b.sessiond.port(), "GET", address, client, "127.0.0.1:" + std::to_string(b.sessiond.port()));
    };

    auto ok = traefik({{"Cookie", "__Host-sid=" + token}, {"Accept", "text/html"}});
    CHECK(ok.status == 200);
    CHECK(ok.header("x-session-user") == "carol");
    CHECK(ok.header("x-session-id") == id);
    CHECK(ok.header("x-tenant") == "acme");
    CHECK(ok.header("cache-control") == "no-store");
    CHECK_FALSE(ok.has_header("set-cookie"));

    auto browser = traefik({{"Accept", "text/html"}, {"Cookie", "__Host-sid=sid_gone"}});
    CHECK(browser.status == 302);
    CHECK(browser.header("location") ==
          login_url + "?rd=https%3A%2F%2Fshop.app.example.test%2Fcart%2Fcheckout%3Fstep%3D2");
    CHECK(browser.header("set-cookie") == deletion_of("__Host-sid"));
    CHECK(browser.body.empty());

    auto api = traefik({{"Accept", "application/json"}, {"Authorization", "Bearer sid_gone"}});
    CHECK(api.status == 401);
    CHECK(api.header("content-type") == "application/problem+json");
    CHECK(api.header("www-authenticate") == "Bearer");
    CHECK_FALSE(api.has_header("set-cookie"));  // a bearer token is the caller's to drop
    CHECK_FALSE(api.has_header("location"));

    // A location that wants a login this very second (the session is older).
    std::this_thread::sleep_for(5ms);
    auto recent = traefik({{"Cookie", "__Host-sid=" + token}}, "/v1/auth?max_auth_age=0");
    CHECK(recent.status == 401);
    CHECK(recent.body.find("reauthentication_required") != std::string::npos);
    CHECK_FALSE(recent.has_header("set-cookie"));
}

// Envoy (not installed here): what the ext_authz filter's HTTP service
// sends, per its documentation (envoy.extensions.filters.http.ext_authz.v3,
// HttpService and AuthorizationRequest): the original method, the original
// path and query after `path_prefix`, Host, Content-Length, Authorization,
// the headers matched by `allowed_headers` (cookie, accept,
// x-forwarded-proto in deploy/proxies/envoy.yaml) and `headers_to_add`
// (x-api-key); no body. Any answer but 200 is a denial sent to the client
// with the allowed_client_headers.
TEST_CASE("Envoy ext_authz HTTP service request shape", "[forward-auth]") {
    backend b;
    auto [token, id] = b.login("dave", R"({"tenant":7})");
    auto envoy = [&](const std::string& method, const std::string& original_target,
                     std::map<std::string, std::string> allowed) {
        allowed["x-api-key"] = test_keys::auth;
        allowed["x-forwarded-proto"] = "https";
        allowed["content-length"] = "0";
        return send(b.sessiond.port(), method, "/v1/auth" + original_target, allowed, "api.app.example.test");
    };

    for (std::string method : {"GET", "HEAD", "DELETE", "PUT", "PATCH", "OPTIONS", "PROPFIND"}) {
        INFO(method);
        auto ok = envoy(method, "/items/7?force=1", {{"cookie", "__Host-sid=" + token}});
        CHECK(ok.status == 200);
        CHECK(ok.header("x-session-user") == "dave");
        CHECK(ok.header("x-session-id") == id);
        CHECK(ok.header("x-tenant") == "7");  // a number, as JSON
    }
    // The original query is the original request's, not requirements.
    CHECK(envoy("GET", "/?max_auth_age=bogus&x", {{"cookie", "__Host-sid=" + token}}).status == 200);

    auto browser = envoy("GET", "/items/7?force=1", {{"accept", "text/html"}, {"cookie", "__Host-sid=sid_gone"}});
    CHECK(browser.status == 302);
    CHECK(browser.header("location") == login_url + "?rd=https%3A%2F%2Fapi.app.example.test%2Fitems%2F7%3Fforce%3D1");
    CHECK(browser.header("set-cookie") == deletion_of("__Host-sid"));

    auto head = envoy("HEAD", "/items/7", {{"cookie", "__Host-sid=sid_gone"}});
    CHECK(head.status == 401);
    CHECK(head.body.empty());
    CHECK(head.header("set-cookie") == deletion_of("__Host-sid"));

    // Envoy's Host is the client's: another site is not redirected to.
    auto evil =
        send(b.sessiond.port(), "GET", "/v1/auth/",
             {{"x-api-key", test_keys::auth}, {"x-forwarded-proto", "https"}, {"accept", "text/html"}}, "evil.example");
    CHECK(evil.status == 401);
    CHECK_FALSE(evil.has_header("location"));
}

TEST_CASE("/v1/auth requirements and redirects, asked directly", "[forward-auth]") {
    backend b;
    auto [token, id] = b.login("erin", R"({"tenant":"a\r\nX-Admin: yes \u00e9"})");
    const std::string own_host = "127.0.0.1:" + std::to_string(b.sessiond.port());
    auto ask = [&](const std::string& target, std::map<std::string, std::string> headers) {
        headers["X-API-Key"] = test_keys::auth;
        return send(b.sessiond.port(), "GET", target, headers, own_host);
    };
    const std::map<std::string, std::string> nginx_original = {
        {"X-Original-URL", "http://127.0.0.1/next?a=1"}, {"X-Original-Method", "GET"}, {"Accept", "text/html"}};

    SECTION("a metadata value unsafe in a header is percent-encoded") {
        auto r = ask("/v1/auth", {{"Cookie", "__Host-sid=" + token}});
        CHECK(r.status == 200);
        CHECK(r.header("x-tenant") == "a%0D%0AX-Admin:%20yes%20%C3%A9");
        CHECK_FALSE(r.has_header("x-admin"));
    }
    SECTION("bad requirements are 400 problem+json") {
        for (std::string query : {"max_auth_age=-1", "max_auth_age=abc", "max_auth_age=99999999999",
                                  "max_auth_age=", "redirect=303", "max_age=5"}) {
            INFO(query);
            auto r = ask("/v1/auth?" + query, {{"Cookie", "__Host-sid=" + token}});
            CHECK(r.status == 400);
            CHECK(r.header("content-type") == "application/problem+json");
            CHECK(r.body.find("malformed_request") != std::string::npos);
        }
        CHECK(ask("/v1/auth?max_auth_age=3600&redirect=off", {{"Cookie", "__Host-sid=" + token}}).status == 200);
    }
    SECTION("redirect=401 keeps the 401 and names the login URL (nginx auth_request)") {
        auto headers = nginx_original;
        headers["Cookie"] = "__Host-sid=sid_gone";
        auto r = ask("/v1/auth?redirect=401", headers);
        CHECK(r.status == 401);
        CHECK(r.header("location") == login_url + "?rd=http%3A%2F%2F127.0.0.1%2Fnext%3Fa%3D1");
        CHECK(r.header("set-cookie") == deletion_of("__Host-sid"));
    }
    SECTION("redirect=off, no Accept: text/html or an unknown original URL: the plain 401") {
        CHECK(ask("/v1/auth?redirect=off", nginx_original).status == 401);
        auto json = nginx_original;
        json["Accept"] = "application/json";
        CHECK(ask("/v1/auth", json).status == 401);
        CHECK(ask("/v1/auth", {{"Accept", "text/html"}}).status == 401);
        CHECK(
            ask("/v1/auth", {{"Accept", "text/html"}, {"X-Original-URL", "https://127.0.0.1.evil.example/"}}).status ==
            401);
        CHECK(ask("/v1/auth", {{"Accept", "text/html"}, {"X-Original-URL", "//127.0.0.1/"}}).status == 401);
        CHECK(ask("/v1/auth", nginx_original).status == 302);
    }
    SECTION("an original URL that is not a valid URL, or HTML refused by quality: the plain 401") {
        for (std::string url :
             {"http://127.0.0.1:evil.example/next", "http://127.0.0.1:99999/next", "http://127.0.0.1:80:80/next",
              "http://a..app.example.test/next", "http://x.app.example.test:0/next"}) {
            INFO(url);
            auto r = ask("/v1/auth", {{"Accept", "text/html"}, {"X-Original-URL", url}});
            CHECK(r.status == 401);
            CHECK_FALSE(r.has_header("location"));
            CHECK(r.header("content-type") == "application/problem+json");
        }
        auto dots = ask("/v1/auth", {{"Accept", "text/html"},
                                     {"X-Forwarded-Proto", "https"},
                                     {"X-Forwarded-Host", "a..app.example.test"},
                                     {"X-Forwarded-Uri", "/"}});
        CHECK(dots.status == 401);
        CHECK_FALSE(dots.has_header("location"));
        for (std::string accept : {"text/html;q=0", "text/html;q=0, */*", "*/*;q=0", "text/*;q=0", "*/*"}) {
            INFO(accept);
            auto headers = nginx_original;
            headers["Accept"] = accept;
            auto r = ask("/v1/auth", headers);
            CHECK(r.status == 401);
            CHECK_FALSE(r.has_header("location"));
        }
        auto text_any = nginx_original;
        text_any["Accept"] = "text/*;q=0.5, */*;q=0.1";
        CHECK(ask("/v1/auth", text_any).status == 302);
    }
    SECTION("a wrong API key is about the proxy: no cookie deletion, no redirect") {
        auto headers = nginx_original;
        headers["Cookie"] = "__Host-sid=" + token;
        headers["X-API-Key"] = "sk_wrong";
        auto r = send(b.sessiond.port(), "GET", "/v1/auth", headers, own_host);
        CHECK(r.status == 401);
        CHECK(r.body.find("unauthenticated") != std::string::npos);
        CHECK_FALSE(r.has_header("set-cookie"));
        CHECK_FALSE(r.has_header("location"));
    }
    SECTION("other paths keep their 404 and 405") {
        CHECK(ask("/v1/authx", {}).status == 404);
        CHECK(
            send(b.sessiond.port(), "PUT", "/v1/sessions/validate", {{"X-API-Key", test_keys::all}}, own_host).status ==
            405);
    }
}
