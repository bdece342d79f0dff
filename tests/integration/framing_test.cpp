// HTTP/1.1 framing and expectations (RFC 9112 §3.2, §6; RFC 9110 §9.3.2,
// §10.1.1) against the real sessiond binary.

#include <catch2/catch.hpp>

#include "support/contract_target.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

// The answer is a 400 malformed_request and the connection ends after it:
// nothing of the body is read as a next request.
void refused_and_closed(http_connection& conn) {
    auto r = conn.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK_THAT(r->body, Catch::Contains(R"("code":"malformed_request")"));
    CHECK(r->header("connection") == "close");
    CHECK(conn.wait_closed(5s));
    CHECK(conn.unread().empty());
}

}  // namespace

TEST_CASE("a Transfer-Encoding other than chunked, or with Content-Length, gets 400 and a close") {
    sessiond_process sd;
    const std::string body = "hello";
    for (std::string coding : {"gzip", "foo", "xchunked", "chunked, gzip", "gzip, chunked", "chunked, chunked"}) {
        for (bool with_length : {false, true}) {
            INFO(coding << (with_length ? " with Content-Length" : ""));
            http_connection conn(sd.port());
            std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + "\r\n";
            if (with_length) req += "Content-Length: 5\r\n";
            REQUIRE(conn.send(req + "\r\n" + body));
            refused_and_closed(conn);
        }
    }
    // Two fields whose elements are chunked twice.
    http_connection twice(sd.port());
    REQUIRE(twice.send(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    refused_and_closed(twice);
    // chunked with Content-Length, in either order.
    for (std::string fields : {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                               "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
        http_connection conn(sd.port());
        REQUIRE(conn.send("POST /v1/sessions/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                          fields + "\r\n5\r\nhello\r\n0\r\n\r\n"));
        refused_and_closed(conn);
    }
    // chunked alone (any case) is served.
    http_connection chunked(sd.port());
    REQUIRE(
        chunked.send("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    auto ok = chunked.read_response(5s);
    REQUIRE(ok);
    CHECK(ok->status == 200);
}

TEST_CASE("HTTP/1.1 needs exactly one Host, HTTP/1.0 none") {
    sessiond_process sd;
    http_connection none(sd.port());
    REQUIRE(none.send("GET /healthz HTTP/1.1\r\n\r\n"));
    refused_and_closed(none);

    http_connection two(sd.port());
    REQUIRE(two.send("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));
    refused_and_closed(two);

    http_connection old(sd.port());
    REQUIRE(old.send("GET /healthz HTTP/1.0\r\n\r\n"));
    auto r = old.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == R"({"status":"ok"})");
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body, unless the header is refused") {
    const std::string key = "test-key-for-100-continue";
    sessiond_process sd(
        {"--development", "--max-body-bytes", "2048", "--api-keys", "writer=" + sha256_hex(key) + ":sessions:write"});
    const std::string body = R"({"user_id":"waits"})";
    auto head = [&](const std::string& target, const std::string& type, std::size_t length, bool with_key) {
        std::string h = "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
                        "\r\nContent-Length: " + std::to_string(length) + "\r\nExpect: 100-continue\r\n";
        if (with_key) h += "X-API-Key: " + key + "\r\n";
        return h + "\r\n";
    };

    // Accepted: 100, then the body, then the answer; the connection goes on.
    http_connection conn(sd.port());
    REQUIRE(conn.send(head("/v1/sessions", "application/json", body.size(), true)));
    auto interim = conn.read_response(5s);
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(conn.send(body));
    auto created = conn.read_response(5s);
    REQUIRE(created);
    CHECK(created->status == 201);
    auto again = conn.request("GET", "/healthz");
    REQUIRE(again);
    CHECK(again->status == 200);

    // Refused on the header: the final answer at once, no 100, then a close.
    struct refusal {
        std::string target, type;
        std::size_t length;
        bool with_key;
        int status;
    };
    for (const auto& c : {refusal{"/v1/sessions", "application/json", body.size(), false, 401},
                          refusal{"/v1/sessions", "text/plain", body.size(), true, 415},
                          refusal{"/v1/sessions", "application/json", 100000, true, 413},
                          refusal{"/v1/nowhere", "application/json", body.size(), true, 404},
                          refusal{"/healthz", "application/json", body.size(), true, 405}}) {
        INFO(c.target << " " << c.type << " " << c.length);
        http_connection refused(sd.port());
        REQUIRE(refused.send(head(c.target, c.type, c.length, c.with_key)));
        auto r = refused.read_response(5s);
        REQUIRE(r);
        CHECK(r->status == c.status);
        CHECK(r->header("connection") == "close");
        CHECK(refused.wait_closed(5s));
        CHECK(refused.unread().empty());
    }

    // A client that sends the body without waiting is served as usual.
    http_connection eager(sd.port());
    REQUIRE(eager.send(head("/v1/sessions", "application/json", body.size(), true) + body));
    auto r = eager.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 201);
}

TEST_CASE("HEAD is served on every GET route, with the GET answer's header and no body") {
    sessiond_process sd;
    for (std::string target :
         {"/healthz", "/readyz", "/metrics", "/v1/auth", "/v1/sessions/abc", "/v1/users/u/sessions"}) {
        INFO(target);
        http_connection conn(sd.port());
        auto get = conn.request("GET", target, "", {{"X-Request-Id", "same"}});
        REQUIRE(get);
        REQUIRE(conn.send(format_request("HEAD", target, "", {{"X-Request-Id", "same"}})));
        // The HEAD answer has no body: a GET pipelined after it is read next.
        REQUIRE(conn.send(format_request("GET", "/healthz", "", {{"X-Request-Id", "after-head"}})));
        auto head = conn.read_response(5s, true);
        REQUIRE(head);
        CHECK(head->status == get->status);
        CHECK(head->header("content-type") == get->header("content-type"));
        if (target != "/metrics")  // its counters move between the two requests
            CHECK(head->header("content-length") == std::to_string(get->body.size()));
        CHECK(head->body.empty());
        auto next = conn.read_response(5s);
        REQUIRE(next);
        CHECK(next->header("x-request-id") == "after-head");
        CHECK(next->status == 200);
    }
    // The Allow list of a GET route names HEAD.
    auto na = sd.request("POST", "/healthz");
    CHECK(na.status == 405);
    CHECK(na.header("allow") == "GET, HEAD");
}
