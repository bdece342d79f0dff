#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "session/event_json.hpp"

using namespace sessiond::session;

TEST_CASE("event refs: written and read back, anything else refused") {
    const event_ref r{5321, {1765119999123, 7}};
    CHECK(r.to_string() == "5321:1765119999123-7");
    CHECK(event_ref::parse("5321:1765119999123-7") == r);
    CHECK(event_ref::parse("16384:1-0") == event_ref{events_meta_stream, {1, 0}});
    for (const char* bad : {"", ":1-0", "16385:1-0", "1:1", "1:-0", "1:1-", "x:1-0", "1:1-0 ", "-1:1-0", "1;1-0"})
        CHECK_FALSE(event_ref::parse(bad));
    CHECK(event_ref{1, {2, 3}} < event_ref{1, {2, 4}});
}

TEST_CASE("events as JSON: the fields each type carries, and no other") {
    event revoked;
    revoked.id = "1765119999123-0";
    revoked.stream = 42;
    revoked.type = event_type::session_revoked;
    revoked.at = timestamp{std::chrono::milliseconds{1765119999123}};
    revoked.session_id = "AAAAAAAAAAAAAAAAAAAAAAAA";
    revoked.user_id = "u\"1";
    revoked.instance = "host-a";
    revoked.caller = "login";
    revoked.reason = std::string(revoke_reason::caller);
    const auto v = boost::json::parse(event_json(revoked)).as_object();
    CHECK(v.size() == 8);
    CHECK(v.at("id") == "42:1765119999123-0");
    CHECK(v.at("type") == "session.revoked");
    CHECK(v.at("time") == "2025-12-07T15:06:39.123Z");
    CHECK(v.at("session_id") == "AAAAAAAAAAAAAAAAAAAAAAAA");
    CHECK(v.at("user_id") == "u\"1");
    CHECK(v.at("instance") == "host-a");
    CHECK(v.at("caller") == "login");
    CHECK(v.at("reason") == "caller");

    event epoch;
    epoch.id = "5-1";
    epoch.stream = events_meta_stream;
    epoch.type = event_type::epoch_changed;
    epoch.at = timestamp{std::chrono::milliseconds{5}};
    epoch.tenant = "*";
    epoch.instant_ms = 4;
    const auto e = boost::json::parse(event_json(epoch)).as_object();
    CHECK(e.size() == 5);
    CHECK(e.at("id") == "16384:5-1");
    CHECK(e.at("tenant") == "*");
    CHECK(e.at("not_before") == "1970-01-01T00:00:00.004Z");

    event bulk;
    bulk.id = "9-0";
    bulk.type = event_type::user_sessions_revoked;
    bulk.user_id = "u";
    bulk.count = 3;
    const auto b = boost::json::parse(event_json(bulk)).as_object();
    CHECK(b.at("count") == 3);
    CHECK_FALSE(b.contains("session_id"));
}
