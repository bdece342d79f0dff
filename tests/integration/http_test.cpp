// The HTTP core, against the real sessiond binary on a free loopback port.

#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

// Whether sessiond has read all that was sent to it on `port`: it has
// `connections` established sockets there, each with an empty receive queue
// (the bytes the kernel holds until the process reads them: /proc/net/tcp).
bool all_read(unsigned short port, int connections) {
    int seen = 0;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // the column names
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues;
            fields >> slot >> local >> remote >> state >> queues;
            if (state != "01" || std::stoul(local.substr(local.find(':') + 1), nullptr, 16) != port) continue;
            ++seen;  // ESTABLISHED, on sessiond's side
            if (std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16) != 0) return false;
        }
    }
    return seen == connections;
}

}  // namespace

TEST_CASE("health endpoints answer and echo or generate a request id") {
    sessiond_process sd;
    auto r = sd.request("GET", "/healthz", "", {{"X-Request-Id", "trace-42"}});
    CHECK(r.status == 200);
    CHECK(r.body == R"({"status":"ok"})");
    CHECK(r.header("x-request-id") == "trace-42");

    auto ready = sd.request("GET", "/readyz");
    CHECK(ready.status == 200);
    CHECK(ready.header("x-request-id").size() >= 8);  // generated

    // An unusable id (too long, a control character) is replaced rather than echoed.
    auto bad = sd.request("GET", "/healthz", "", {{"X-Request-Id", std::string(200, 'a')}});
    CHECK(bad.header("x-request-id") != std::string(200, 'a'));
    auto control = sd.request("GET", "/healthz", "", {{"X-Request-Id", "a\x01b"}});
    CHECK(control.header("x-request-id") != "a\x01b");
    CHECK_FALSE(control.header("x-request-id").empty());

    // Any id the API allows (1..128 printable ASCII) is echoed as it came,
    // and logged escaped.
    for (std::string id : {std::string("order 42 / retry #2"), std::string(R"(a"b\c{d}<e>)"), std::string(128, '~'),
                           std::string("x y")}) {
        INFO(id);
        auto echoed = sd.request("GET", "/healthz", "", {{"X-Request-Id", id}});
        CHECK(echoed.header("x-request-id") == id);
    }
    auto problem = sd.request("GET", "/v1/no-such-route", "", {{"X-Request-Id", "trace 7"}});
    CHECK(problem.status == 404);
    CHECK(problem.header("x-request-id") == "trace 7");
    CHECK_THAT(problem.body, Catch::Contains(R"("request_id":"trace 7")"));
    CHECK(sd.proc().wait_for_log(R"("request_id":"order 42 / retry #2")", 5s));

    // The id reaches the access log with the route template.
    CHECK(sd.proc().wait_for_log(R"("route":"/healthz","status":200)", 5s));
    CHECK(sd.proc().wait_for_log(R"("request_id":"trace-42")", 5s));
}

TEST_CASE("keep-alive serves many requests on one connection, pipelined in order") {
    sessiond_process sd;
    http_connection conn(sd.port());
    for (int i = 0; i < 20; ++i) {
        auto r = conn.request("GET", "/healthz", "", {{"X-Request-Id", "seq-" + std::to_string(i)}});
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("x-request-id") == "seq-" + std::to_string(i));
    }
    // Pipelined: all requests in one write, responses come back in order.
    std::string batch;
    for (int i = 0; i < 50; ++i) {
        batch += format_request(i % 2 ? "GET" : "POST", i % 2 ? "/healthz" : "/nowhere", "",
                                {{"X-Request-Id", "p-" + std::to_string(i)}});
    }
    REQUIRE(conn.send(batch));
    for (int i = 0; i < 50; ++i) {
        auto r = conn.read_response();
        REQUIRE(r);
        CHECK(r->header("x-request-id") == "p-" + std::to_string(i));
        CHECK(r->status == (i % 2 ? 200 : 404));
    }
}

TEST_CASE("a request that arrives in pieces is parsed as a whole, wherever it is cut") {
    sessiond_process sd;
    http_connection conn(sd.port());
    // A body the route rejects as JSON it does not understand: the answer
    // proves the whole body arrived (a cut body would hang or read as 400).
    const std::string body = R"({"token":"sid_not-a-real-token"})";
    const std::string req = format_request("POST", "/v1/sessions/validate", body,
                                           {{"Content-Type", "application/json"}, {"X-Request-Id", "cut"}});
    std::optional<http_response> whole;
    {
        http_connection once(sd.port());
        whole = once.request("POST", "/v1/sessions/validate", body,
                             {{"Content-Type", "application/json"}, {"X-Request-Id", "cut"}});
        REQUIRE(whole);
        REQUIRE(whole->status == 401);  // the token was read: the JSON body arrived whole
        REQUIRE(whole->body.find(R"("detail":"the session token is not valid")") != std::string::npos);
    }
    for (std::size_t cut = 1; cut < req.size(); cut += 7) {
        REQUIRE(conn.send(req.substr(0, cut)));
        std::this_thread::sleep_for(2ms);  // the first piece is read on its own
        REQUIRE(conn.send(req.substr(cut)));
        auto r = conn.read_response();
        REQUIRE(r);
        CHECK(r->status == whole->status);
        CHECK(r->body == whole->body);
        CHECK(r->header("x-request-id") == "cut");
    }
    // Chunked, one chunk per write.
    REQUIRE(
        conn.send("POST /v1/sessions/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\nX-Request-Id: chunks\r\n\r\n"));
    for (std::size_t at = 0; at < body.size(); at += 5) {
        std::string piece = body.substr(at, 5);
        char size[8];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        std::this_thread::sleep_for(1ms);  // paces the chunks: most are read one by one
        REQUIRE(conn.send(std::string(size) + "\r\n" + piece + "\r\n"));
    }
    REQUIRE(conn.send("0\r\n\r\n"));
    auto r = conn.read_response();
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->body.find(R"("detail":"the session token is not valid")") != std::string::npos);
    CHECK(r->header("x-request-id") == "chunks");
}

TEST_CASE("unknown paths get 404 and wrong methods 405 with Allow, as problem+json") {
    sessiond_process sd;
    auto nf = sd.request("GET", "/v1/nope");
    CHECK(nf.status == 404);
    CHECK(nf.header("content-type") == "application/problem+json");
    CHECK_THAT(nf.body, Catch::Contains(R"("code":"not_found")"));

    auto na = sd.request("DELETE", "/healthz");
    CHECK(na.status == 405);
    CHECK(na.header("allow") == "GET, HEAD");
    CHECK_THAT(na.body, Catch::Contains(R"("code":"method_not_allowed")"));
}

TEST_CASE("a body over the limit gets 413") {
    sessiond_process sd({"--development", "--max-body-bytes", "2048"});
    http_connection conn(sd.port());
    auto r = conn.request("POST", "/v1/sessions", std::string(4096, 'x'));
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK_THAT(r->body, Catch::Contains(R"("code":"body_too_large")"));
    CHECK(conn.wait_closed(5s));

    // A chunked body that grows past the limit is refused the same way.
    http_connection chunked(sd.port());
    std::string req =
        "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i)
        req += "400\r\n" + std::string(1024, 'y') + "\r\n";
    req += "0\r\n\r\n";
    REQUIRE(chunked.send(req));
    auto c = chunked.read_response();
    REQUIRE(c);
    CHECK(c->status == 413);
}

TEST_CASE("a header over the limit gets 431") {
    sessiond_process sd;
    http_connection conn(sd.port());
    auto r = conn.request("GET", "/healthz", "", {{"X-Padding", std::string(9000, 'h')}});
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK_THAT(r->body, Catch::Contains(R"("code":"headers_too_large")"));

    // Just under the limit is fine.
    http_connection ok(sd.port());
    auto fine = ok.request("GET", "/healthz", "", {{"X-Padding", std::string(7000, 'h')}});
    REQUIRE(fine);
    CHECK(fine->status == 200);
}

TEST_CASE("garbage is answered with 400 malformed_request") {
    sessiond_process sd;
    http_connection conn(sd.port());
    REQUIRE(conn.send("THIS IS NOT HTTP\r\n\r\n"));
    auto r = conn.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK_THAT(r->body, Catch::Contains(R"("code":"malformed_request")"));
}

TEST_CASE("a slow client gets 408 and is closed, a silent one is closed without a word") {
    sessiond_process sd({"--development", "--read-timeout", "300ms", "--idle-timeout", "500ms"});
    auto request_timeout = [](const std::optional<http_response>& r) {
        REQUIRE(r);
        CHECK(r->status == 408);
        CHECK(r->header("content-type") == "application/problem+json");
        CHECK(r->header("connection") == "close");
        CHECK_THAT(r->body, Catch::Contains(R"("code":"request_timeout")") && Catch::Contains(R"("status":408)"));
    };

    // Slow: starts a request and never finishes it.
    http_connection slow(sd.port());
    REQUIRE(slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    auto started = std::chrono::steady_clock::now();
    request_timeout(slow.read_response(5s));
    CHECK(std::chrono::steady_clock::now() - started < 4s);
    CHECK(slow.wait_closed(5s));

    // Slow loris: one header byte at a time, each within the idle window,
    // still bounded by the read timeout for the whole request.
    http_connection loris(sd.port());
    REQUIRE(loris.send("GET /healthz HTTP/1.1\r\n"));
    std::optional<http_response> answer;
    for (int i = 0; i < 40 && !answer; ++i)
        if (!(answer = loris.read_response(100ms))) REQUIRE(loris.send("X"));
    request_timeout(answer);
    CHECK(loris.wait_closed(5s));

    // Silent: a keep-alive connection without requests closes after the idle timeout.
    http_connection silent(sd.port());
    REQUIRE(silent.request("GET", "/healthz"));
    CHECK(silent.wait_closed(5s));
    CHECK(silent.unread().empty());
    // And one that never sent a byte.
    http_connection mute(sd.port());
    CHECK(mute.wait_closed(5s));
    CHECK(mute.unread().empty());

    // The server is still fine.
    CHECK(sd.request("GET", "/healthz").status == 200);
}

TEST_CASE("SIGTERM lets the request in flight finish, closes idle connections and exits 0") {
    sessiond_process sd({"--development", "--drain-timeout", "10s"});
    http_connection idle(sd.port());
    REQUIRE(idle.request("GET", "/healthz"));

    // A request whose body is still arriving when the signal comes.
    http_connection busy(sd.port());
    std::string req = format_request("GET", "/healthz", "");
    req.insert(req.find("\r\n\r\n"), "\r\nContent-Length: 10");
    REQUIRE(busy.send(req + "01234"));
    // sessiond has read these bytes (and so counts the connection busy, not
    // idle).
    REQUIRE(eventually([&] { return all_read(sd.port(), 2); }, 5s, 1ms));

    sd.proc().signal(SIGTERM);
    CHECK(idle.wait_closed(5s));                   // idle: closed at once
    CHECK(sd.proc().wait(300ms) == std::nullopt);  // still draining the busy one
    REQUIRE(busy.send("56789"));
    auto r = busy.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("connection") == "close");
    CHECK(sd.proc().wait(10s) == std::optional<int>(0));
    CHECK_THAT(sd.proc().log(), Catch::Contains("shutting down") && Catch::Contains("stopped"));
}

TEST_CASE("the drain deadline bounds shutdown") {
    sessiond_process sd({"--development", "--drain-timeout", "300ms", "--read-timeout", "60s"});
    http_connection stuck(sd.port());
    REQUIRE(stuck.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));           // never completes
    REQUIRE(eventually([&] { return all_read(sd.port(), 1); }, 5s, 1ms));  // read, so busy (as above)
    auto started = std::chrono::steady_clock::now();
    sd.proc().signal(SIGINT);
    CHECK(sd.proc().wait(10s) == std::optional<int>(0));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(stuck.wait_closed(2s));
}

TEST_CASE("connections beyond the limit get 503 too_many_connections") {
    sessiond_process sd({"--development", "--max-connections", "2"});
    // Busy (a request begun), so that no idle connection can make room.
    auto a = std::make_unique<http_connection>(sd.port());
    http_connection b(sd.port());
    REQUIRE(a->send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    REQUIRE(b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));

    CHECK(eventually(
        [&] {
            http_connection c(sd.port());
            auto r = c.request("GET", "/v1/auth");
            return r && r->status == 503 && r->body.find(R"("code":"too_many_connections")") != std::string::npos;
        },
        20s, 20ms));

    // Once a connection closes, its slot serves a new one.
    a.reset();
    CHECK(eventually(
        [&] {
            http_connection d(sd.port());
            auto ok = d.request("GET", "/v1/auth");
            return ok && ok->status == 401;
        },
        20s, 20ms));
}

TEST_CASE("command line: help, version, check-config, and invalid config exits 2 naming the option") {
    auto help = run_sessiond({"--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.output, Catch::Contains("--max-body-bytes") && Catch::Contains("SESSIOND_"));

    auto version = run_sessiond({"--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.output, Catch::StartsWith("sessiond "));

    auto check = run_sessiond({"--check-config", "--development", "--redis-url", "redis://u:topsecret@127.0.0.1:1"});
    CHECK(check.status == 0);
    CHECK_THAT(check.output, Catch::Contains("configuration is valid") && !Catch::Contains("topsecret"));

    // --check-config runs the start-up checks too: no keys outside development mode.
    auto insecure = run_sessiond({"--check-config"});
    CHECK(insecure.status == 2);
    CHECK_THAT(insecure.output, Catch::Contains("'token-keys'") && !Catch::Contains("configuration is valid"));

    auto bad_flag = run_sessiond({"--port", "65536"});
    CHECK(bad_flag.status == 2);
    CHECK_THAT(bad_flag.output, Catch::Contains("'port'"));

    auto bad_env = run_sessiond({}, {{"SESSIOND_IDLE_TIMEOUT", "forever"}});
    CHECK(bad_env.status == 2);
    CHECK_THAT(bad_env.output, Catch::Contains("'idle-timeout'") && Catch::Contains("SESSIOND_IDLE_TIMEOUT"));

    temp_dir dir;
    write_file(dir.file("bad.conf"), "max-header-bytes = lots\n");
    auto bad_file = run_sessiond({"--config", dir.file("bad.conf")});
    CHECK(bad_file.status == 2);
    CHECK_THAT(bad_file.output, Catch::Contains("'max-header-bytes'") && Catch::Contains("config file"));

    auto missing_file = run_sessiond({"--config", dir.file("none.conf")});
    CHECK(missing_file.status == 2);
}
