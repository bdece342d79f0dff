// The HTTPS listener: TLS 1.2 and 1.3 with a certificate from a test CA made
// at test time, an older or refused version, ALPN, the certificate reloaded
// on SIGHUP while a keep-alive connection stays open, a bad certificate on
// reload (the old one stays), and the operations listener.

#include <catch2/catch.hpp>

#include <signal.h>

#include <memory>
#include <string>

#include "support/http_client.hpp"
#include "support/https_client.hpp"
#include "support/process.hpp"
#include "support/redis_tls.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

const test_pki& pki() {
    static const auto made = make_test_pki();
    return *made;
}

// A certificate file sessiond reads, in a directory of the test's own (the
// reload tests overwrite it).
struct served_certificate {
    temp_dir dir;
    std::string cert = dir.file("server.crt");
    std::string key = dir.file("server.key");
    served_certificate() { use(pki().server_cert, pki().server_key); }
    void use(const std::string& from_cert, const std::string& from_key) {
        write_file(cert, read_file(from_cert));
        write_file(key, read_file(from_key));
    }
};

std::vector<std::string> https_args(const served_certificate& c, std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--development", "--tls-cert-file", c.cert, "--tls-key-file", c.key};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

tls_client_options client(std::string min = "1.2", std::string max = "1.3") {
    tls_client_options o;
    o.ca_file = pki().ca_cert;
    o.min_version = std::move(min);
    o.max_version = std::move(max);
    return o;
}

}  // namespace

TEST_CASE("HTTPS: TLS 1.3 and 1.2, ALPN http/1.1, the API over keep-alive; plain HTTP gets no answer", "[tls]") {
    served_certificate cert;
    sessiond_process sd(https_args(cert));

    https_connection v13(sd.port(), client("1.3", "1.3"));
    CHECK(v13.protocol() == "TLSv1.3");
    CHECK(v13.alpn() == "http/1.1");
    auto health = v13.request("GET", "/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    // A session made and validated over the same connection.
    auto made = v13.request("POST", "/v1/sessions", R"({"user_id":"tls-user"})");
    REQUIRE(made);
    CHECK(made->status == 201);
    const auto token_at = made->body.find("\"token\":\"") + 9;
    const auto token = made->body.substr(token_at, made->body.find('"', token_at) - token_at);
    auto valid = v13.request("POST", "/v1/sessions/validate", R"({"token":")" + token + R"("})");
    REQUIRE(valid);
    CHECK(valid->status == 200);

    https_connection v12(sd.port(), client("1.2", "1.2"));
    CHECK(v12.protocol() == "TLSv1.2");
    auto again = v12.request("GET", "/readyz");
    REQUIRE(again);
    CHECK(again->status == 200);

    // No plain-text answer on the TLS port: the connection ends.
    http_connection plain(sd.port());
    REQUIRE(plain.send(format_request("GET", "/healthz")));
    auto answer = plain.read_response(3s);
    CHECK_FALSE(answer);
}

TEST_CASE("HTTPS: an older TLS version than tls-min-version is refused", "[tls]") {
    served_certificate cert;
    SECTION("1.1 against the 1.2 default") {
        sessiond_process sd(https_args(cert));
        CHECK_THROWS_WITH(https_connection(sd.port(), client("1.1", "1.1")), Catch::Contains("handshake"));
        CHECK_NOTHROW(https_connection(sd.port(), client("1.2", "1.2")));
    }
    SECTION("1.2 against tls-min-version 1.3") {
        sessiond_process sd(https_args(cert, {"--tls-min-version", "1.3"}));
        CHECK_THROWS_WITH(https_connection(sd.port(), client("1.2", "1.2")), Catch::Contains("handshake"));
        https_connection ok(sd.port(), client());
        CHECK(ok.protocol() == "TLSv1.3");
    }
}

TEST_CASE("SIGHUP reloads the certificate; an open keep-alive connection goes on; a bad one is refused", "[tls]") {
    served_certificate cert;
    sessiond_process sd(https_args(cert, {"--log-format", "text"}));
    https_connection before(sd.port(), client());
    CHECK_THAT(before.server_subject(), Catch::Contains("CN = localhost") || Catch::Contains("CN=localhost"));

    auto next = issue_certificate(pki(), "renewed", "renewed.localhost",
                                  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    cert.use(next.cert, next.key);
    sd.proc().signal(SIGHUP);
    REQUIRE(sd.proc().wait_for_log("TLS certificate reloaded", 5s));
    // The connection made before the reload is still served.
    auto still = before.request("GET", "/healthz");
    REQUIRE(still);
    CHECK(still->status == 200);
    // A new connection gets the new certificate.
    https_connection after(sd.port(), client());
    CHECK_THAT(after.server_subject(), Catch::Contains("renewed.localhost"));

    // A certificate file that does not load (and a key that does not match
    // the next one) leaves the current certificate in use.
    write_file(cert.cert, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    sd.proc().signal(SIGHUP);
    REQUIRE(sd.proc().wait_for_log("TLS certificate reload failed", 5s));
    write_file(cert.cert, read_file(pki().server_cert));  // a certificate whose key is not the one in the file
    sd.proc().signal(SIGHUP);
    REQUIRE(eventually(
        [&] {
            const auto log = sd.proc().log();
            return log.find("does not match") != std::string::npos;
        },
        5s));
    https_connection unchanged(sd.port(), client());
    CHECK_THAT(unchanged.server_subject(), Catch::Contains("renewed.localhost"));
    auto metrics = unchanged.request("GET", "/metrics");
    REQUIRE(metrics);
    CHECK_THAT(metrics->body, Catch::Contains("sessiond_tls_reloads_total{result=\"ok\"} 1"));
    CHECK_THAT(metrics->body, Catch::Contains("sessiond_tls_reloads_total{result=\"failed\"} 2"));
    CHECK_THAT(metrics->body, Catch::Contains("sessiond_tls_certificate_not_after_seconds "));
    CHECK(sd.proc().running());
}

TEST_CASE("a certificate that does not load stops sessiond at start with the reason", "[tls]") {
    served_certificate cert;
    write_file(cert.key, read_file(pki().client_key));  // not the certificate's key
    auto r = run_sessiond({"--development", "--port", "0", "--tls-cert-file", cert.cert, "--tls-key-file", cert.key});
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Catch::Contains("does not match"));
    auto half = run_sessiond({"--development", "--port", "0", "--tls-cert-file", cert.cert});
    CHECK(half.status == 2);
    CHECK_THAT(half.output, Catch::Contains("tls-key-file"));
}

TEST_CASE("the operations listener serves probes and metrics; the main listener no longer serves metrics",
          "[tls][ops]") {
    served_certificate cert;
    const auto ops_port = free_port();
    sessiond_process sd(https_args(cert, {"--ops-port", std::to_string(ops_port)}));
    REQUIRE(eventually([&] { return sd.proc().log().find("operations listener") != std::string::npos; }, 5s));
    http_connection ops(ops_port);
    auto metrics = ops.request("GET", "/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK_THAT(metrics->body, Catch::Contains("sessiond_http_responses_total"));
    auto ready = http_connection(ops_port).request("GET", "/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 200);
    // The API is not on the operations listener.
    auto api = http_connection(ops_port).request("POST", "/v1/sessions", R"({"user_id":"x"})",
                                                 {{"Content-Type", "application/json"}});
    REQUIRE(api);
    CHECK(api->status == 404);

    https_connection main(sd.port(), client());
    auto hidden = main.request("GET", "/metrics");
    REQUIRE(hidden);
    CHECK(hidden->status == 404);
    auto health = main.request("GET", "/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
}
