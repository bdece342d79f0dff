#include <catch2/catch.hpp>

#include "session/crypto.hpp"

#include <array>
#include <string>
#include <vector>

using namespace sessiond::session;

namespace {

std::string hex(bytes_view b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto c : b) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xF]);
    }
    return out;
}

std::vector<std::uint8_t> bytes_of(std::string_view s) {
    return {s.begin(), s.end()};
}

constexpr std::string_view url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

TEST_CASE("sha256 and hmac_sha256 match the published vectors") {
    CHECK(hex(sha256(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(sha256(as_bytes(""))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // RFC 4231 test cases 1 and 2.
    const std::vector<std::uint8_t> key1(20, 0x0b);
    CHECK(hex(hmac_sha256(key1, as_bytes("Hi There"))) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // A second call on the same thread context must not reuse the first key.
    CHECK(hex(hmac_sha256(key1, as_bytes("Hi There"))) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK_THROWS_AS(hmac_sha256({}, as_bytes("x")), std::invalid_argument);
}

TEST_CASE("digest_secret is the first 16 bytes of SHA-256, compared as a whole") {
    const secret_digest d = digest_secret(as_bytes("abc"));
    CHECK(hex(d.view()) == "ba7816bf8f01cfea414140de5dae2223");
    CHECK(d == digest_secret(as_bytes("abc")));
    CHECK_FALSE(d == digest_secret(as_bytes("abd")));
    for (std::size_t i = 0; i < secret_digest::size; ++i) {
        secret_digest other = d;
        other.bytes[i] ^= 0x01;
        CHECK_FALSE(d == other);
    }
}

TEST_CASE("hmac_sha256 keeps keys apart across its per-thread context cache") {
    // RFC 4231 test case 6: a key longer than the SHA-256 block.
    const std::vector<std::uint8_t> long_key(131, 0xaa);
    CHECK(hex(hmac_sha256(long_key, as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // Keys beyond the cacheable size: HMAC hashes such keys first.
    std::vector<std::uint8_t> huge(300);
    for (std::size_t i = 0; i < huge.size(); ++i)
        huge[i] = static_cast<std::uint8_t>(i);
    CHECK(hmac_sha256(huge, as_bytes("x")) == hmac_sha256(sha256(huge), as_bytes("x")));

    // More keys than cache slots, used in changing orders (keys of equal
    // prefix too): every MAC stays what it was when first computed.
    std::vector<std::vector<std::uint8_t>> keys;
    for (std::uint8_t k = 0; k < 7; ++k)
        keys.push_back(std::vector<std::uint8_t>(32 + k % 2, static_cast<std::uint8_t>(0x10 + k / 2)));
    std::vector<sha256_digest> first;
    for (const auto& k : keys)
        first.push_back(hmac_sha256(k, as_bytes("data")));
    for (std::size_t round = 0; round < 50; ++round)
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const std::size_t k = (i * (round % 5 + 1) + round) % keys.size();
            REQUIRE(hmac_sha256(keys[k], as_bytes("data")) == first[k]);
        }
    for (std::size_t i = 0; i + 1 < first.size(); ++i)
        CHECK(first[i] != first[i + 1]);
}

TEST_CASE("random_bytes fills the buffer with fresh bytes") {
    std::array<std::uint8_t, 32> a{}, b{};
    random_bytes(a);
    random_bytes(b);
    CHECK(a != std::array<std::uint8_t, 32>{});
    CHECK(a != b);
}

TEST_CASE("equal_ct compares content and size") {
    const auto a = bytes_of("0123456789abcdef"), b = bytes_of("0123456789abcdeF"), c = bytes_of("0123");
    CHECK(equal_ct(a, a));
    CHECK_FALSE(equal_ct(a, b));
    CHECK_FALSE(equal_ct(a, c));
    CHECK(equal_ct(bytes_view{}, bytes_view{}));
}

TEST_CASE("secure_wipe zeroes and secret_bytes moves without copies") {
    auto v = bytes_of("secret");
    secure_wipe(v);
    CHECK(v == std::vector<std::uint8_t>(6, 0));

    secret_bytes s(bytes_of("key material"));
    const auto* data = s.view().data();
    secret_bytes t(std::move(s));
    CHECK(t.view().data() == data);  // same buffer: nothing was copied
    CHECK(s.empty());                // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(t.size() == 12);
}

TEST_CASE("base64url encodes the RFC 4648 vectors without padding") {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"},
    };
    for (const auto& [plain, encoded] : vectors) {
        INFO(encoded);
        CHECK(base64url_encode(as_bytes(plain)) == encoded);
        CHECK(base64url_encoded_size(plain.size()) == encoded.size());
        const auto decoded = base64url_decode(encoded);
        REQUIRE(decoded);
        CHECK(*decoded == bytes_of(plain));
    }
}

TEST_CASE("base64url round-trips every byte value and length") {
    std::vector<std::uint8_t> all(256);
    for (unsigned i = 0; i < 256; ++i)
        all[i] = static_cast<std::uint8_t>(i);
    for (std::size_t len = 0; len <= all.size(); ++len) {
        const bytes_view in(all.data() + (256 - len), len);
        const std::string enc = base64url_encode(in);
        const auto dec = base64url_decode(enc);
        REQUIRE(dec);
        REQUIRE(std::equal(dec->begin(), dec->end(), in.begin(), in.end()));
    }
}

TEST_CASE("base64url decoding is strict") {
    for (const std::string_view bad :
         {"Zg==", "Zm8=", "Zg=", "Z", "Zm9vY", "Zm9v+g", "Zm9v/g", "Zm 9v", "Zm9v\n", "Zm.v", "Zh", "Zm9", "Zm9vYmF"}) {
        INFO(bad);
        CHECK_FALSE(base64url_decode(bad));
    }
    CHECK_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
    CHECK_FALSE(base64url_decode("Zm\x80v"));
    // Too small an output buffer is an error, not a truncation.
    std::array<std::uint8_t, 2> small{};
    CHECK_FALSE(base64url_decode("Zm9v", small));
    CHECK(base64url_decode("Zm8", small) == 2u);
}

TEST_CASE("every string of 2 or 3 characters decodes iff it is the canonical encoding") {
    // Exhaustive over the alphabet: the unused low bits of the last
    // character must be zero, so each byte string has one spelling.
    std::size_t accepted = 0;
    std::string s(3, 'A');
    for (const char a : url_alphabet)
        for (const char b : url_alphabet) {
            s.assign({a, b});
            if (const auto d = base64url_decode(s)) {
                ++accepted;
                REQUIRE(base64url_encode(*d) == s);
            }
            for (const char c : url_alphabet) {
                s.assign({a, b, c});
                if (const auto d = base64url_decode(s)) {
                    ++accepted;
                    REQUIRE(base64url_encode(*d) == s);
                }
            }
        }
    CHECK(accepted == 256 + 65536);  // exactly one per 1- and 2-byte string
}

TEST_CASE("base64 (standard alphabet) accepts padded and unpadded keys, nothing else") {
    CHECK(base64_decode("Zm9vYg==") == bytes_of("foob"));
    CHECK(base64_decode("Zm9vYg") == bytes_of("foob"));
    CHECK(base64_decode("Zm9vYmE=") == bytes_of("fooba"));
    CHECK(base64_decode("+/8=") == std::vector<std::uint8_t>{0xfb, 0xff});
    CHECK(base64_decode("") == std::vector<std::uint8_t>{});
    for (const std::string_view bad :
         {"Zm9vYg=", "Zm9vYg===", "Zm9vYmE==", "Zm9v=", "====", "==", "-_8=", "Zm9vYh==", "Zm=vYg==", " Zm9vYg=="}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad));
    }
}
