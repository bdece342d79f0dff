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
    REQUIRE(sd.proc().wait_for_log("TLS certificate reloaded", 20s));
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
    REQUIRE(sd.proc().wait_for_log("reload failed", 20s));
    write_file(cert.cert, read_file(pki().server_cert));  // a certificate whose key is not the one in the file
    sd.proc().signal(SIGHUP);
    REQUIRE(eventually(
        [&] {
            const auto log = sd.proc().log();
            return log.find("does not match") != std::string::npos;
        },
        20s));
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
    // --check-config loads the pair the same way: what an operator runs
    // before sending SIGHUP with new files.
    auto checked =
        run_sessiond({"--development", "--check-config", "--tls-cert-file", cert.cert, "--tls-key-file", cert.key});
    CHECK(checked.status == 2);
    CHECK_THAT(checked.output, Catch::Contains("does not match"));
    cert.use(pki().server_cert, pki().server_key);
    CHECK(run_sessiond({"--development", "--check-config", "--tls-cert-file", cert.cert, "--tls-key-file", cert.key})
              .status == 0);
    write_file(cert.key, read_file(pki().client_key));
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

namespace {

// Client certificates: one per caller kind, one the configuration does not
// name, and one from a CA sessiond does not trust.
struct client_certificates {
    issued_certificate spiffe = issue_certificate(pki(), "c-spiffe", "gateway-pod-7",
                                                  "subjectAltName=URI:spiffe://test.example/ns/edge/sa/gateway\n"
                                                  "extendedKeyUsage=clientAuth\n");
    issued_certificate dns = issue_certificate(pki(), "c-dns", "reporting",
                                               "subjectAltName=DNS:reports.internal\nextendedKeyUsage=clientAuth\n");
    issued_certificate stranger = issue_certificate(pki(), "c-stranger", "stranger", "extendedKeyUsage=clientAuth\n");
    issued_certificate foreign = issue_certificate(
        pki(), "c-foreign", "gateway-pod-7",
        "subjectAltName=URI:spiffe://test.example/ns/edge/sa/gateway\nextendedKeyUsage=clientAuth\n", true);
};

const client_certificates& certs() {
    static const client_certificates made;
    return made;
}

tls_client_options as(const issued_certificate& c) {
    auto o = client();
    o.cert_file = c.cert;
    o.key_file = c.key;
    return o;
}

std::vector<std::string> mtls_args(const served_certificate& c, const std::string& mode) {
    return https_args(c, {"--tls-client-ca-file", pki().ca_cert, "--tls-client-auth", mode, "--tls-callers",
                          "gateway uri:spiffe://test.example/ns/edge/sa/gateway auth,sessions:read;"
                          "reports dns:reports.internal sessions:admin;"
                          "cli cn:sessiond sessions:write",
                          "--api-keys", "app=" + std::string(64, 'a') + ":sessions:write"});
}

}  // namespace

TEST_CASE("mTLS require: callers named by their certificate get their scopes; others are refused", "[tls][mtls]") {
    served_certificate cert;
    sessiond_process sd(mtls_args(cert, "require"));

    // URI SAN (SPIFFE id): auth and sessions:read, not sessions:write.
    https_connection gateway(sd.port(), as(certs().spiffe));
    auto denied = gateway.request("POST", "/v1/sessions", R"({"user_id":"u"})");
    REQUIRE(denied);
    CHECK(denied->status == 403);
    CHECK_THAT(denied->body, Catch::Contains("sessions:write"));
    // CN: the test PKI's client certificate (CN=sessiond) may write.
    https_connection cli(sd.port(), as(issued_certificate{pki().client_cert, pki().client_key}));
    auto made = cli.request("POST", "/v1/sessions", R"({"user_id":"mtls-user"})");
    REQUIRE(made);
    CHECK(made->status == 201);
    const auto token_at = made->body.find("\"token\":\"") + 9;
    const auto token = made->body.substr(token_at, made->body.find('"', token_at) - token_at);
    auto valid = gateway.request("POST", "/v1/sessions/validate", R"({"token":")" + token + R"("})");
    REQUIRE(valid);
    CHECK(valid->status == 200);
    // DNS SAN: sessions:admin.
    https_connection reports(sd.port(), as(certs().dns));
    auto listed = reports.request("GET", "/v1/users/mtls-user/sessions");
    REQUIRE(listed);
    CHECK(listed->status == 200);
    // A certificate that verifies but names no caller: 403, whatever API key it brings.
    https_connection stranger(sd.port(), as(certs().stranger));
    auto refused = stranger.request("GET", "/v1/users/mtls-user/sessions", "", {{"X-API-Key", "anything"}});
    REQUIRE(refused);
    CHECK(refused->status == 403);
    CHECK_THAT(refused->body, Catch::Contains("names no configured caller"));
    // No certificate, or one from another CA: no handshake.
    CHECK_THROWS(https_connection(sd.port(), client()).request("GET", "/healthz").value());
    CHECK_THROWS(https_connection(sd.port(), as(certs().foreign)).request("GET", "/healthz").value());
    // The caller's name is in the audit event.
    CHECK(eventually(
        [&] {
            const auto log = sd.proc().log();
            return log.find("session.created") != std::string::npos &&
                   log.find("\"caller\":\"cli\"") != std::string::npos;
        },
        5s));
}

TEST_CASE("mTLS optional: callers without a certificate use API keys", "[tls][mtls]") {
    served_certificate cert;
    sessiond_process sd(mtls_args(cert, "optional"));
    https_connection anonymous(sd.port(), client());
    auto no_key = anonymous.request("POST", "/v1/sessions", R"({"user_id":"u"})");
    REQUIRE(no_key);
    CHECK(no_key->status == 401);
    https_connection gateway(sd.port(), as(certs().spiffe));
    auto read = gateway.request("POST", "/v1/sessions/validate", R"({"token":"sid_x"})");
    REQUIRE(read);
    CHECK(read->status == 401);  // authorized as a reader; the token is what is refused
    CHECK_THAT(read->body, Catch::Contains("invalid_session"));
    CHECK_THROWS(https_connection(sd.port(), as(certs().foreign)).request("GET", "/healthz").value());
}

TEST_CASE("tls-callers are checked at start", "[tls][mtls]") {
    served_certificate cert;
    auto bad_kind = run_sessiond({"--development", "--port", "0", "--tls-cert-file", cert.cert, "--tls-key-file",
                                  cert.key, "--tls-client-ca-file", pki().ca_cert, "--tls-client-auth", "require",
                                  "--tls-callers", "gw email:x@y auth"});
    CHECK(bad_kind.status == 2);
    CHECK_THAT(bad_kind.output, Catch::Contains("tls-callers") && Catch::Contains("uri:, dns: or cn:"));
    auto without_mtls = run_sessiond({"--development", "--port", "0", "--tls-callers", "gw cn:gw auth"});
    CHECK(without_mtls.status == 2);
    CHECK_THAT(without_mtls.output, Catch::Contains("tls-client-auth"));
}
