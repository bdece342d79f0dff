// The transport's decisions without sockets: request framing, the
// per-client connection counts, and connections within a descriptor limit.

#include <catch2/catch.hpp>

#include <boost/asio/ip/address.hpp>

#include <string>

#include "common/fd_limit.hpp"
#include "http/client_counts.hpp"
#include "http/framing.hpp"

using namespace sessiond;

namespace {

http::request head(unsigned version, std::initializer_list<std::pair<http::field, const char*>> fields) {
    http::request req{http::verb::post, "/v1/sessions", version};
    for (const auto& [name, value] : fields)
        req.insert(name, value);
    return req;
}

}  // namespace

TEST_CASE("framing: only chunked alone, never with Content-Length; HTTP/1.1 needs one Host") {
    using f = http::field;
    CHECK(http::framing_problem(head(11, {{f::host, "x"}})).empty());
    CHECK(http::framing_problem(head(11, {{f::host, "x"}, {f::content_length, "5"}})).empty());
    CHECK(http::framing_problem(head(11, {{f::host, "x"}, {f::transfer_encoding, "chunked"}})).empty());
    CHECK(http::framing_problem(head(11, {{f::host, "x"}, {f::transfer_encoding, " CHUNKED "}})).empty());
    CHECK(http::framing_problem(head(10, {})).empty());

    for (const char* coding : {"gzip", "foo", "xchunked", "chunked, gzip", "gzip, chunked", "chunked, chunked", ""})
        CHECK_FALSE(http::framing_problem(head(11, {{f::host, "x"}, {f::transfer_encoding, coding}})).empty());
    CHECK_FALSE(http::framing_problem(
                    head(11, {{f::host, "x"}, {f::transfer_encoding, "gzip"}, {f::transfer_encoding, "chunked"}}))
                    .empty());
    CHECK_FALSE(
        http::framing_problem(head(11, {{f::host, "x"}, {f::transfer_encoding, "chunked"}, {f::content_length, "5"}}))
            .empty());
    CHECK_FALSE(http::framing_problem(head(11, {})).empty());
    CHECK_FALSE(http::framing_problem(head(11, {{f::host, "a"}, {f::host, "b"}})).empty());
}

TEST_CASE("framing: 100-continue is expected by HTTP/1.1 only") {
    CHECK(http::expects_continue(head(11, {{http::field::expect, "100-Continue"}})));
    CHECK_FALSE(http::expects_continue(head(10, {{http::field::expect, "100-continue"}})));
    CHECK_FALSE(http::expects_continue(head(11, {{http::field::expect, "something-else"}})));
    CHECK_FALSE(http::expects_continue(head(11, {})));
}

TEST_CASE("client counts: a cap per address, released on close; 0 counts nothing") {
    auto a = boost::asio::ip::make_address("192.0.2.1");
    auto b = boost::asio::ip::make_address("192.0.2.2");
    http::client_counts counts(2);
    auto first = counts.try_add(a);
    auto second = counts.try_add(a);
    REQUIRE(first);
    REQUIRE(second);
    CHECK_FALSE(counts.try_add(a));
    counts.remove(*first);
    CHECK(counts.try_add(a));

    // An IPv6 client is one /64; an IPv4-mapped address is its IPv4 address.
    http::client_counts v6(1);
    REQUIRE(v6.try_add(boost::asio::ip::make_address("2001:db8:1:2::1")));
    CHECK_FALSE(v6.try_add(boost::asio::ip::make_address("2001:db8:1:2:ffff::9")));
    // An IPv4 client of its own: the slot is a hash under a random key, so
    // one address in 65536 shares the /64's slot (and cap); then the next.
    std::string v4;
    for (int host = 1; host < 10 && v4.empty(); ++host)
        if (v6.try_add(boost::asio::ip::make_address("192.0.2." + std::to_string(host))))
            v4 = "192.0.2." + std::to_string(host);
    REQUIRE(!v4.empty());
    CHECK_FALSE(v6.try_add(boost::asio::ip::make_address("::ffff:" + v4)));

    http::client_counts uncapped(0);
    for (int i = 0; i < 1000; ++i)
        CHECK(uncapped.try_add(b) == http::client_counts::uncounted);
}

TEST_CASE("connections within a descriptor limit") {
    CHECK(connections_within(10000, 1048576, 100) == 10000);
    CHECK(connections_within(10000, 10100, 100) == 10000);
    CHECK(connections_within(10000, 1024, 100) == 924);
    CHECK(connections_within(10000, 64, 100) == 1);
}
