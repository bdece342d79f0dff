#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "redis/client.hpp"
#include "redis/command.hpp"
#include "redis/script.hpp"

using namespace sessiond::redis;

TEST_CASE("command encodes RESP arrays of bulk strings", "[redis][command]") {
    const std::string key = "session:abc";
    command c("SET", key, std::string_view("v\r\n1"), "PXAT", 1700000000123LL);
    CHECK(c.bytes() ==
          "*5\r\n$3\r\nSET\r\n$11\r\nsession:abc\r\n$4\r\nv\r\n1\r\n$4\r\nPXAT\r\n$13\r\n1700000000123\r\n");
    CHECK(c.argc() == 5);
    CHECK(c.name() == "SET");
    CHECK(c.key() == key);
    CHECK(c.arg(2) == "v\r\n1");
    CHECK(c.arg(4) == "1700000000123");
    CHECK(c.arg(5).empty());

    command braces{"GET", key};
    CHECK(braces.bytes() == "*2\r\n$3\r\nGET\r\n$11\r\nsession:abc\r\n");
    CHECK(command::make("INCRBY", "k", -5).arg(2) == "-5");
}

TEST_CASE("command keys: first argument, none, or chosen", "[redis][command]") {
    CHECK_FALSE(command("PING").has_key());
    CHECK(command("GET", "k").key() == "k");
    auto s = command::keyless("SCRIPT", "LOAD", "return 1");
    CHECK_FALSE(s.has_key());
    CHECK(s.key().empty());
    std::vector<std::string> argv{"EVAL", "return 1", "1", "thekey"};
    auto e = command::from_args(std::span<const std::string>(argv), 3);
    CHECK(e.key() == "thekey");
    CHECK_THROWS_AS(command::from_args(std::span<const std::string>(argv), 4), std::invalid_argument);
    CHECK_THROWS_AS(command::from_args(std::span<const std::string_view>(), command::no_key), std::invalid_argument);
}

TEST_CASE("command bytes equal hiredis' own formatting, copies are deep", "[redis][command]") {
    std::vector<std::string> argv;
    argv.push_back("MSET");
    for (int i = 0; i < 40; ++i) {  // more than the on-stack argument arrays hold
        argv.push_back("key" + std::to_string(i));
        argv.push_back(std::string(static_cast<std::size_t>(i), '\0') + "value");
    }
    auto c = command::from_args(std::span<const std::string>(argv), 1);
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    char* raw = nullptr;
    const int n = redisFormatCommandArgv(&raw, static_cast<int>(argv.size()), ptrs.data(), lens.data());
    REQUIRE(n > 0);
    CHECK(c.bytes() == std::string_view(raw, static_cast<std::size_t>(n)));
    redisFreeCommand(raw);

    command copy = c;
    CHECK(copy.bytes() == c.bytes());
    CHECK(copy.bytes().data() != c.bytes().data());
    CHECK(copy.key() == "key0");
    command moved = std::move(copy);
    CHECK(moved.bytes() == c.bytes());
    CHECK(moved.arg(80) == std::string(39, '\0') + "value");
}

TEST_CASE("script holds its source and SHA-1", "[redis][script]") {
    script s("return redis.call('GET', KEYS[1])");
    // sha1 of the source, as `echo -n … | sha1sum` prints it.
    CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(s.sha1() == sha1_hex(s.source()));
    CHECK(s.sha1().size() == 40);
    script copy = s;
    CHECK(&copy.source() == &s.source());  // shared, not copied

    auto e = client::make_evalsha(s, {"k1", "k2"}, {"a"});
    CHECK(e.name() == "EVALSHA");
    CHECK(e.arg(1) == s.sha1());
    CHECK(e.arg(2) == "2");
    CHECK(e.key() == "k1");
    CHECK(e.arg(5) == "a");
    CHECK_FALSE(client::make_evalsha(s, {}, {"a"}).has_key());
}
