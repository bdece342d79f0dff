// Forward auth (/v1/auth) behind the proxies people put in front of it:
// real nginx and Caddy, started here with the configurations of
// deploy/proxies/ in front of sessiond and a recording upstream; and, for
// Traefik and Envoy, which are not installed here, sessiond asked exactly
// what their documentation says they send.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>

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
        CHECK(send(port, "GET", "/admin/users", {{"Cookie", cookie}}, host).status == 200);
        std::this_thread::sleep_for(1100ms);
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
