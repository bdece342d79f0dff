#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

#include "redis/config.hpp"
#include "redis/error.hpp"

using namespace sessiond::redis;

namespace {

// A file in the temporary directory holding `content`, removed at the end.
struct temp_file {
    std::filesystem::path path;
    explicit temp_file(const std::string& content)
        : path(std::filesystem::temp_directory_path() / ("sessiond-redis-unit-" + std::to_string(::getpid()))) {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    }
    ~temp_file() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
};

}  // namespace

TEST_CASE("config defaults are the documented ones", "[redis][config]") {
    config c;
    CHECK(c.host == "127.0.0.1");
    CHECK(c.port == 6379);
    CHECK(c.db == 0);
    CHECK_FALSE(c.tls);
    CHECK(c.tls_verify);
    CHECK(c.connections == 0);
    CHECK(c.connect_timeout == std::chrono::seconds(1));
    CHECK(c.command_timeout == std::chrono::milliseconds(500));
    CHECK(c.max_in_flight == 4096);
    CHECK(c.reconnect_min == std::chrono::milliseconds(50));
    CHECK(c.reconnect_max == std::chrono::seconds(2));
    CHECK(c.ping_interval == std::chrono::seconds(1));
    CHECK(c.client_name == "sessiond");
    CHECK_FALSE(c.log);  // silent
}

TEST_CASE("parse_url accepts valid URLs", "[redis][config]") {
    SECTION("host only") {
        auto r = parse_url("redis://cache");
        REQUIRE(r.has_value());
        CHECK(r->host == "cache");
        CHECK(r->port == 6379);
        CHECK(r->db == 0);
        CHECK_FALSE(r->tls);
        CHECK(r->user.empty());
        CHECK(r->password.empty());
    }
    SECTION("everything") {
        auto r = parse_url("rediss://sessiond:s3cr%40t%3A%2F@redis.internal:6380/3");
        REQUIRE(r.has_value());
        CHECK(r->tls);
        CHECK(r->user == "sessiond");
        CHECK(r->password == "s3cr@t:/");
        CHECK(r->host == "redis.internal");
        CHECK(r->port == 6380);
        CHECK(r->db == 3);
    }
    SECTION("password only, unencoded @ in password") {
        auto r = parse_url("redis://:p@ss@127.0.0.1:7000/");
        REQUIRE(r.has_value());
        CHECK(r->user.empty());
        CHECK(r->password == "p@ss");
        CHECK(r->port == 7000);
        CHECK(r->db == 0);
    }
    SECTION("a lone userinfo is the password (Redis URI convention), not a user name") {
        auto r = parse_url("redis://s3cret@h");
        REQUIRE(r.has_value());
        CHECK(r->user.empty());
        CHECK(r->password == "s3cret");
        auto encoded = parse_url("redis://p%40ss@h");
        REQUIRE(encoded.has_value());
        CHECK(encoded->user.empty());
        CHECK(encoded->password == "p@ss");
    }
    SECTION("a user with an empty password") {
        auto r = parse_url("redis://bob:@h");
        REQUIRE(r.has_value());
        CHECK(r->user == "bob");
        CHECK(r->password.empty());
    }
    SECTION("IPv6") {
        auto r = parse_url("redis://[::1]:6390/2");
        REQUIRE(r.has_value());
        CHECK(r->host == "::1");
        CHECK(r->port == 6390);
        CHECK(r->db == 2);
        auto r2 = parse_url("redis://[fe80::1]");
        REQUIRE(r2.has_value());
        CHECK(r2->host == "fe80::1");
        CHECK(r2->port == 6379);
    }
}

TEST_CASE("parse_url rejects invalid URLs with a clear error", "[redis][config]") {
    auto err = [](std::string_view url) {
        auto r = parse_url(url);
        REQUIRE_FALSE(r.has_value());
        return r.error();
    };
    CHECK(err("http://h:6379") == error::bad_url_scheme);
    CHECK(err("h:6379") == error::bad_url_scheme);
    CHECK(err("") == error::bad_url_scheme);
    CHECK(err("redis://") == error::bad_url_host);
    CHECK(err("redis://:6379") == error::bad_url_host);
    CHECK(err("redis://ho st") == error::bad_url_host);
    CHECK(err("redis://[::1") == error::bad_url_host);
    CHECK(err("redis://[::1]x") == error::bad_url_host);
    CHECK(err("redis://[]:1") == error::bad_url_host);
    CHECK(err("redis://h:") == error::bad_url_port);
    CHECK(err("redis://h:0") == error::bad_url_port);
    CHECK(err("redis://h:65536") == error::bad_url_port);
    CHECK(err("redis://h:12x") == error::bad_url_port);
    CHECK(err("redis://h:-1") == error::bad_url_port);
    CHECK(err("redis://h/x") == error::bad_url_db);
    CHECK(err("redis://h/-1") == error::bad_url_db);
    CHECK(err("redis://h/1/2") == error::bad_url_db);
    CHECK(err("redis://u:p%4@h") == error::bad_url_encoding);
    CHECK(err("redis://u:p%zz@h") == error::bad_url_encoding);
    CHECK(err("redis://u%@h") == error::bad_url_encoding);
    CHECK(err("redis://h?db=1") == error::bad_url);
    CHECK(err("redis://h#x") == error::bad_url);
    CHECK(err("redis://h:0").message() != err("redis://:1").message());
}

TEST_CASE("password_file replaces the password, trailing newline removed", "[redis][config]") {
    temp_file pw("from file\n");
    config c;
    c.password = "ignored";
    c.password_file = pw.path.string();
    REQUIRE_FALSE(load_password_file(c));
    CHECK(c.password == "from file");

    config missing;
    missing.password_file = pw.path.string() + ".missing";
    CHECK(load_password_file(missing) == boost::system::errc::no_such_file_or_directory);

    config none;
    none.password = "kept";
    CHECK_FALSE(load_password_file(none));
    CHECK(none.password == "kept");
}
