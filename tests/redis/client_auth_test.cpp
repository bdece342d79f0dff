// AUTH with requirepass and ACL users; distinct errors for bad credentials and
// missing permissions.

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "unavailable.hpp"

using namespace sessiond;
using namespace sessiond::test;
using redis::command;
using redis::error;
namespace asio = boost::asio;

namespace {
std::string admin(const redis_server& srv, std::vector<std::string> args) {
    args.insert(args.begin(), {"--no-auth-warning", "-a", "adminpw"});
    return srv.cli(args);
}
}  // namespace

TEST_CASE("AUTH: right password works, wrong one gives WRONGPASS", "[redis][client][auth]") {
    redis_server srv({"--requirepass", "adminpw"});
    asio::io_context ioc;

    SECTION("right password from the URL") {
        auto cfg = redis::parse_url("redis://:adminpw@127.0.0.1:" + std::to_string(srv.port())).value();
        cfg.connections = 1;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        CHECK_FALSE(exec(ioc, c, command("SET", "a", "1")).ec);
    }
    SECTION("right password from a file") {
        temp_dir dir;
        write_file(dir.file("redis-password"), "adminpw\n");
        auto cfg = test_config(srv);
        cfg.password_file = dir.file("redis-password");
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));
        CHECK_FALSE(exec(ioc, c, command("GET", "a")).ec);
    }
    SECTION("missing password file is a start-up error") {
        auto cfg = test_config(srv);
        cfg.password_file = "/nonexistent/redis-password";
        CHECK_THROWS_AS(redis::client(ioc, cfg, 1), std::system_error);
    }
    SECTION("wrong password") {
        auto cfg = test_config(srv);
        cfg.password = "wrong";
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return c.last_error() == error::wrongpass; }, 5s));
        CHECK_FALSE(c.ready());
        auto r = exec(ioc, c, command("GET", "a"));
        CHECK(r.ec == error::wrongpass);
        CHECK(test::unavailable(r.ec));
    }
    SECTION("no password") {
        auto cfg = test_config(srv);
        cfg.client_name.clear();  // the handshake is then a PING
        redis::client c(ioc, cfg, 1);
        c.start();
        // The handshake's PING is answered NOAUTH: the connection stays down.
        REQUIRE(run_until(
            ioc, [&] { return c.last_error() == error::noauth; }, 5s));
        CHECK_FALSE(c.ready());
        CHECK(exec(ioc, c, command("GET", "a")).ec == error::noauth);
    }
}

TEST_CASE("ACL user: allowed commands work, others give NOPERM", "[redis][client][auth]") {
    redis_server srv({"--requirepass", "adminpw"});
    REQUIRE(admin(srv, {"ACL", "SETUSER", "reader", "on", ">readerpw", "~*", "+get", "+ping"}).find("OK") !=
            std::string::npos);
    asio::io_context ioc;

    SECTION("right user and password") {
        auto cfg = redis::parse_url("redis://reader:readerpw@127.0.0.1:" + std::to_string(srv.port()) + "/0").value();
        cfg.connections = 1;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(wait_ready(ioc, c, 5s));  // SETNAME refused (NOPERM) but ignored
        auto get = exec(ioc, c, command("GET", "x"));
        CHECK_FALSE(get.ec);
        CHECK(get.value.is_nil());
        auto set = exec(ioc, c, command("SET", "x", "1"));
        CHECK(set.ec == error::noperm);
        CHECK(set.ec != error::wrongpass);
        CHECK_FALSE(test::unavailable(set.ec));
        CHECK(set.value.str().starts_with("NOPERM"));
        CHECK(c.ready());  // a refused command does not affect the connection
    }
    SECTION("right user, wrong password") {
        auto cfg = test_config(srv);
        cfg.user = "reader";
        cfg.password = "nope";
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return c.last_error() == error::wrongpass; }, 5s));
        CHECK(exec(ioc, c, command("GET", "x")).ec == error::wrongpass);
    }
    SECTION("SELECT not permitted fails the connection with NOPERM") {
        auto cfg = test_config(srv);
        cfg.user = "reader";
        cfg.password = "readerpw";
        cfg.db = 1;
        redis::client c(ioc, cfg, 1);
        c.start();
        REQUIRE(run_until(
            ioc, [&] { return c.last_error() == error::noperm; }, 5s));
        CHECK_FALSE(c.ready());
        CHECK(exec(ioc, c, command("GET", "x")).ec == error::noperm);
    }
}
