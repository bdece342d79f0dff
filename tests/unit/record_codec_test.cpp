#include <catch2/catch.hpp>

#include "support/result_string.hpp"

#include "api/session_json.hpp"
#include "session/rules.hpp"
#include "store/record_codec.hpp"
#include "support/sample_records.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <random>
#include <string>

using namespace sessiond::session;
using namespace sessiond::store;
using namespace std::chrono;
using namespace std::chrono_literals;

using sessiond::test::created;
using sessiond::test::rotated_record;
using sessiond::test::typical_record;

namespace {

boost::system::error_code error_of(std::string_view bytes) {
    const auto r = decode_record(bytes, typical_record().id);
    return r ? boost::system::error_code{} : r.error();
}

}  // namespace

// The number that matters for Redis memory: 54 bytes for a typical session
// (12-byte user_id, "{}" metadata, touched once, not rotated) and 81 after a
// rotation, against 303 bytes for its API JSON (without the digest).
TEST_CASE("a typical record encodes to 54 bytes, 81 once rotated") {
    const std::string typical = encode_record(typical_record());
    CHECK(typical.size() == 54);
    CHECK(encode_record(rotated_record()).size() == 81);
    std::string json;
    sessiond::api::append_json(typical_record(), json);
    CHECK(json.size() > 4 * typical.size());
}

// A value of at most 60 bytes takes one 64-byte allocation in Redis (3-byte
// string header and a terminating zero); 61 bytes would take 80.
TEST_CASE("a new session as the benchmark creates it encodes to at most 60 bytes") {
    const policy p;  // idle 30 min, absolute 12 h
    auto r = new_record(typical_record().id, digest_secret(as_bytes("secret")),
                        creation{"bench-m-0-0000001", "{}", {}, {}}, created, p);
    REQUIRE(r);
    CHECK(encode_record(*r).size() == 59);
}

// last_seen_at is stored against idle_expires_at - idle_timeout, which a
// touch moves along with it: touched sessions keep the 64-byte class.
TEST_CASE("a touch does not grow the record") {
    const policy p;  // idle 30 min, touch after half of it
    auto r = new_record(typical_record().id, digest_secret(as_bytes("secret")),
                        creation{"bench-m-0-0000001", "{}", {}, {}}, created, p);
    REQUIRE(r);
    const std::size_t fresh = encode_record(*r).size();
    session_record current = *r;
    for (milliseconds later :
         {milliseconds(20min), milliseconds(45min), milliseconds(1h + 13min + 7s + 5ms), milliseconds(1h + 40min)}) {
        auto touched = check(current, digest_secret(as_bytes("secret")), created + later, p);
        REQUIRE(touched.outcome == check_outcome::valid);
        REQUIRE(touched.updated);
        CHECK(touched.updated->last_seen_at == created + later);
        const std::string bytes = encode_record(*touched.updated);
        CHECK(bytes.size() <= fresh + 1);  // the version may take a second byte, no timestamp grows
        auto back = decode_record(bytes, touched.updated->id);
        REQUIRE(back);
        CHECK(*back == *touched.updated);
        current = *touched.updated;
    }
}

TEST_CASE("records round-trip through the binary encoding") {
    session_record unicode = typical_record();
    unicode.user_id = "ユーザー/Ødegård \"😀\"\n";
    session_record big = rotated_record();
    big.metadata = "{\"blob\":\"" + std::string(4096 - 11, 'x') + "\"}";
    REQUIRE(big.metadata.size() == 4096);
    big.user_id = std::string(max_user_id_size, 'u');
    session_record extremes = typical_record();
    extremes.created_at = min_timestamp;
    extremes.last_seen_at = max_timestamp;
    extremes.idle_expires_at = min_timestamp;  // decoding does not judge consistency, only bounds
    extremes.expires_at = max_timestamp;
    extremes.idle_timeout = 0ms;
    extremes.version = ~std::uint64_t{0};
    extremes.id.bucket = bucket_count - 1;
    session_record rotated_only = typical_record();
    rotated_only.rotated_at = created + 1ms;

    for (const session_record& r : {typical_record(), rotated_record(), unicode, big, extremes, rotated_only}) {
        const std::string bytes = encode_record(r);
        const auto back = decode_record(bytes, r.id);
        REQUIRE(back);
        CHECK(*back == r);
    }
}

TEST_CASE("every truncation and any trailing byte is rejected") {
    for (const session_record& r : {typical_record(), rotated_record()}) {
        const std::string bytes = encode_record(r);
        for (std::size_t n = 0; n < bytes.size(); ++n) {
            INFO(n);
            REQUIRE(error_of(std::string_view(bytes).substr(0, n)) == record_errc::malformed);
        }
        CHECK(error_of(bytes + '\0') == record_errc::malformed);
        CHECK(error_of(bytes + "garbage") == record_errc::malformed);
    }
}

TEST_CASE("every single-byte change is rejected or decodes to another record that re-encodes to it") {
    // No change goes unnoticed, and no change is read as something it does not
    // spell: a record has exactly one encoding.
    for (const session_record& r : {typical_record(), rotated_record()}) {
        const std::string good = encode_record(r);
        for (std::size_t pos = 0; pos < good.size(); ++pos)
            for (int v = 0; v < 256; ++v) {
                if (static_cast<char>(v) == good[pos]) continue;
                std::string s = good;
                s[pos] = static_cast<char>(v);
                const auto back = decode_record(s, r.id);
                if (!back) continue;
                INFO("byte " << pos << " = " << v);
                REQUIRE_FALSE(*back == r);
                REQUIRE(encode_record(*back) == s);
            }
    }
}

TEST_CASE("structural damage is rejected") {
    const std::string good = encode_record(typical_record());
    auto with = [&](std::size_t pos, std::string_view replacement, std::size_t len = 1) {
        std::string s = good;
        s.replace(pos, len, replacement);
        return s;
    };
    // Only format 2 is read: format 1 (32-byte hashes) is as foreign as any other.
    CHECK(error_of(with(0, "\x01")) == record_errc::unsupported_format);
    CHECK(error_of(with(0, "\x03")) == record_errc::unsupported_format);
    CHECK(error_of(with(0, "\xff")) == record_errc::unsupported_format);
    CHECK(error_of(with(0, std::string_view("\0", 1))) == record_errc::unsupported_format);
    CHECK(error_of(with(1, "\x04")) == record_errc::malformed);                                  // unknown flag
    CHECK(error_of(with(2, std::string_view("\x83\x00", 2))) == record_errc::malformed);         // non-minimal varint
    CHECK(error_of(with(3, std::string_view("\0", 1), 13)) == record_errc::malformed);           // empty user_id
    CHECK(error_of(with(3, "\x81\x02" + std::string(257, 'u'), 13)) == record_errc::malformed);  // 257 bytes
    CHECK(error_of(with(3, "\xff\xff\xff\xff\x0f", 1)) == record_errc::malformed);  // length beyond the data
    // A 10-byte varint whose last group overflows 64 bits, as the version.
    CHECK(error_of(with(2, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f")) == record_errc::malformed);
    CHECK(error_of("") == record_errc::malformed);
    session_id out_of_range = typical_record().id;
    out_of_range.bucket = bucket_count;  // the key's id is checked too
    CHECK(decode_record(good, out_of_range).error() == record_errc::malformed);
}

TEST_CASE("whatever decodes re-encodes to the same bytes (random and mutated input)") {
    // Strictness means one spelling per record; bounds mean no crash (ASan).
    std::mt19937_64 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::string good = encode_record(rotated_record());
    std::size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string s;
        if (round % 2 == 0) {
            s = good;
            const int flips = 1 + round % 3;
            for (int f = 0; f < flips; ++f)
                s[rng() % s.size()] = static_cast<char>(byte(rng));
        } else {
            s.resize(rng() % 200);
            for (char& c : s)
                c = static_cast<char>(byte(rng));
            if (!s.empty()) s[0] = '\x02';  // the current format
        }
        if (const auto r = decode_record(s, typical_record().id)) {
            ++decoded;
            REQUIRE(encode_record(*r) == s);
        }
    }
    CHECK(decoded > 1000);  // many mutations only touch hashes or ids
}

TEST_CASE("encode_record refuses records outside the storable bounds") {
    auto throws = [](auto change) {
        session_record r = typical_record();
        change(r);
        return [r] { (void)encode_record(r); };
    };
    CHECK_THROWS_AS(throws([](session_record& r) { r.user_id.clear(); })(), std::invalid_argument);
    CHECK_THROWS_AS(throws([](session_record& r) { r.user_id.assign(257, 'u'); })(), std::invalid_argument);
    CHECK_THROWS_AS(throws([](session_record& r) { r.created_at = min_timestamp - 1ms; })(), std::invalid_argument);
    CHECK_THROWS_AS(throws([](session_record& r) { r.expires_at = max_timestamp + 1ms; })(), std::invalid_argument);
    CHECK_THROWS_AS(throws([](session_record& r) { r.idle_timeout = -1ms; })(), std::invalid_argument);
    CHECK_THROWS_AS(throws([](session_record& r) { r.id.bucket = bucket_count; })(), std::invalid_argument);
}
