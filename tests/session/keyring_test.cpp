#include <catch2/catch.hpp>

#include "support/result_string.hpp"

#include "session/keyring.hpp"
#include "session/session_id.hpp"

#include <set>
#include <string>
#include <vector>

using namespace sessiond::session;

namespace {

// Standard padded base64, as `openssl rand -base64 N` prints it.
std::string b64(const std::vector<std::uint8_t>& bytes) {
    std::string s = base64url_encode(bytes);
    for (char& c : s)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4 != 0)
        s.push_back('=');
    return s;
}

std::vector<std::uint8_t> key_bytes(std::uint8_t fill, std::size_t n = 32) {
    std::vector<std::uint8_t> k(n);
    for (std::size_t i = 0; i < n; ++i)
        k[i] = static_cast<std::uint8_t>(fill + i * 7);
    return k;
}

const std::string k1 = b64(key_bytes(1)), k2 = b64(key_bytes(2)), k3 = b64(key_bytes(3, 48));
const std::string index_key = b64(key_bytes(9));

std::string error_of(std::string_view spec, std::string_view user_key = index_key,
                     std::optional<std::uint8_t> signing = std::nullopt) {
    try {
        (void)keyring::parse(spec, user_key, signing);
    } catch (const keyring_error& e) {
        return e.what();
    }
    return "(no error)";
}

bool equal(bytes_view a, const std::vector<std::uint8_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

TEST_CASE("keyring parses several keys and signs with the highest kid by default") {
    const keyring k = keyring::parse("1:" + k1 + ", 7:" + k3 + " ,3:" + k2, index_key);
    CHECK(k.kids() == std::vector<std::uint8_t>{1, 3, 7});
    CHECK(k.signing_kid() == 7);
    CHECK(equal(k.signing_key(), key_bytes(3, 48)));
    CHECK(equal(k.key(1), key_bytes(1)));
    CHECK(equal(k.key(3), key_bytes(2)));
    CHECK(k.key(2).empty());
    CHECK(k.key(0).empty());

    CHECK(keyring::parse("1:" + k1 + ",3:" + k2, index_key, 1).signing_kid() == 1);
    // Unpadded base64 is accepted too (some tools strip the '=').
    std::string unpadded = k1;
    while (unpadded.ends_with('='))
        unpadded.pop_back();
    CHECK(equal(keyring::parse("255:" + unpadded, index_key).key(255), key_bytes(1)));
}

TEST_CASE("keyring errors say what is wrong without echoing key material") {
    const std::string short_key = b64(key_bytes(4, 31));
    struct row {
        std::string spec;
        std::string user_key;
        std::string expected;
    };
    const row rows[] = {
        {"", index_key, "no token keys configured"},
        {"0:" + k1, index_key, "token key entry 1: key id must be an integer in 1..255"},
        {"256:" + k1, index_key, "token key entry 1: key id must be an integer in 1..255"},
        {"-1:" + k1, index_key, "token key entry 1: key id must be an integer in 1..255"},
        {"x:" + k1, index_key, "token key entry 1: key id must be an integer in 1..255"},
        {":" + k1, index_key, "token key entry 1: key id must be an integer in 1..255"},
        {"1:" + k1 + ",2" + k2, index_key, "token key entry 2 is not of the form kid:base64key"},
        {k1, index_key, "token key entry 1 is not of the form kid:base64key"},
        {"1:" + k1 + ",", index_key, "token key entry 2 is empty"},
        {"1:" + k1 + ",,2:" + k2, index_key, "token key entry 2 is empty"},
        {"1:" + short_key, index_key, "token key 1 is 31 bytes, at least 32 are required (openssl rand -base64 32)"},
        {"1:" + k1 + ",2:" + k2.substr(0, 20) + "!" + k2.substr(21), index_key, "token key 2 is not valid base64"},
        {"1:" + k1 + ",2:" + k1.substr(0, k1.size() - 2) + "x=", index_key, "token key 2 is not valid base64"},
        {"1:" + k1 + ",1:" + k2, index_key, "token key 1 is configured twice"},
        {"1:" + k1, "", "no user index key configured"},
        {"1:" + k1, short_key, "user index key is 31 bytes, at least 32 are required (openssl rand -base64 32)"},
        {"1:" + k1, k1, "user index key must be a separate secret, not one of the token keys"},
    };
    for (const auto& r : rows) {
        INFO(r.spec);
        const std::string msg = error_of(r.spec, r.user_key);
        CHECK(msg == r.expected);
        for (const auto& key : {k1, k2, short_key})
            CHECK(msg.find(key.substr(0, 8)) == std::string::npos);
    }
    CHECK(error_of("1:" + k1 + ",3:" + k2, index_key, 2) == "signing key id 2 is not among the token keys");
}

TEST_CASE("user_bucket is a keyed, stable, well-spread hash of the user id") {
    const keyring a = keyring::parse("1:" + k1, index_key);
    const keyring b = keyring::parse("1:" + k1, b64(key_bytes(10)));
    std::set<std::uint16_t> seen;
    std::size_t same_under_other_key = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string user = "user-" + std::to_string(i);
        const std::uint16_t bucket = a.user_bucket(user);
        REQUIRE(bucket < bucket_count);
        REQUIRE(a.user_bucket(user) == bucket);
        seen.insert(bucket);
        same_under_other_key += b.user_bucket(user) == bucket;
    }
    CHECK(seen.size() > 950);          // ~970 expected for 1000 users in 16384 buckets
    CHECK(same_under_other_key < 10);  // the key, not the user id, decides
    CHECK(a.user_bucket("") < bucket_count);
}

TEST_CASE("user_index_name is 8 bytes of a keyed hash of the user id, apart from the bucket's") {
    const keyring a = keyring::parse("1:" + k1, index_key);
    const keyring b = keyring::parse("1:" + k1, b64(key_bytes(10)));
    const auto mac = hmac_sha256(key_bytes(9), as_bytes("index:alice"));
    CHECK(a.user_index_name("alice") == base64url_encode(bytes_view(mac.data(), 8)));
    CHECK(a.user_index_name("alice").size() == 11);
    // With the default prefix and the widest bucket, an index key is 30
    // characters: Redis keeps it in a 32-byte allocation.
    CHECK(("sessiond:{16383}:u:" + a.user_index_name("alice")).size() == 30);
    std::set<std::string> names;
    for (int i = 0; i < 1000; ++i)
        names.insert(a.user_index_name("user-" + std::to_string(i)));
    CHECK(names.size() == 1000);
    CHECK(a.user_index_name("alice") != b.user_index_name("alice"));
    CHECK(a.user_index_name("") != a.user_index_name("alice"));
}

TEST_CASE("ephemeral keyrings are random and complete") {
    const keyring a = keyring::make_ephemeral(), b = keyring::make_ephemeral();
    CHECK(a.kids() == std::vector<std::uint8_t>{1});
    CHECK(a.signing_kid() == 1);
    CHECK(a.signing_key().size() == keyring::min_key_size);
    CHECK_FALSE(std::equal(a.signing_key().begin(), a.signing_key().end(), b.signing_key().begin()));
    int differing = 0;
    for (int i = 0; i < 20; ++i)
        differing += a.user_bucket(std::to_string(i)) != b.user_bucket(std::to_string(i));
    CHECK(differing > 15);
}
