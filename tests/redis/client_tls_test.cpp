// rediss://: server verification (CA, name), client certificates.

#include <catch2/catch.hpp>

#include <boost/asio/ssl/error.hpp>

#include "helpers.hpp"
#include "support/redis_tls.hpp"

using namespace sessiond;
using namespace sessiond::test;
using redis::command;
using redis::error;
namespace asio = boost::asio;

namespace {

redis::config tls_config(const redis_tls_server& srv, const test_pki& pki) {
    auto cfg = redis::parse_url(srv.url()).value();
    REQUIRE(cfg.tls);
    cfg.connections = 1;
    cfg.tls_ca_file = pki.ca_cert;
    cfg.reconnect_min = 10ms;
    cfg.reconnect_max = 200ms;
    return cfg;
}

}  // namespace

TEST_CASE("TLS: round trip, name and CA verification", "[redis][client][tls]") {
    const auto pki = make_test_pki();
    redis_tls_server srv(*pki, false);
    asio::io_context ioc;

    SECTION("trusted CA, IP address in the certificate") {
        redis::client c(ioc, tls_config(srv, *pki), 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        REQUIRE_FALSE(exec(ioc, c, command("SET", "tls", std::string(100000, 't'))).ec);
        auto r = exec(ioc, c, command("GET", "tls"));
        REQUIRE_FALSE(r.ec);
        CHECK(r.value.str() == std::string(100000, 't'));
    }
    SECTION("host name localhost (resolved, SNI, DNS name in the certificate)") {
        auto cfg = tls_config(srv, *pki);
        cfg.host = "localhost";
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        CHECK_FALSE(exec(ioc, c, command("PING")).ec);
    }
    SECTION("wrong CA is refused") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls_ca_file = pki->other_ca_cert;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return static_cast<bool>(c.last_error()); }, 5s));
        run_for(ioc, 200ms);
        CHECK_FALSE(c.ready());
        CHECK(c.last_error().category() == asio::error::get_ssl_category());
        CHECK(c.last_error().message().find("certificate verify failed") != std::string::npos);
        CHECK(exec(ioc, c, command("PING")).ec == error::not_connected);
    }
    SECTION("name not in the certificate is refused") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls_server_name = "redis.example.com";
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return static_cast<bool>(c.last_error()); }, 5s));
        CHECK_FALSE(c.ready());
        CHECK(c.last_error().message().find("certificate verify failed") != std::string::npos);
    }
    SECTION("verification off (development only) accepts the untrusted server") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls_ca_file = pki->other_ca_cert;
        cfg.tls_server_name = "redis.example.com";
        cfg.tls_verify = false;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        CHECK_FALSE(exec(ioc, c, command("PING")).ec);
    }
    SECTION("plain TCP to a TLS port never becomes ready") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls = false;
        cfg.connect_timeout = 300ms;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return static_cast<bool>(c.last_error()); }, 5s));
        CHECK_FALSE(c.ready());
    }
}

TEST_CASE("TLS: client certificate required by the server", "[redis][client][tls]") {
    const auto pki = make_test_pki();
    redis_tls_server srv(*pki, true);
    asio::io_context ioc;

    SECTION("with the client certificate") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls_cert_file = pki->client_cert;
        cfg.tls_key_file = pki->client_key;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        auto r = exec(ioc, c, command("ECHO", "mtls"));
        REQUIRE_FALSE(r.ec);
        CHECK(r.value.str() == "mtls");
    }
    SECTION("without it") {
        redis::client c(ioc, tls_config(srv, *pki), 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return static_cast<bool>(c.last_error()); }, 5s));
        run_for(ioc, 200ms);
        CHECK_FALSE(c.ready());
    }
    SECTION("missing files are start-up errors") {
        auto cfg = tls_config(srv, *pki);
        cfg.tls_ca_file = "/nonexistent/ca.crt";
        CHECK_THROWS_AS(redis::client(ioc, cfg, 1), std::system_error);
        cfg = tls_config(srv, *pki);
        cfg.tls_cert_file = pki->client_cert;  // without its key
        CHECK_THROWS_AS(redis::client(ioc, cfg, 1), std::invalid_argument);
    }
}
