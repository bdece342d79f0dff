// The JSON escaper of the API's hand-written JSON and the log lines, and the
// visible form of text for terminals: no byte sequence a terminal obeys
// (C0, DEL, C1 such as CSI U+009B) or that reorders or splits what it shows
// (bidirectional controls, U+2028, U+2029) passes through raw.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>

#include "common/json_text.hpp"

using namespace sessiond;

namespace {
std::string escaped(std::string_view s) {
    std::string out;
    append_json_escaped(out, s);
    return out;
}
}  // namespace

TEST_CASE("append_json_escaped escapes C0, DEL, C1, U+2028, U+2029 and bidirectional controls", "[json_text]") {
    CHECK(escaped("a\x1b[31mb") == "a\\u001b[31mb");
    CHECK(escaped("\x7f") == "\\u007f");
    CHECK(escaped("a\xc2\x9b"
                  "31mb") == "a\\u009b31mb");  // CSI
    CHECK(escaped("\xc2\x80\xc2\x9f") == "\\u0080\\u009f");
    CHECK(escaped("\xe2\x80\xa8\xe2\x80\xa9") == "\\u2028\\u2029");
    CHECK(escaped("\xe2\x80\xae"
                  "abc\xe2\x81\xa6\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xaa") ==
          "\\u202eabc\\u2066\\u2069\\u200e\\u200f\\u202a");
    // Other UTF-8 passes through: U+00A0..U+00FF, U+2027, U+202F, U+2065, U+206A, emoji.
    for (const std::string keep : {"\xc2\xa0", "\xc3\xa9", "\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\xa5",
                                   "\xe2\x81\xaa", "\xf0\x9f\x98\x80", "\xe2\x82\xac"})
        CHECK(escaped(keep) == keep);
    // Ill-formed or cut sequences are left as they are (the reader decides).
    CHECK(escaped("\xc2") == "\xc2");
    CHECK(escaped("\xe2\x80") == "\xe2\x80");
    // What it writes is JSON that reads back as the same text.
    const std::string all = "u\x01\x7f\xc2\x9b\xe2\x80\xa8\xe2\x80\xae\"\\\xc3\xa9";
    std::string doc = "\"";
    append_json_escaped(doc, all);
    doc += '"';
    CHECK(boost::json::parse(doc).as_string() == all);
    for (const char c : doc)
        CHECK(static_cast<unsigned char>(c) != 0xc2);  // é is C3 A9: no C2 left at all
}

TEST_CASE("visible_text shows controls as escapes a reader can see", "[json_text]") {
    CHECK(visible_text("plain \xc3\xa9t\xc3\xa9") == "plain \xc3\xa9t\xc3\xa9");
    CHECK(visible_text("a\x1b[2Jb") == "a\\u001b[2Jb");
    CHECK(visible_text("x\xc2\x9b"
                       "2Jy") == "x\\u009b2Jy");
    CHECK(visible_text("\xe2\x80\xae"
                       "evil\xe2\x80\xac") == "\\u202eevil\\u202c");
    CHECK(visible_text("line\xe2\x80\xa8next\n") == "line\\u2028next\\u000a");
    CHECK(visible_text("quote\"back\\") == "quote\"back\\");
}
