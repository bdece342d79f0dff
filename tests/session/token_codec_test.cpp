#include <catch2/catch.hpp>

#include "support/result_string.hpp"

#include "session/errc.hpp"
#include "session/token_codec.hpp"

#include <cstring>
#include <set>
#include <string>
#include <unordered_set>

using namespace sessiond::session;

namespace {

std::string b64(std::uint8_t fill) {
    std::vector<std::uint8_t> k(32);
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::uint8_t>(fill * 31 + i);
    std::string s = base64url_encode(k);
    for (char& c : s)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    return s;
}

const std::string index_key = b64(100);

keyring keys(std::string_view spec, std::optional<std::uint8_t> signing = std::nullopt) {
    return keyring::parse(spec, index_key, signing);
}

const std::string key1 = "1:" + b64(1), key2 = "2:" + b64(2);

// A payload with a correct tag for arbitrary field values, to reach the
// checks that come after the MAC would have caught a random change.
std::string forge(const keyring& k, std::uint8_t ver, std::uint16_t bucket, std::uint8_t kid) {
    std::array<std::uint8_t, token_codec::payload_size> p{};
    p[0] = ver;
    p[1] = static_cast<std::uint8_t>(bucket >> 8);
    p[2] = static_cast<std::uint8_t>(bucket);
    p[51] = kid;
    const auto mac = hmac_sha256(k.key(kid), std::span(p).first(52));
    std::memcpy(&p[52], mac.data(), 16);
    return "sid_" + base64url_encode(p);
}

boost::system::error_code error_of(const boost::system::result<decoded_token>& r) {
    return r ? boost::system::error_code{} : r.error();
}

}  // namespace

TEST_CASE("an issued token has the documented shape and decodes to its parts") {
    const keyring k = keys(key1 + "," + key2);
    const token_codec codec;
    const std::uint16_t bucket = k.user_bucket("alice@example.com");
    const issued_token t = codec.issue(k, bucket);

    CHECK(t.token.size() == 95);
    CHECK(codec.token_size() == 95);
    CHECK(t.token.starts_with("sid_"));
    CHECK(t.id.bucket == bucket);
    CHECK(t.secret_hash == digest_secret(t.secret));

    // The payload is what the header says, byte for byte.
    const auto payload = base64url_decode(std::string_view(t.token).substr(4));
    REQUIRE(payload);
    REQUIRE(payload->size() == 68);
    CHECK((*payload)[0] == 0x01);
    CHECK(((*payload)[1] << 8 | (*payload)[2]) == bucket);
    CHECK(std::equal(t.id.id.begin(), t.id.id.end(), payload->begin() + 3));
    CHECK(std::equal(t.secret.begin(), t.secret.end(), payload->begin() + 19));
    CHECK((*payload)[51] == 2);  // highest kid signs
    const auto mac = hmac_sha256(k.key(2), std::span(*payload).first(52));
    CHECK(std::equal(mac.begin(), mac.begin() + 16, payload->begin() + 52));

    const auto d = codec.decode(k, t.token);
    REQUIRE(d);
    CHECK(d->id == t.id);
    CHECK(d->secret == t.secret);
    CHECK(d->kid == 2);
    CHECK(d->id.to_string() == std::string_view(base64url_encode(std::span(*payload).subspan(1, 18))));
}

TEST_CASE("tokens are unique and reissue keeps the session id") {
    const keyring k = keys(key1);
    const token_codec codec;
    std::unordered_set<session_id> ids;
    std::set<std::string> tokens;
    for (int i = 0; i < 1000; ++i) {
        const auto t = codec.issue(k, 42);
        ids.insert(t.id);
        tokens.insert(t.token);
    }
    CHECK(ids.size() == 1000);
    CHECK(tokens.size() == 1000);

    const auto first = codec.issue(k, 7);
    const auto second = codec.reissue(k, first.id);
    CHECK(second.id == first.id);
    CHECK(second.secret != first.secret);
    CHECK(second.token != first.token);
    REQUIRE(codec.decode(k, second.token));
    CHECK(codec.decode(k, second.token)->id == first.id);
    CHECK_THROWS_AS(codec.issue(k, bucket_count), std::invalid_argument);
}

TEST_CASE("every single-character change of a token is rejected") {
    const keyring k = keys(key1);
    const token_codec codec;
    const std::string token = codec.issue(k, 1234).token;
    const std::string replacements = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \t\n%~";
    std::size_t tried = 0, accepted = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        std::string mutated = token;
        auto try_char = [&](char c) {
            if (c == token[i]) return;
            mutated[i] = c;
            ++tried;
            const auto r = codec.decode(k, mutated);
            if (r) ++accepted;
            // The prefix is checked before anything else.
            if (i < 4) CHECK(error_of(r) == errc::bad_prefix);
        };
        for (const char c : replacements)
            try_char(c);
        try_char('\0');
        try_char('\xff');
    }
    CHECK(tried > 95 * 70);
    CHECK(accepted == 0);
}

TEST_CASE("truncated and extended tokens are rejected") {
    const keyring k = keys(key1);
    const token_codec codec;
    const std::string token = codec.issue(k, 9).token;
    for (std::size_t n = 0; n < token.size(); ++n) {
        INFO(n);
        REQUIRE_FALSE(codec.decode(k, std::string_view(token).substr(0, n)));
        REQUIRE_FALSE(codec.decode(k, std::string_view(token).substr(token.size() - n)));
    }
    for (const std::string& tail :
         std::vector<std::string>{"A", "AA", "AAA", "AAAA", "=", "==", "\n", std::string(1000, 'A')}) {
        INFO(tail);
        CHECK(error_of(codec.decode(k, token + tail)) == errc::malformed_token);
    }
    CHECK(error_of(codec.decode(k, std::string(100000, 'A'))) == errc::malformed_token);
}

TEST_CASE("a non-canonical re-encoding of a valid token is rejected") {
    const keyring k = keys(key1);
    const token_codec codec;
    const std::string token = codec.issue(k, 9).token;
    // 68 bytes leave 2 unused low bits in the last character: set them.
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::size_t v = alphabet.find(token.back());
    REQUIRE(v % 4 == 0);
    for (std::size_t low = 1; low < 4; ++low) {
        std::string recoded = token;
        recoded.back() = alphabet[v + low];
        // Same payload bytes as the original…
        std::array<std::uint8_t, 68> a{}, b{};
        const auto strip = [](const std::string& s) { return std::string_view(s).substr(4); };
        REQUIRE(base64url_decode(strip(token), a) == 68u);
        std::uint32_t acc = 0;
        for (const char c : strip(recoded).substr(88))
            acc = acc << 6 | static_cast<std::uint32_t>(alphabet.find(c));
        CHECK((acc >> 2) == (static_cast<std::uint32_t>(a[66]) << 8 | a[67]));
        // …but not the canonical spelling, so not accepted.
        CHECK_FALSE(base64url_decode(strip(recoded), b));
        CHECK(error_of(codec.decode(k, recoded)) == errc::malformed_token);
    }
}

TEST_CASE("key rotation: old keys verify while configured, retired and foreign keys do not") {
    const token_codec codec;
    const keyring old_only = keys(key1);
    const keyring both = keys(key1 + "," + key2);                  // signs with 2, accepts 1
    const keyring retired = keys(key2);                            // 1 removed
    const keyring foreign = keys("1:" + b64(50) + "," + key2, 1);  // kid 1 with other material

    const std::string by1 = codec.issue(old_only, 5).token;
    const std::string by2 = codec.issue(both, 5).token;
    CHECK(codec.decode(both, by1));
    CHECK(codec.decode(both, by1)->kid == 1);
    CHECK(codec.decode(both, by2)->kid == 2);
    CHECK(error_of(codec.decode(retired, by1)) == errc::unknown_key);
    CHECK(error_of(codec.decode(old_only, by2)) == errc::unknown_key);
    CHECK(error_of(codec.decode(foreign, by1)) == errc::bad_tag);
    CHECK(error_of(codec.decode(keyring::make_ephemeral(), codec.issue(keyring::make_ephemeral(), 5).token)) ==
          errc::bad_tag);
}

TEST_CASE("unknown versions and out-of-range buckets are rejected even with a valid tag") {
    const keyring k = keys(key1);
    const token_codec codec;
    CHECK(codec.decode(k, forge(k, 1, 16383, 1)));
    CHECK(error_of(codec.decode(k, forge(k, 2, 5, 1))) == errc::malformed_token);
    CHECK(error_of(codec.decode(k, forge(k, 0, 5, 1))) == errc::malformed_token);
    CHECK(error_of(codec.decode(k, forge(k, 1, 16384, 1))) == errc::malformed_token);
    CHECK(error_of(codec.decode(k, forge(k, 1, 0xFFFF, 1))) == errc::malformed_token);
}

TEST_CASE("the prefix is configurable and must match") {
    const keyring k = keys(key1);
    const token_codec sid, other("acme_sess."), none("");
    const std::string token = sid.issue(k, 3).token;
    CHECK(error_of(other.decode(k, token)) == errc::bad_prefix);
    const std::string t2 = other.issue(k, 3).token;
    CHECK(t2.size() == 10 + 91);
    CHECK(other.decode(k, t2));
    CHECK(error_of(sid.decode(k, t2)) == errc::malformed_token);  // longer than a sid_ token
    const std::string t3 = none.issue(k, 3).token;
    CHECK(t3.size() == 91);
    CHECK(none.decode(k, t3));
    CHECK(error_of(none.decode(k, token)) == errc::malformed_token);
    CHECK(error_of(sid.decode(k, "xyz_" + token.substr(4))) == errc::bad_prefix);

    CHECK_THROWS_AS(token_codec("sid "), std::invalid_argument);
    CHECK_THROWS_AS(token_codec("s=d"), std::invalid_argument);
    CHECK_THROWS_AS(token_codec(std::string(33, 'a')), std::invalid_argument);
    CHECK_NOTHROW(token_codec(std::string(32, 'a')));
}

TEST_CASE("error codes carry the session category and a message") {
    const boost::system::error_code ec = errc::bad_tag;
    CHECK(ec.category().name() == std::string("sessiond.session"));
    CHECK(ec.message() == "token authentication tag does not match");
    CHECK(ec != errc::unknown_key);
}

TEST_CASE("session_id prints as 24 base64url characters and parses strictly") {
    const session_id id = session_id::generate(16383);
    const std::string s = id.to_string();
    CHECK(s.size() == 24);
    REQUIRE(session_id::parse(s));
    CHECK(*session_id::parse(s) == id);

    session_id zero;
    CHECK(zero.to_string() == "AAAAAAAAAAAAAAAAAAAAAAAA");
    session_id known;
    known.bucket = 0x0102;
    for (std::size_t i = 0; i < known.id.size(); ++i)
        known.id[i] = static_cast<std::uint8_t>(i);
    CHECK(known.to_string() == "AQIAAQIDBAUGBwgJCgsMDQ4P");

    CHECK_FALSE(session_id::parse(s.substr(0, 23)));
    CHECK_FALSE(session_id::parse(s + "A"));
    CHECK_FALSE(session_id::parse(""));
    CHECK_FALSE(session_id::parse("AQIAAQIDBAUGBwgJCgsMDQ4+"));
    CHECK_FALSE(session_id::parse("AQIAAQIDBAUGBwgJCgsMDQ4="));
    CHECK_FALSE(session_id::parse("AQIAAQIDBAUGBwgJCgsMDQ4P "));
    // bucket 16384 (0x4000) and 0xFFFF are out of range
    CHECK_FALSE(session_id::parse("QAAAAQIDBAUGBwgJCgsMDQ4P"));
    CHECK_FALSE(session_id::parse("__8AAQIDBAUGBwgJCgsMDQ4P"));
    CHECK(session_id::parse("P_8AAQIDBAUGBwgJCgsMDQ4P"));  // 0x3FFF
    CHECK(session_id::parse("P_8AAQIDBAUGBwgJCgsMDQ4P")->bucket == 16383);
    CHECK_THROWS_AS(session_id::generate(bucket_count), std::invalid_argument);
}
