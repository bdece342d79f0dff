#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "redis/reply_decoder.hpp"

using namespace sessiond::redis;

namespace {

const std::string stream =
    "+OK\r\n"
    "-ERR unknown command 'FOO'\r\n"
    ":-42\r\n"
    "$5\r\nhe\r\no\r\n"  // a bulk string containing CRLF
    "$0\r\n\r\n"
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*4\r\n:1\r\n*2\r\n$3\r\nabc\r\n*1\r\n$-1\r\n+QUEUED\r\n-WRONGTYPE bad\r\n"
    ":9223372036854775807\r\n";

std::vector<reply> expected() {
    return {
        reply::make_status("OK"),
        reply::make_error("ERR unknown command 'FOO'"),
        reply::make_integer(-42),
        reply::make_string("he\r\no"),
        reply::make_string(""),
        reply::make_nil(),
        reply::make_nil(),
        reply::make_array({}),
        reply::make_array({
            reply::make_integer(1),
            reply::make_array({reply::make_string("abc"), reply::make_array({reply::make_nil()})}),
            reply::make_status("QUEUED"),
            reply::make_error("WRONGTYPE bad"),
        }),
        reply::make_integer(9223372036854775807LL),
    };
}

std::vector<reply> decode_in_pieces(const std::vector<std::string_view>& pieces) {
    reply_decoder d;
    std::vector<reply> out;
    for (auto p : pieces) {
        REQUIRE(d.feed(p));
        while (auto r = d.next())
            out.push_back(std::move(*r));
        REQUIRE_FALSE(d.failed());
    }
    return out;
}

}  // namespace

TEST_CASE("decoder reads a multi-reply stream in one piece", "[redis][decoder]") {
    const auto got = decode_in_pieces({stream});
    const auto want = expected();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("reply " << i << ": " << to_string(got[i]));
        CHECK(got[i] == want[i]);
    }
    CHECK(got[3].is_string());
    CHECK(got[3].str() == "he\r\no");
    CHECK(got[5].is_nil());
    CHECK(got[8].elements().size() == 4);
    CHECK(got[8].elements()[1].elements()[0].str() == "abc");
    CHECK(got[8].elements()[3].is_error());
}

TEST_CASE("decoder gives the same replies when split at every byte boundary", "[redis][decoder]") {
    const auto want = expected();
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        std::string_view s = stream;
        const auto got = decode_in_pieces({s.substr(0, cut), s.substr(cut)});
        INFO("cut at " << cut);
        REQUIRE(got == want);
    }
}

TEST_CASE("decoder gives the same replies fed one byte at a time", "[redis][decoder]") {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < stream.size(); ++i)
        bytes.push_back(std::string_view(stream).substr(i, 1));
    CHECK(decode_in_pieces(bytes) == expected());
}

TEST_CASE("decoder reports a protocol error and stays failed", "[redis][decoder]") {
    reply_decoder d;
    REQUIRE(d.feed("+OK\r\n!garbage\r\n"));
    auto first = d.next();
    REQUIRE(first);
    CHECK(first->str() == "OK");
    CHECK_FALSE(d.next());
    CHECK(d.failed());
    CHECK_FALSE(d.error_message().empty());
    CHECK_FALSE(d.feed("+OK\r\n"));
    CHECK_FALSE(d.next());

    d.reset();
    CHECK_FALSE(d.failed());
    REQUIRE(d.feed(":7\r\n"));
    auto r = d.next();
    REQUIRE(r);
    CHECK(r->integer() == 7);
}

TEST_CASE("decoder drops a partial reply on reset", "[redis][decoder]") {
    reply_decoder d;
    REQUIRE(d.feed("*3\r\n:1\r\n$3\r\nab"));
    CHECK_FALSE(d.next());
    d.reset();
    REQUIRE(d.feed("$2\r\nhi\r\n"));
    auto r = d.next();
    REQUIRE(r);
    CHECK(*r == reply::make_string("hi"));
}

TEST_CASE("decoder memory follows the bytes received, not the element count announced", "[redis][decoder]") {
    // Sizing the element vector from the header alone made these few bytes
    // ask for 150 GB (found by tests/fuzz/resp_fuzz.cpp). Now a count past
    // the reply bound is a protocol error, and below it the vector grows
    // with the elements that arrive.
    reply_decoder d;
    REQUIRE(d.feed("*2147483647\r\n*555555552\r\n:1\r\n:2\r\n"));
    CHECK_FALSE(d.next());
    CHECK(d.failed());
    d.reset();
    REQUIRE(d.feed("*100000\r\n:1\r\n:2\r\n"));  // 100,000 announced: within the bound, two arrived
    CHECK_FALSE(d.next());
    CHECK_FALSE(d.failed());
    d.reset();
    std::string many = "*3000\r\n";
    for (int i = 0; i < 3000; ++i)
        many += ":" + std::to_string(i) + "\r\n";
    REQUIRE(d.feed(many));
    auto r = d.next();
    REQUIRE(r);
    REQUIRE(r->elements().size() == 3000);
    CHECK(r->elements()[2999].integer() == 2999);
}

TEST_CASE("decoder handles large bulk strings and many replies", "[redis][decoder]") {
    reply_decoder d;
    const std::string big(100000, 'x');
    std::string bytes = "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
    for (int i = 0; i < 1000; ++i)
        bytes += ":" + std::to_string(i) + "\r\n";
    for (std::size_t pos = 0; pos < bytes.size(); pos += 4096)
        REQUIRE(d.feed(std::string_view(bytes).substr(pos, 4096)));
    auto r = d.next();
    REQUIRE(r);
    CHECK(r->str() == big);
    for (int i = 0; i < 1000; ++i) {
        auto n = d.next();
        REQUIRE(n);
        CHECK(n->integer() == i);
    }
    CHECK_FALSE(d.next());
}

TEST_CASE("a reply announcing more than the bound is a protocol error before it is allocated", "[redis][decoder]") {
    SECTION("an 11-byte array header of 50 million elements, at the default bound") {
        reply_decoder d;
        std::vector<reply> out;
        CHECK_FALSE(d.decode("*50000000\r\n", out));
        CHECK(d.failed());
        CHECK(out.empty());
        CHECK(d.error_message() == "reply larger than 67108864 bytes");
    }
    SECTION("a nested array whose elements add up past the bound") {
        reply_decoder d(1000 * sizeof(reply));
        std::vector<reply> out;
        CHECK(d.decode("*2\r\n*600\r\n", out));  // 602 slots so far: fine
        CHECK_FALSE(d.decode("*600\r\n", out));  // 1202 slots: too many
        CHECK(d.error_message().starts_with("reply larger than"));
    }
    SECTION("a bulk string still arriving is refused once its buffered bytes pass the bound") {
        reply_decoder d(4096);
        std::vector<reply> out;
        CHECK(d.decode("$1000000000\r\n" + std::string(4000, 'x'), out));
        CHECK_FALSE(d.decode(std::string(200, 'x'), out));
        CHECK(out.empty());
    }
    SECTION("strings of one reply add up; the next reply starts from zero") {
        reply_decoder d(3 * 1024);
        std::vector<reply> out;
        const std::string kb = "$1000\r\n" + std::string(1000, 'y') + "\r\n";
        CHECK(d.decode("*2\r\n" + kb + kb + kb, out));  // two strings in one array, then one on its own
        REQUIRE(out.size() == 2);
        CHECK(out[0].elements().size() == 2);
        CHECK(out[1].str().size() == 1000);
        CHECK_FALSE(d.decode("*3\r\n" + kb + kb + kb, out));
    }
    SECTION("reset clears the failure") {
        reply_decoder d(64);
        std::vector<reply> out;
        CHECK_FALSE(d.decode("*100\r\n", out));
        d.reset();
        CHECK(d.decode("+OK\r\n", out));
        REQUIRE(out.size() == 1);
        CHECK(out[0].str() == "OK");
    }
}
