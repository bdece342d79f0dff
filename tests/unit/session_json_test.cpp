#include <catch2/catch.hpp>

#include "api/session_json.hpp"
#include "support/sample_records.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <random>
#include <string>

using namespace sessiond::session;
using namespace sessiond::api;
using namespace std::chrono;
using namespace std::chrono_literals;

using sessiond::test::at;
using sessiond::test::created;
using sessiond::test::rotated_record;
using sessiond::test::typical_record;

TEST_CASE("RFC 3339 timestamps are UTC with milliseconds") {
    CHECK(format_rfc3339(created) == "2026-11-26T06:16:03.123Z");
    CHECK(format_rfc3339(min_timestamp) == "1970-01-01T00:00:00.000Z");
    CHECK(format_rfc3339(at(2024y / 2 / 29, 23h + 59min + 59s + 999ms)) == "2024-02-29T23:59:59.999Z");
    CHECK(format_rfc3339(at(2000y / 3 / 1, 7ms)) == "2000-03-01T00:00:00.007Z");
    CHECK(format_rfc3339(at(2100y / 12 / 31, 12h + 5s + 50ms)) == "2100-12-31T12:00:05.050Z");
    CHECK(format_rfc3339(max_timestamp) == "9999-12-31T23:59:59.999Z");
    CHECK(format_rfc3339(min_timestamp - 1ms) == "1970-01-01T00:00:00.000Z");  // clamped
    CHECK(format_rfc3339(max_timestamp + 24h) == "9999-12-31T23:59:59.999Z");  // clamped
}

TEST_CASE("to_json gives the API's session object, without secrets") {
    const auto o = to_json(rotated_record());
    CHECK(o.size() == 9);
    CHECK(o.at("id").as_string() == typical_record().id.to_string());
    CHECK(o.at("user_id").as_string() == "user-1234567");
    CHECK(o.at("metadata").as_object().empty());
    CHECK(o.at("created_at").as_string() == "2026-11-26T06:16:03.123Z");
    CHECK(o.at("last_seen_at").as_string() == "2026-11-26T06:36:03.123Z");
    CHECK(o.at("idle_expires_at").as_string() == "2026-11-26T07:06:03.123Z");
    CHECK(o.at("expires_at").as_string() == "2026-11-26T18:16:03.123Z");
    CHECK(o.at("rotated_at").as_string() == "2026-11-26T06:56:03.123Z");
    CHECK(o.at("authenticated_at").as_string() == "2026-11-26T06:56:03.123Z");
    CHECK(to_json(typical_record()).at("rotated_at").is_null());

    session_record r = typical_record();
    r.metadata = R"({"ip":"203.0.113.7","roles":["admin"],"n":1.5})";
    CHECK(to_json(r).at("metadata") == boost::json::parse(r.metadata));
    r.metadata = "[1]";
    CHECK_THROWS_AS(to_json(r), std::invalid_argument);
    r.metadata = "{";
    CHECK_THROWS_AS(to_json(r), std::invalid_argument);
}

TEST_CASE("append_json writes the same object as to_json, metadata verbatim") {
    session_record tricky = rotated_record();
    tricky.user_id = "a\"b\\c\n\t\x01\x1f/ユ😀";
    tricky.metadata = R"({"k": [1, 2, {"x": null}], "s": "\u00e9"})";
    for (const session_record& r : {typical_record(), rotated_record(), tricky}) {
        std::string out = "prefix:";
        append_json(r, out);
        REQUIRE(out.starts_with("prefix:"));
        const auto parsed = boost::json::parse(std::string_view(out).substr(7));
        CHECK(parsed == boost::json::value(to_json(r)));
        CHECK(out.find(r.metadata) != std::string::npos);
    }
}
