#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

#include "common/secret_file.hpp"
#include "common/text.hpp"
#include "support/process.hpp"

using namespace sessiond;

TEST_CASE("trim removes blanks and line breaks at both ends only") {
    CHECK(trim(" \t a b \r\n") == "a b");
    CHECK(trim("") == "");
    CHECK(trim(" \r\n\t") == "");
    CHECK(trim("x") == "x");
}

TEST_CASE("hex digits in and out") {
    CHECK(hex_value('0') == 0);
    CHECK(hex_value('9') == 9);
    CHECK(hex_value('a') == 10);
    CHECK(hex_value('F') == 15);
    CHECK(hex_value('g') == -1);
    CHECK(hex_value(':') == -1);
    const std::array<std::uint8_t, 4> bytes{0x00, 0x0f, 0xa5, 0xff};
    CHECK(to_hex(bytes) == "000fa5ff");
    CHECK(to_hex({}) == "");
}

TEST_CASE("percent-decoding takes %XX of either case and refuses broken escapes") {
    CHECK(percent_decode("a%2Fb%2fc+d") == std::optional<std::string>("a/b/c+d"));
    CHECK(percent_decode("%00") == std::optional<std::string>(std::string(1, '\0')));
    CHECK(percent_decode("") == std::optional<std::string>(""));
    CHECK_FALSE(percent_decode("%"));
    CHECK_FALSE(percent_decode("%4"));
    CHECK_FALSE(percent_decode("%4g"));
    CHECK_FALSE(percent_decode("ab%"));
}

TEST_CASE("a secret file loses its trailing line breaks, nothing else") {
    test::temp_dir dir;
    test::write_file(dir.file("s"), " pass word \r\n\n");
    CHECK(read_secret_file(dir.file("s")).value() == " pass word ");
    auto missing = read_secret_file(dir.file("none"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == boost::system::errc::no_such_file_or_directory);
}
