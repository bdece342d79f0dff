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

using sessiond::test::chained_record;
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

// --- format 3: sealed records ------------------------------------------------

namespace {

std::shared_ptr<const keyring> keys_of(std::string_view token_keys, std::optional<std::uint8_t> signing = {}) {
    return std::make_shared<const keyring>(
        keyring::parse(token_keys, "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg=", signing));
}

const char* key_a = "1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM=";
const char* key_b = "2:Y3VycmVudC1rZXktY3VycmVudC1rZXktY3VycmVudC0xMjM0NQ==";

// A record of a user that hashes to the record's bucket under keys_of().
session_record bucketed_record(const keyring& k) {
    auto r = typical_record();
    r.id.bucket = k.user_bucket(r.user_id);
    return r;
}

}  // namespace

TEST_CASE("a sealed record opens under its key name and no other, and every changed byte is refused") {
    const auto keys = keys_of(key_a);
    const record_sealer sealer(keys, {});
    const auto r = bucketed_record(*keys);
    const std::string name = "p:{1}:s:" + r.id.to_string();
    const std::string sealed = sealer.seal(r, name);
    CHECK(sealed.size() == encode_record(r).size() + 17);
    CHECK(static_cast<unsigned char>(sealed[0]) == 3);
    auto opened = sealer.open(sealed, name, r.id);
    REQUIRE(opened);
    CHECK(*opened == r);

    CHECK(sealer.open(sealed, "p:{1}:s:" + session_id::generate(1).to_string(), r.id).error() == record_errc::forged);
    CHECK(sealer.open(sealed, "other:" + name, r.id).error() == record_errc::forged);
    for (std::size_t i = 1; i < sealed.size(); ++i) {
        std::string changed = sealed;
        changed[i] = static_cast<char>(changed[i] ^ 0x20);
        INFO("byte " << i);
        CHECK(sealer.open(changed, name, r.id).error() == record_errc::forged);
    }
    for (std::size_t n = 0; n < sealed.size(); ++n) {
        INFO("truncated to " << n);
        CHECK_FALSE(sealer.open(sealed.substr(0, n), name, r.id));
    }
}

TEST_CASE("sealed records follow the token keys: a retired key's records are refused") {
    const auto r = bucketed_record(*keys_of(key_a));
    const std::string name = "p:s:x";
    const auto under_a = record_sealer(keys_of(key_a), {}).seal(r, name);
    // Key 2 added and signing: records sealed under key 1 still open.
    const record_sealer both(keys_of(std::string(key_a) + "," + key_b), {});
    CHECK(both.open(under_a, name, r.id));
    const auto under_b = both.seal(r, name);
    CHECK(static_cast<unsigned char>(under_b[under_b.size() - 17]) == 2);
    // Key 1 retired: its records are no longer vouched for.
    const record_sealer only_b(keys_of(key_b), {});
    CHECK(only_b.open(under_a, name, r.id).error() == record_errc::forged);
    CHECK(only_b.open(under_b, name, r.id));
}

TEST_CASE("unsealed format-2 records are read only while accepted, and only in their user's bucket") {
    const auto keys = keys_of(key_a);
    const auto r = bucketed_record(*keys);
    const std::string legacy = encode_record(r);
    const std::string name = "p:s:x";
    CHECK(record_sealer(keys, {}).open(legacy, name, r.id).error() == record_errc::unsigned_record);
    const record_sealer upgrading(keys, {3, true});
    auto opened = upgrading.open(legacy, name, r.id);
    REQUIRE(opened);
    CHECK(*opened == r);
    auto elsewhere = r;
    elsewhere.id.bucket = static_cast<std::uint16_t>((r.id.bucket + 1) % bucket_count);
    CHECK(upgrading.open(encode_record(elsewhere), name, elsewhere.id).error() == record_errc::forged);
    // Told to write format 2, a sealer writes exactly what 0.1 wrote.
    CHECK(record_sealer(keys, {2, true}).seal(r, name) == legacy);
    CHECK_THROWS_AS(record_sealer(keys, {6, true}), std::invalid_argument);
    CHECK_THROWS_AS(record_sealer(keys, {1, true}), std::invalid_argument);
}

TEST_CASE("a newer format is unsupported, and its owner is still read from the common header") {
    const auto keys = keys_of(key_a);
    const auto r = bucketed_record(*keys);
    std::string newer = record_sealer(keys, {}).seal(r, "k");
    newer[0] = 6;
    CHECK(record_sealer(keys, {3, true}).open(newer, "k", r.id).error() == record_errc::unsupported_format);
    CHECK(record_sealer(keys, {4, true}).open(newer, "k", r.id).error() == record_errc::unsupported_format);
    CHECK(record_sealer(keys, {5, true}).open(newer, "k", r.id).error() == record_errc::unsupported_format);
    CHECK(record_owner(newer) == std::optional<std::string_view>(r.user_id));
    CHECK(record_owner(encode_record(r)) == std::optional<std::string_view>(r.user_id));
    CHECK(record_owner("\x01") == std::nullopt);
    CHECK(record_owner("") == std::nullopt);
}

// --- format 4: a chain of previous secrets ----------------------------------

TEST_CASE("a record with a chain of previous secrets is sealed as format 4 and opens whole") {
    const auto keys = keys_of(key_a);
    const record_sealer sealer(keys, {});
    CHECK(sealer.options().write_format == 5);
    auto r = chained_record();
    r.id.bucket = keys->user_bucket(r.user_id);
    const std::string name = "p:{1}:s:" + r.id.to_string();
    const std::string sealed = sealer.seal(r, name);
    CHECK(static_cast<unsigned char>(sealed[0]) == 4);
    // Two more previous secrets than format 3 holds: a count byte and 16 + 4 bytes each.
    CHECK(sealed.size() == encode_record(r).size() + 17 + 1 + 2 * (16 + 4));
    auto opened = sealer.open(sealed, name, r.id);
    REQUIRE(opened);
    CHECK(*opened == r);
    CHECK(opened->previous.size() == 3);
    // The seal covers the chain: every changed byte is refused, so is every truncation.
    for (std::size_t i = 1; i < sealed.size(); ++i) {
        std::string changed = sealed;
        changed[i] = static_cast<char>(changed[i] ^ 0x20);
        INFO("byte " << i);
        CHECK(sealer.open(changed, name, r.id).error() == record_errc::forged);
    }
    for (std::size_t n = 0; n < sealed.size(); ++n) {
        INFO("truncated to " << n);
        CHECK_FALSE(sealer.open(sealed.substr(0, n), name, r.id));
    }
    // The header the scripts and older versions read is the same as in every format.
    CHECK(record_owner(sealed) == std::optional<std::string_view>(r.user_id));
}

TEST_CASE("without a chain, format 4 writes format 3 byte for byte; format 3 or 2 keeps the newest previous secret") {
    const auto keys = keys_of(key_a);
    const std::string name = "p:s:x";
    const record_sealer four(keys, {4, true}), three(keys, {3, true}), two(keys, {2, true});
    for (auto r : {typical_record(), rotated_record()}) {
        r.id.bucket = keys->user_bucket(r.user_id);
        CHECK(four.seal(r, name) == three.seal(r, name));
        CHECK(static_cast<unsigned char>(four.seal(r, name)[0]) == 3);
    }
    // Beside instances that read formats 2 and 3 only (record-format = 3),
    // a chain is cut to its newest secret: what they read, never a format 4.
    auto r = chained_record();
    r.id.bucket = keys->user_bucket(r.user_id);
    auto newest_only = r;
    newest_only.previous.resize(1);
    const auto as_three = three.seal(r, name);
    CHECK(static_cast<unsigned char>(as_three[0]) == 3);
    CHECK(as_three == three.seal(newest_only, name));
    auto opened = four.open(as_three, name, r.id);
    REQUIRE(opened);
    CHECK(*opened == newest_only);
    CHECK(two.seal(r, name) == encode_record(newest_only));
    CHECK(four.open(two.seal(r, name), name, r.id).value() == newest_only);
}

TEST_CASE("format 4 fields: a count of 2 to 4 previous secrets, one spelling per record") {
    const auto r = chained_record();
    const std::string four = encode_record_fields(r, 4);
    CHECK(static_cast<unsigned char>(four[0]) == 4);
    CHECK(decode_record_fields(four, r.id).value() == r);
    // Formats 2 and 3 of the same record hold only the newest previous secret.
    auto newest_only = r;
    newest_only.previous.resize(1);
    CHECK(decode_record_fields(encode_record_fields(r, 3), r.id).value() == newest_only);
    CHECK(encode_record_fields(r, 2) == encode_record(newest_only));

    // The count: two at least (one is format 3's spelling), max_previous_secrets at most.
    CHECK_THROWS_AS((void)encode_record_fields(rotated_record(), 4), std::invalid_argument);
    CHECK_THROWS_AS((void)encode_record_fields(typical_record(), 4), std::invalid_argument);
    CHECK_THROWS_AS((void)encode_record_fields(r, 5), std::invalid_argument);
    auto full = r;
    full.previous.push_back({digest_secret(as_bytes("oldest")), created + 40min + 10s});
    REQUIRE(full.previous.size() == max_previous_secrets);
    CHECK(decode_record_fields(encode_record_fields(full, 4), r.id).value() == full);
    // Where the count sits: after the 16-byte current digest, before the three entries of 20 bytes.
    const std::size_t count_at = four.size() - 3 * 20 - 1;
    REQUIRE(four[count_at] == 3);
    for (const char bad : {'\x00', '\x01', '\x05', '\x7f'}) {
        std::string changed = four;
        changed[count_at] = bad;
        INFO("count " << int(bad));
        CHECK(decode_record_fields(changed, r.id).error() == record_errc::malformed);
    }
    std::string no_flag = four;
    no_flag[1] = static_cast<char>(no_flag[1] & ~2);
    CHECK(decode_record_fields(no_flag, r.id).error() == record_errc::malformed);
    CHECK(decode_record_fields(four + "x", r.id).error() == record_errc::malformed);
    std::string newer = four;
    newer[0] = 6;
    CHECK(decode_record_fields(newer, r.id).error() == record_errc::unsupported_format);

    // Mutations: whatever decodes re-encodes to the same bytes in its own format.
    std::mt19937_64 rng(4242);
    std::uniform_int_distribution<int> byte(0, 255);
    std::size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string s = four;
        for (int f = 0, flips = 1 + round % 3; f < flips; ++f)
            s[1 + rng() % (s.size() - 1)] = static_cast<char>(byte(rng));
        if (const auto back = decode_record_fields(s, r.id)) {
            ++decoded;
            REQUIRE(encode_record_fields(*back, static_cast<std::uint8_t>(s[0])) == s);
        }
    }
    CHECK(decoded > 1000);
}

// --- format 5: a session context ------------------------------------------

namespace {

session_record record_with_context() {
    auto r = chained_record();
    r.device = {"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "Firefox on Linux", "203.0.113.0/24",
                "198.51.100.0/24"};
    r.auth = {2, {"pwd", "otp"}};
    r.tenant = "acme";
    r.provider = {"corp-idp", "08a5019c-17e1-4977-8f42-65a12843ea02"};
    return r;
}

}  // namespace

TEST_CASE("a record with a context is sealed as format 5 and opens whole; without one it is format 3 or 4") {
    const auto keys = keys_of(key_a);
    const record_sealer sealer(keys, {});
    const std::string name = "p:{1}:s:x";
    auto r = record_with_context();
    r.id.bucket = keys->user_bucket(r.user_id);
    const std::string sealed = sealer.seal(r, name);
    CHECK(static_cast<unsigned char>(sealed[0]) == 5);
    REQUIRE(sealer.open(sealed, name, r.id).value() == r);
    CHECK(record_owner(sealed) == std::optional<std::string_view>(r.user_id));
    // Each part alone, and a context without a chain (no count is written then).
    auto parts = std::vector<session_record>(5, typical_record());
    parts[0].device.user_agent = "curl/8.5";
    parts[1].auth.aal = 1;
    parts[2].auth.amr = {"hwk"};
    parts[3].tenant = "t";
    parts[4].provider = {"p", "s"};
    for (auto& p : parts) {
        p.id.bucket = keys->user_bucket(p.user_id);
        const auto s = sealer.seal(p, name);
        CHECK(static_cast<unsigned char>(s[0]) == 5);
        CHECK(sealer.open(s, name, p.id).value() == p);
    }
    // Without a context a record keeps the spelling every version from format 3 on reads.
    auto plain = typical_record();
    plain.id.bucket = keys->user_bucket(plain.user_id);
    CHECK(static_cast<unsigned char>(sealer.seal(plain, name)[0]) == 3);
    // The seal covers the context: every changed byte and every truncation is refused.
    for (std::size_t i = 1; i < sealed.size(); ++i) {
        std::string changed = sealed;
        changed[i] = static_cast<char>(changed[i] ^ 0x20);
        INFO("byte " << i);
        CHECK(sealer.open(changed, name, r.id).error() == record_errc::forged);
    }
    for (std::size_t n = 0; n < sealed.size(); ++n)
        CHECK_FALSE(sealer.open(sealed.substr(0, n), name, r.id));
}

TEST_CASE("record-format 4 keeps no context, so instances of the version before read every record") {
    const auto keys = keys_of(key_a);
    const std::string name = "p:s:x";
    auto r = record_with_context();
    r.id.bucket = keys->user_bucket(r.user_id);
    auto without = r;
    without.device = {};
    without.auth = {};
    without.tenant.clear();
    without.provider = {};
    const record_sealer four(keys, {4, true}), five(keys, {5, true});
    const auto as_four = four.seal(r, name);
    CHECK(static_cast<unsigned char>(as_four[0]) == 4);
    CHECK(as_four == four.seal(without, name));
    CHECK(five.open(as_four, name, r.id).value() == without);
}

TEST_CASE("format 5 fields: each bound is kept, an unknown part is a newer format") {
    const auto r = record_with_context();
    const std::string five = encode_record_fields(r, 5);
    CHECK(decode_record_fields(five, r.id).value() == r);
    CHECK_THROWS_AS((void)encode_record_fields(typical_record(), 5), std::invalid_argument);
    auto too_long = r;
    too_long.device.user_agent.assign(max_user_agent_size + 1, 'a');
    CHECK_THROWS_AS((void)encode_record_fields(too_long, 5), std::invalid_argument);
    too_long = r;
    too_long.auth.aal = max_aal + 1;
    CHECK_THROWS_AS((void)encode_record_fields(too_long, 5), std::invalid_argument);
    too_long = r;
    too_long.auth.amr.assign(max_amr_values + 1, "x");
    CHECK_THROWS_AS((void)encode_record_fields(too_long, 5), std::invalid_argument);
    too_long = r;
    too_long.provider.sid.clear();
    CHECK_THROWS_AS((void)encode_record_fields(too_long, 5), std::invalid_argument);

    // The parts byte: after the chain, before the device's user agent.
    auto only_tenant = typical_record();
    only_tenant.tenant = "acme";
    const std::string t = encode_record_fields(only_tenant, 5);
    const std::size_t parts_at = t.size() - 1 - 4 - 1;
    REQUIRE(t[parts_at] == 4);
    std::string unknown = t;
    unknown[parts_at] = static_cast<char>(4 | 16);
    CHECK(decode_record_fields(unknown, only_tenant.id).error() == record_errc::unsupported_format);
    std::string none = t;
    none[parts_at] = 0;
    CHECK(decode_record_fields(none, only_tenant.id).error() == record_errc::malformed);

    // Mutations: whatever decodes re-encodes to the same bytes in its own format.
    std::mt19937_64 rng(5555);
    std::uniform_int_distribution<int> byte(0, 255);
    std::size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string s = five;
        for (int f = 0, flips = 1 + round % 3; f < flips; ++f)
            s[1 + rng() % (s.size() - 1)] = static_cast<char>(byte(rng));
        if (const auto back = decode_record_fields(s, r.id)) {
            ++decoded;
            REQUIRE(encode_record_fields(*back, static_cast<std::uint8_t>(s[0])) == s);
        }
    }
    CHECK(decoded > 1000);
}
