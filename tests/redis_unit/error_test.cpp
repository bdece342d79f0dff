#include <catch2/catch.hpp>

#include <boost/asio/error.hpp>

#include "redis/error.hpp"

using namespace sessiond::redis;
using boost::system::error_code;

TEST_CASE("error replies map to their kind", "[redis][error]") {
    CHECK(error_from_reply("READONLY You can't write against a read only replica.") == error::readonly);
    CHECK(error_from_reply("LOADING Redis is loading the dataset in memory") == error::loading);
    CHECK(error_from_reply("BUSY Redis is busy running a script.") == error::script_busy);
    CHECK(error_from_reply("NOSCRIPT No matching script. Please use EVAL.") == error::noscript);
    CHECK(error_from_reply("MOVED 3999 127.0.0.1:6381") == error::moved);
    CHECK(error_from_reply("ASK 3999 127.0.0.1:6381") == error::ask);
    CHECK(error_from_reply("WRONGPASS invalid username-password pair or user is disabled.") == error::wrongpass);
    CHECK(error_from_reply("ERR invalid password") == error::wrongpass);
    CHECK(error_from_reply("NOAUTH Authentication required.") == error::noauth);
    CHECK(error_from_reply("NOPERM this user has no permissions to run the 'set' command") == error::noperm);
    CHECK(error_from_reply("WRONGTYPE Operation against a key holding the wrong kind of value") == error::wrongtype);
    CHECK(error_from_reply("ERR unknown command 'FOO'") == error::server_error);
    CHECK(error_from_reply("BUSYKEY Target key name already exists.") == error::server_error);
    CHECK(error_from_reply("") == error::server_error);
}

TEST_CASE("error codes convert, compare and have messages", "[redis][error]") {
    error_code ec = error::busy;
    CHECK(ec.category().name() == std::string("sessiond.redis"));
    CHECK(ec == error::busy);
    CHECK(ec != error::timeout);
    CHECK(ec.message() == "too many Redis commands in flight");
    CHECK(error_code(error::noperm).message() != error_code(error::wrongpass).message());
    CHECK(error_code(error::bad_url_port).message().find("port") != std::string::npos);
}

TEST_CASE("classify sorts failures into what they tell about the store", "[redis][error]") {
    using sessiond::metrics::redis_failure;
    CHECK(classify(error::timeout) == redis_failure::timeout);
    CHECK(classify(error::connection_lost) == redis_failure::connection_lost);
    for (auto e : {error::not_connected, error::not_master})
        CHECK(classify(e) == redis_failure::not_connected);
    CHECK(classify(boost::asio::error::operation_aborted) == redis_failure::not_connected);
    CHECK(classify(error::busy) == redis_failure::busy);
    CHECK(classify(error::not_acknowledged) == redis_failure::unacknowledged);
    CHECK(classify(error::protocol_error) == redis_failure::protocol);
    // Failover and login: unavailable for now.
    for (auto e : {error::loading, error::readonly, error::script_busy, error::masterdown, error::tryagain,
                   error::clusterdown, error::wrongpass, error::noauth, error::redirect_refused})
        CHECK(classify(e) == redis_failure::error_reply);
    CHECK(classify(error::oom) == redis_failure::oom);
    CHECK(classify(error::noperm) == redis_failure::noperm);
    for (auto e : {error::server_error, error::wrongtype, error::noscript, error::moved, error::ask})
        CHECK(classify(e) == redis_failure::rejected);
}
