// sessiond's session cookie in a real browser: headless Chromium, driven
// over the DevTools protocol, through nginx with TLS configured from
// deploy/proxies/nginx.conf, in front of sessiond and a tiny application
// in this process (a login page that creates the session, a protected page,
// a logout that revokes it). A second site, evil.test, posts a form to the
// application. Checks what only a browser decides: that scripts cannot read
// the cookie (HttpOnly), that a cross-site POST goes without it (SameSite),
// that logout and a refused cookie remove it from the jar; and, from two
// browsers, that a user sees both sessions on the application's devices
// page (sessions:self) and that ending the other one refuses it at once.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>

#include "support/browser.hpp"
#include "support/contract_target.hpp"
#include "support/header_recorder.hpp"
#include "support/proxy_process.hpp"
#include "support/redis_tls.hpp"

using namespace sessiond::test;
namespace json = boost::json;

namespace {

const std::string session_cookie = "__Host-sid";

std::string answer(int status, const std::string& reason, const std::string& body,
                   const std::vector<std::string>& headers = {}) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    for (const auto& h : headers)
        r += h + "\r\n";
    r += "Content-Type: text/html; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
    return r;
}

// A cookie's value in a Cookie header, or "".
std::string cookie_value(const std::string& header, const std::string& name) {
    for (std::size_t at = 0; at < header.size();) {
        auto end = header.find(';', at);
        if (end == std::string::npos) end = header.size();
        auto pair = header.substr(at, end - at);
        pair.erase(0, pair.find_first_not_of(' '));
        if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
        at = end + 1;
    }
    return "";
}

// The application behind nginx. Its login and logout call sessiond with
// their own API key; the protected pages trust the identity headers nginx
// sets from /v1/auth.
struct application {
    unsigned short sessiond_port;
    std::atomic<unsigned short> site_port{0};  // nginx's, once it listens

    std::string call_sessiond(const std::string& path, const std::string& body,
                              const std::string& key = test_keys::write) {
        http_connection conn(sessiond_port);
        auto r = conn.request("POST", path, body, {{"X-API-Key", key}});
        return r ? std::to_string(r->status) + " " + r->body : "no answer";
    }

    // The devices page: the user's sessions, each other one with a form that ends it.
    std::string devices(const std::string& token) {
        auto listed = call_sessiond("/v1/self/sessions", R"({"token":")" + token + "\"}", test_keys::self);
        if (listed.rfind("200 ", 0) != 0) return answer(502, "Bad Gateway", listed);
        std::string page = "<ul>";
        const auto reply = json::parse(listed.substr(4));
        for (const auto& s : reply.at("sessions").as_array()) {
            const std::string id(s.at("id").as_string());
            const bool current = s.at("current").as_bool();
            page.append("<li id=").append(id).append(" data-current=").append(current ? "true" : "false");
            page.append(">").append(id);
            if (!current)
                page.append("<form method=post action=/devices/end><input name=session_id value=")
                    .append(id)
                    .append("><button>End</button></form>");
            page += "</li>";
        }
        return answer(200, "OK", page + "</ul>");
    }

    std::string operator()(const recorded_request& req) {
        const std::string user = req.header("x-session-user");
        if (req.method == "GET" && req.target == "/login")
            return answer(200, "OK",
                          "<form method=post action=/login><input name=user value=alice>"
                          "<button>Log in</button></form>");
        if (req.method == "POST" && req.target == "/login") {
            const auto name = req.body.substr(req.body.find('=') + 1);
            auto created = call_sessiond("/v1/sessions", R"({"user_id":")" + name + "\"}");
            if (created.rfind("201 ", 0) != 0) return answer(502, "Bad Gateway", created);
            const auto cookie = json::parse(created.substr(4)).at("cookie").as_string();
            // The session cookie as sessiond recommends it, and one that
            // scripts may read, to show that document.cookie works.
            return answer(303, "See Other", "",
                          {"Location: /orders", "Set-Cookie: " + std::string(cookie),
                           "Set-Cookie: theme=dark; Path=/; Secure; SameSite=Lax"});
        }
        if (req.method == "POST" && req.target == "/logout") {
            const auto token = cookie_value(req.header("cookie"), session_cookie);
            auto revoked = call_sessiond("/v1/sessions/revoke", R"({"token":")" + token + "\"}");
            if (revoked.rfind("204 ", 0) != 0) return answer(502, "Bad Gateway", revoked);
            return answer(303, "See Other", "",
                          {"Location: /login",
                           "Set-Cookie: " + session_cookie + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"});
        }
        if (req.method == "GET" && req.target == "/orders")
            return answer(200, "OK",
                          "<p id=user>" + user +
                              "</p>"
                              "<form id=transfer method=post action=/transfer><input name=amount value=10></form>"
                              "<form id=logout method=post action=/logout></form>");
        if (req.method == "POST" && req.target == "/transfer") return answer(200, "OK", "transferred for " + user);
        if (req.method == "GET" && req.target == "/devices")
            return devices(cookie_value(req.header("cookie"), session_cookie));
        if (req.method == "POST" && req.target == "/devices/end") {
            const auto token = cookie_value(req.header("cookie"), session_cookie);
            const auto id = req.body.substr(req.body.find('=') + 1);
            auto ended = call_sessiond("/v1/self/sessions/revoke",
                                       R"({"token":")" + token + R"(","session_id":")" + id + "\"}", test_keys::self);
            if (ended.rfind("200 ", 0) != 0) return answer(502, "Bad Gateway", ended);
            return answer(303, "See Other", "", {"Location: /devices"});
        }
        if (req.method == "GET" && req.target == "/evil-page")
            return answer(200, "OK",
                          "<form method=post action=https://app.test:" + std::to_string(site_port.load()) +
                              "/transfer><input name=amount value=1000000></form>"
                              "<script>document.forms[0].submit()</script>");
        return answer(404, "Not Found", "no such page");
    }
};

const json::object* find_cookie(const json::array& jar, const std::string& name) {
    for (const auto& c : jar)
        if (c.as_object().at("name").as_string() == name) return &c.as_object();
    return nullptr;
}

// Why the browser did or did not send the session cookie with its last
// POST to `url`, as it reports it (Network.requestWillBeSentExtraInfo's
// associatedCookies): the cookie's blockedReasons, empty when it was sent;
// null when the browser reported no such request or cookie.
json::value reported_cookie_fate(const browser& chromium, const std::string& url) {
    const auto is = [](const json::value& v, std::string_view text) { return v.is_string() && v.as_string() == text; };
    std::string request_id;
    for (const auto& e : chromium.events("Network.requestWillBeSent")) {
        const auto& request = e.at("params").at("request");
        if (is(request.at("url"), url) && is(request.at("method"), "POST"))
            request_id = std::string(e.at("params").at("requestId").as_string());
    }
    for (const auto& e : chromium.events("Network.requestWillBeSentExtraInfo")) {
        const auto& params = e.at("params").as_object();
        if (request_id.empty() || !is(params.at("requestId"), request_id)) continue;
        for (const auto& c : params.at("associatedCookies").as_array())
            if (is(c.at("cookie").at("name"), session_cookie)) return c.at("blockedReasons");
    }
    return nullptr;
}

// The same, waiting for the report: the network service sends it apart from
// the page, and it may come after the page that request loaded.
json::value session_cookie_fate(browser& chromium, const std::string& url) {
    json::value fate;
    eventually(
        [&] {
            fate = reported_cookie_fate(chromium, url);
            if (!fate.is_null()) return true;
            chromium.read_pending_events();
            return false;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(20));
    return fate;
}

bool posted(const std::vector<recorded_request>& requests, const std::string& target) {
    for (const auto& r : requests)
        if (r.method == "POST" && r.target == target) return true;
    return false;
}

// Whether Chromium is here (a warning when not: the test is skipped); nginx must be.
bool have_browser() {
    if (!have_program(browser::binary)) {
        WARN("skipped: Chromium is not installed (" << browser::binary << "; scripts/install-deps installs it)");
        SUCCEED("skipped");
        return false;
    }
    if (!have_program("/usr/sbin/nginx")) FAIL("nginx is not installed (scripts/install-deps)");
    return true;
}

// The sites, sessiond, the application and nginx in front of them.
struct site_fixture {
    std::unique_ptr<test_pki> pki = make_test_pki();
    issued_certificate sites = issue_certificate(
        *pki, "sites", "app.test", "subjectAltName=DNS:app.test,DNS:evil.test\nextendedKeyUsage=serverAuth\n");
    contract_target sessiond{"memory"};
    application app_logic{sessiond.port()};
    header_recorder app{[this](const recorded_request& r) { return app_logic(r); }};
    std::unique_ptr<nginx_proxy> nginx;
    std::string site;

    site_fixture() {
        // deploy/proxies/nginx.conf with TLS, the login and logout pages outside
        // forward auth (as its README says they must be), and evil.test, a
        // site of its own on the same port, serving the application's evil page.
        const std::string protect = "    # Every location behind sessiond, any method.\n";
        nginx = std::make_unique<nginx_proxy>(
            std::map<std::string, std::string>{{"SESSIOND", "127.0.0.1:" + std::to_string(sessiond.port())},
                                               {"UPSTREAM", "127.0.0.1:" + std::to_string(app.port())},
                                               {"API_KEY", test_keys::auth}},
            std::map<std::string, std::string>{{protect,
                                                "    location = /login { proxy_pass http://app; }\n"
                                                "    location = /logout { proxy_pass http://app; }\n\n" +
                                                    protect}},
            nginx_extras{sites.cert, sites.key,
                         "server {\n"
                         "    listen {{LISTEN}};\n"
                         "    server_name evil.test;\n"
                         "    location = / { proxy_pass http://app/evil-page; }\n"
                         "}\n"});
        app_logic.site_port = nginx->port();
        site = "https://app.test:" + std::to_string(nginx->port());
    }

    // Both names are 127.0.0.1; only the test CA's certificate for them is accepted.
    std::vector<std::string> browser_args() const {
        return {"--host-resolver-rules=MAP app.test 127.0.0.1, MAP evil.test 127.0.0.1",
                "--ignore-certificate-errors-spki-list=" + spki_sha256_base64(sites.cert)};
    }
};

}  // namespace

// One browser session, step by step (each step starts where the previous one left off).
TEST_CASE("A browser keeps the session cookie from scripts and other sites, and drops it on logout and refusal",
          "[browser]") {
    if (!have_browser()) return;

    site_fixture f;
    auto& sessiond = f.sessiond;
    auto& app = f.app;
    auto& nginx = *f.nginx;
    const std::string& site = f.site;

    // Both names are 127.0.0.1; only the test CA's certificate for them is
    // accepted. The browser reports the cookies of each request it sends
    // (its Network domain is enabled from the start).
    browser chromium(f.browser_args());

    // Log in: the login page's form creates the session and lands on the protected page.
    chromium.open(site + "/login", site + "/login");
    CHECK(chromium.status() == 200);
    chromium.act("document.forms[0].submit()", site + "/orders");
    CHECK(chromium.status() == 200);
    CHECK(chromium.evaluate("document.getElementById('user').textContent") == "alice");
    auto jar = chromium.cookies();
    const auto* sid = find_cookie(jar, session_cookie);
    REQUIRE(sid);
    CHECK(sid->at("httpOnly").as_bool());
    CHECK(sid->at("secure").as_bool());
    CHECK(sid->at("sameSite").as_string() == "Lax");
    CHECK(sid->at("path").as_string() == "/");
    CHECK(sid->at("domain").as_string() == "app.test");  // host-only, as __Host- requires
    const std::string token(sid->at("value").as_string());
    CHECK(sessiond.validate(token).status == 200);

    // Scripts do not see the session cookie (HttpOnly).
    {
        CHECK(chromium.evaluate("document.cookie") == "theme=dark");
        // Nor can they overwrite it: a script's cookie of that name is refused.
        chromium.evaluate("document.cookie = '" + session_cookie + "=forged; Path=/; Secure'");
        jar = chromium.cookies();
        REQUIRE(find_cookie(jar, session_cookie));
        CHECK(find_cookie(jar, session_cookie)->at("value").as_string() == token);
    }

    // A same-site POST carries the cookie, another site's cross-site POST
    // does not (SameSite=Lax).
    {
        app.clear();
        chromium.act("document.getElementById('transfer').submit()", site + "/transfer");
        CHECK(chromium.status() == 200);
        CHECK(chromium.text() == "transferred for alice");
        CHECK(posted(app.requests(), "/transfer"));
        CHECK(session_cookie_fate(chromium, site + "/transfer") == json::array());  // sent

        app.clear();
        chromium.clear_events();
        // evil.test's page posts its form to app.test as soon as it loads.
        chromium.open("https://evil.test:" + std::to_string(nginx.port()) + "/", site + "/transfer");
        CHECK(chromium.status() == 401);  // no cookie: forward auth refused it
        auto got = app.requests();
        REQUIRE(got.size() == 1);
        CHECK(got[0].target == "/evil-page");
        CHECK_FALSE(posted(got, "/transfer"));
        // Chromium itself says why it held the cookie back: SameSite=Lax
        // (Chromium 156 reports SchemefulSameSiteLax; plain SameSiteLax is accepted too).
        auto fate = session_cookie_fate(chromium, site + "/transfer");
        INFO("blockedReasons: " << json::serialize(fate));
        CHECK((fate == json::array({"SameSiteLax"}) || fate == json::array({"SchemefulSameSiteLax"})));
        // The cookie is still there for app.test's own requests.
        REQUIRE(find_cookie(chromium.cookies(), session_cookie));
        chromium.open(site + "/orders", site + "/orders");
        CHECK(chromium.status() == 200);
    }

    // Logout revokes the session and deletes the cookie.
    {
        chromium.act("document.getElementById('logout').submit()", site + "/login");
        CHECK(chromium.status() == 200);
        jar = chromium.cookies();
        CHECK_FALSE(find_cookie(jar, session_cookie));
        CHECK(find_cookie(jar, "theme"));
        CHECK(sessiond.validate(token).status == 401);
        app.clear();
        chromium.open(site + "/orders", site + "/orders");
        CHECK(chromium.status() == 401);
        CHECK(app.requests().empty());
    }

    // A cookie sessiond does not honour is deleted by forward auth's 401.
    {
        chromium.set_cookie({{"name", session_cookie},
                             {"value", "sid_forged"},
                             {"url", site + "/"},
                             {"path", "/"},
                             {"secure", true},
                             {"httpOnly", true},
                             {"sameSite", "Lax"}});
        jar = chromium.cookies();
        REQUIRE(find_cookie(jar, session_cookie));
        REQUIRE(find_cookie(jar, session_cookie)->at("value").as_string() == "sid_forged");
        app.clear();
        chromium.open(site + "/orders", site + "/orders");
        CHECK(chromium.status() == 401);
        CHECK(app.requests().empty());
        jar = chromium.cookies();
        CHECK_FALSE(find_cookie(jar, session_cookie));
        CHECK(find_cookie(jar, "theme"));
    }
}

// Two browsers, one user: the devices page (sessions:self) lists both
// sessions, and ending the other one refuses that browser at once.
TEST_CASE("A user signed in from two browsers sees both sessions and ends the other one", "[browser]") {
    if (!have_browser()) return;
    site_fixture f;
    const std::string& site = f.site;
    browser laptop(f.browser_args()), phone(f.browser_args());  // a profile, and a cookie jar, each

    std::string tokens[2];
    for (auto* b : {&laptop, &phone}) {
        b->open(site + "/login", site + "/login");
        b->act("document.forms[0].submit()", site + "/orders");
        REQUIRE(b->status() == 200);
        const auto jar = b->cookies();
        const auto* sid = find_cookie(jar, session_cookie);
        REQUIRE(sid);
        tokens[b == &laptop ? 0 : 1] = std::string(sid->at("value").as_string());
    }
    const auto id_of = [&](const std::string& token) {
        return std::string(session_of(f.sessiond.validate(token)).at("id").as_string());
    };
    const std::string laptop_id = id_of(tokens[0]), phone_id = id_of(tokens[1]);

    // The laptop sees both sessions, itself marked current.
    laptop.open(site + "/devices", site + "/devices");
    REQUIRE(laptop.status() == 200);
    CHECK(laptop.evaluate("document.querySelectorAll('li').length") == 2);
    CHECK(laptop.evaluate("document.querySelector('li[data-current=true]').id") == json::value(laptop_id));
    CHECK(laptop.evaluate("document.querySelector('li[data-current=false]').id") == json::value(phone_id));

    // It ends the phone's session: the page shows one, the phone is refused at once.
    laptop.act("document.querySelector('li[data-current=false] form').submit()", site + "/devices");
    REQUIRE(laptop.status() == 200);
    CHECK(laptop.evaluate("document.querySelectorAll('li').length") == 1);
    CHECK(laptop.evaluate("document.querySelector('li').id") == json::value(laptop_id));
    f.app.clear();
    phone.open(site + "/orders", site + "/orders");
    CHECK(phone.status() == 401);
    CHECK(f.app.requests().empty());
    CHECK_FALSE(find_cookie(phone.cookies(), session_cookie));  // the refused cookie is deleted
    CHECK(f.sessiond.validate(tokens[1]).status == 401);
    // The laptop goes on.
    laptop.open(site + "/orders", site + "/orders");
    CHECK(laptop.status() == 200);
}
