#include <catch2/catch.hpp>

#include "support/result_string.hpp"

#include "session/errc.hpp"
#include "session/rules.hpp"

#include <limits>
#include <string>
#include <vector>

using namespace sessiond::session;
using namespace std::chrono_literals;

namespace {

secret_digest hash_of(std::string_view s) {
    return digest_secret(as_bytes(s));
}

const secret_digest h1 = hash_of("secret-1"), h2 = hash_of("secret-2"), h3 = hash_of("secret-3"),
                    h4 = hash_of("secret-4"), h5 = hash_of("secret-5"), h6 = hash_of("secret-6");

session_id id_n(std::uint8_t n) {
    session_id id;
    id.bucket = 77;
    id.id.fill(n);
    return id;
}

// A fresh session from the default policy (idle 30 min, absolute 12 h).
struct fixture {
    fake_clock clock;
    policy p;
    session_record rec;

    explicit fixture(creation c = {"alice", "{}", {}, {}}) {
        auto r = new_record(id_n(1), h1, std::move(c), clock.now(), p);
        REQUIRE(r);
        rec = *r;
    }

    // Validates with `hash` now and, like a store, writes back any touch.
    check_result validate(const secret_digest& hash, check_options o = {}) {
        check_result out = check(rec, hash, clock.now(), p, o);
        if (out.updated) rec = *out.updated;
        return out;
    }
};

}  // namespace

TEST_CASE("policy defaults are the documented ones and validate() guards them") {
    const policy p;
    CHECK(p.idle_timeout == 1800s);
    CHECK(p.absolute_timeout == 43200s);
    CHECK(p.max_idle_timeout == 86400s);
    CHECK(p.max_absolute_timeout == std::chrono::days(30));
    CHECK(p.touch_fraction == 0.5);
    CHECK(p.rotation_grace == 10s);
    CHECK(p.max_sessions_per_user == 0);
    CHECK(p.on_limit == limit_policy::evict_lru);
    CHECK_NOTHROW(validate(p));

    auto bad = [](auto change) {
        policy q;
        change(q);
        return q;
    };
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.touch_fraction = 1.0; })), std::invalid_argument);
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.touch_fraction = -0.1; })), std::invalid_argument);
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.idle_timeout = 0s; })), std::invalid_argument);
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.max_idle_timeout = 10s; })), std::invalid_argument);
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.max_absolute_timeout = 1h; })), std::invalid_argument);
    CHECK_THROWS_AS(validate(bad([](policy& q) { q.rotation_grace = -1s; })), std::invalid_argument);
}

TEST_CASE("new_record applies defaults, requests and caps") {
    fake_clock clock;
    const policy p;
    const auto now = clock.now();

    const auto r = new_record(id_n(1), h1, {"alice", R"({"ip":"x"})", {}, {}}, now, p);
    REQUIRE(r);
    CHECK(r->id == id_n(1));
    CHECK(r->user_id == "alice");
    CHECK(r->metadata == R"({"ip":"x"})");
    CHECK(r->created_at == now);
    CHECK(r->last_seen_at == now);
    CHECK(r->authenticated_at == now);
    CHECK(r->expires_at == now + 12h);
    CHECK(r->idle_expires_at == now + 30min);
    CHECK(r->idle_timeout == 30min);
    CHECK_FALSE(r->rotated_at);
    CHECK(r->previous.empty());
    CHECK(r->secret_hash == h1);
    CHECK(r->version == 1);
    CHECK(store_deadline(*r) == now + 30min);

    // Requested timeouts; an idle window longer than the absolute one is capped.
    const auto custom = new_record(id_n(2), h1, {"bob", "{}", 2h, 1h}, now, p);
    REQUIRE(custom);
    CHECK(custom->idle_timeout == 2h);
    CHECK(custom->expires_at == now + 1h);
    CHECK(custom->idle_expires_at == now + 1h);
    CHECK(store_deadline(*custom) == now + 1h);
    CHECK(new_record(id_n(2), h1, {"bob", "{}", 86400s, std::chrono::days(30)}, now, p));

    auto error = [&](creation c) { return new_record(id_n(3), h1, std::move(c), now, p).error(); };
    CHECK(error({"", "{}", {}, {}}) == errc::invalid_user_id);
    CHECK(error({std::string(257, 'u'), "{}", {}, {}}) == errc::invalid_user_id);
    CHECK(error({"u", "{}", 0s, {}}) == errc::invalid_idle_timeout);
    CHECK(error({"u", "{}", -5s, {}}) == errc::invalid_idle_timeout);
    CHECK(error({"u", "{}", 86401s, {}}) == errc::invalid_idle_timeout);
    CHECK(error({"u", "{}", {}, 0s}) == errc::invalid_absolute_timeout);
    CHECK(error({"u", "{}", {}, std::chrono::days(30) + 1ms}) == errc::invalid_absolute_timeout);
}

TEST_CASE("a user id is 1..256 bytes of UTF-8 without control characters") {
    CHECK(valid_user_id("alice"));
    CHECK(valid_user_id("zo\xc3\xab 100%"));
    CHECK(valid_user_id(std::string(256, 'u')));
    CHECK(valid_user_id("~"));  // 0x7e, just below DEL
    CHECK_FALSE(valid_user_id(""));
    CHECK_FALSE(valid_user_id(std::string(257, 'u')));
    CHECK_FALSE(valid_user_id("\xc3"));      // truncated sequence
    CHECK_FALSE(valid_user_id("\xc0\xaf"));  // overlong '/'
    for (int c = 0; c < 0x20; ++c) {
        INFO("byte " << c);
        CHECK_FALSE(valid_user_id("al" + std::string(1, static_cast<char>(c)) + "ice"));
        CHECK_FALSE(valid_user_id(std::string(1, static_cast<char>(c))));
    }
    CHECK_FALSE(valid_user_id("alice\x7f"));
    CHECK_FALSE(valid_user_id(std::string("alice\0bob", 9)));

    // Creation applies the same rule.
    const policy p;
    fake_clock clock;
    for (std::string bad : {std::string("a\nb"), std::string("a\rb"), std::string("a\x1b[0m"), std::string("a\x7f"),
                            std::string("a\0b", 3)}) {
        auto r = new_record(id_n(4), h1, {bad, "{}", {}, {}}, clock.now(), p);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::invalid_user_id);
    }
}

TEST_CASE("a new session's user id has no C1 control either; a lookup's may, for older sessions") {
    CHECK(valid_new_user_id("alice"));
    CHECK(valid_new_user_id("zo\xc3\xab \xc2\xa0\xc2\xbf"));  // U+00EB, U+00A0, U+00BF: not controls
    for (int b = 0x80; b <= 0x9f; ++b) {
        INFO("U+00" << std::hex << b);
        const std::string id = "al\xc2" + std::string(1, static_cast<char>(b)) + "ice";
        CHECK(valid_user_id(id));
        CHECK_FALSE(valid_new_user_id(id));
    }
    CHECK_FALSE(valid_new_user_id("a\x1b"));
    const policy p;
    fake_clock clock;
    auto r = new_record(id_n(5), h1,
                        {"evil\xc2\x9b"
                         "31m",
                         "{}",
                         {},
                         {}},
                        clock.now(), p);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::invalid_user_id);
}

TEST_CASE("validation: current hash valid, any other a reuse, expiry at the deadline") {
    fixture f;
    CHECK(f.validate(h1).outcome == check_outcome::valid);
    // Tokens reach the rules only with a valid tag: another secret for this
    // session is one sessiond issued and rotated away.
    CHECK(f.validate(h2).outcome == check_outcome::reuse_detected);
    f.clock.advance(30min - 1ms);
    CHECK(f.validate(h1, {.touch = false, .max_auth_age = {}}).outcome == check_outcome::valid);
    f.clock.advance(1ms);  // exactly idle_expires_at
    CHECK(f.validate(h1).outcome == check_outcome::expired);
    CHECK(f.validate(h2).outcome == check_outcome::expired);
}

TEST_CASE("touch threshold: no write before the fraction of the window, a write after it") {
    fixture f;
    const auto t0 = f.clock.now();

    f.clock.advance(15min - 1ms);  // just under half of 30 min
    auto r = f.validate(h1);
    CHECK(r.outcome == check_outcome::valid);
    CHECK_FALSE(r.updated);
    CHECK(f.rec.idle_expires_at == t0 + 30min);  // the returned value is the stored one

    f.clock.advance(1ms);
    r = f.validate(h1);
    REQUIRE(r.updated);
    CHECK(r.updated->last_seen_at == t0 + 15min);
    CHECK(r.updated->idle_expires_at == t0 + 45min);
    CHECK(r.updated->version == 2);
    CHECK(r.updated->expires_at == t0 + 12h);

    // The next threshold is measured from the new extension.
    f.clock.advance(15min - 1ms);
    CHECK_FALSE(f.validate(h1).updated);
    f.clock.advance(1ms);
    CHECK(f.validate(h1).updated);

    // touch=false never writes.
    f.clock.advance(29min);
    CHECK(f.validate(h1, {.touch = false, .max_auth_age = {}}).outcome == check_outcome::valid);
    CHECK(f.rec.last_seen_at == t0 + 30min);

    // touch_fraction 0: every validation that moves the expiry writes.
    f.p.touch_fraction = 0.0;
    f.clock.advance(1ms);
    CHECK(f.validate(h1).updated);
    CHECK_FALSE(f.validate(h1).updated);  // same millisecond: nothing would move
}

TEST_CASE("sliding expiry keeps a used session alive, capped at expires_at") {
    fixture f({"alice", "{}", 30min, 2h});
    const auto t0 = f.clock.now();
    for (int i = 0; i < 5; ++i) {  // 20-minute gaps: each use extends
        f.clock.advance(20min);
        REQUIRE(f.validate(h1).outcome == check_outcome::valid);
    }
    CHECK(f.clock.now() == t0 + 100min);
    CHECK(f.rec.idle_expires_at == t0 + 2h);  // min(now + 30 min, expires_at)
    CHECK(store_deadline(f.rec) == t0 + 2h);
    f.clock.advance(10min);
    CHECK(f.validate(h1).outcome == check_outcome::valid);
    CHECK(f.rec.idle_expires_at == t0 + 2h);
    f.clock.advance(10min);  // absolute limit reached despite recent use
    CHECK(f.validate(h1).outcome == check_outcome::expired);
}

TEST_CASE("rotation keeps the id and expires_at and replaces the secret") {
    fixture f({"alice", R"({"a":1})", {}, {}});
    const auto t0 = f.clock.now();
    f.clock.advance(5min);
    const auto r = rotate(f.rec, h1, h2, f.clock.now(), f.p);
    REQUIRE(r.outcome == check_outcome::valid);
    REQUIRE(r.updated);
    const session_record& u = *r.updated;
    CHECK(u.id == f.rec.id);
    CHECK(u.expires_at == t0 + 12h);
    CHECK(u.created_at == t0);
    CHECK(u.secret_hash == h2);
    REQUIRE(u.previous.size() == 1);
    CHECK(u.previous.front().secret_hash == h1);
    CHECK(u.previous.front().valid_until == t0 + 5min + 10s);
    CHECK(u.rotated_at == t0 + 5min);
    CHECK(u.authenticated_at == t0);  // not reauthenticated
    CHECK(u.last_seen_at == t0 + 5min);
    CHECK(u.idle_expires_at == t0 + 35min);
    CHECK(u.metadata == R"({"a":1})");
    CHECK(u.version == f.rec.version + 1);

    const auto re = rotate(f.rec, h1, h2, f.clock.now(), f.p, {true, std::string(R"({"b":2})")});
    REQUIRE(re.updated);
    CHECK(re.updated->authenticated_at == t0 + 5min);
    CHECK(re.updated->metadata == R"({"b":2})");
}

TEST_CASE("rotation grace: previous token valid within it, reuse detected after it") {
    fixture f;
    f.clock.advance(1min);
    f.rec = *rotate(f.rec, h1, h2, f.clock.now(), f.p).updated;

    f.clock.advance(10s - 1ms);
    CHECK(f.validate(h1).outcome == check_outcome::valid_previous);
    CHECK(f.validate(h2).outcome == check_outcome::valid);
    // Only the current token may rotate; the racing previous one may not.
    CHECK(rotate(f.rec, h1, h3, f.clock.now(), f.p).outcome == check_outcome::invalid);
    CHECK_FALSE(rotate(f.rec, h1, h3, f.clock.now(), f.p).updated);

    f.clock.advance(1ms);  // grace over
    CHECK(f.validate(h1).outcome == check_outcome::reuse_detected);
    CHECK(rotate(f.rec, h1, h3, f.clock.now(), f.p).outcome == check_outcome::reuse_detected);
    CHECK(f.validate(h2).outcome == check_outcome::valid);

    // After a second rotation a token two rotations old is a reuse at once,
    // on validation and on rotation alike.
    f.rec = *rotate(f.rec, h2, h3, f.clock.now(), f.p).updated;
    CHECK(f.validate(h3).outcome == check_outcome::valid);
    CHECK(f.validate(h2).outcome == check_outcome::valid_previous);
    CHECK(f.validate(h1).outcome == check_outcome::reuse_detected);
    CHECK(rotate(f.rec, h1, h2, f.clock.now(), f.p).outcome == check_outcome::reuse_detected);

    // Expiry is checked first: a stale previous token on a dead session is just expired.
    f.clock.advance(31min);
    CHECK(f.validate(h2).outcome == check_outcome::expired);
    CHECK(rotate(f.rec, h3, h1, f.clock.now(), f.p).outcome == check_outcome::expired);
}

TEST_CASE("quick rotations: every token superseded within its grace still validates, until its own grace ends") {
    fixture f;
    f.clock.advance(1min);
    const auto t1 = f.clock.now();
    f.rec = *rotate(f.rec, h1, h2, f.clock.now(), f.p).updated;
    f.clock.advance(1ms);
    f.rec = *rotate(f.rec, h2, h3, f.clock.now(), f.p).updated;
    REQUIRE(f.rec.previous.size() == 2);
    CHECK(f.rec.previous[0] == previous_secret{h2, t1 + 1ms + 10s});  // newest first
    CHECK(f.rec.previous[1] == previous_secret{h1, t1 + 10s});

    // A request still in flight with the first token, 1 ms after the second rotation.
    f.clock.advance(1ms);
    CHECK(f.validate(h1).outcome == check_outcome::valid_previous);
    CHECK(f.validate(h2).outcome == check_outcome::valid_previous);
    CHECK(f.validate(h3).outcome == check_outcome::valid);
    // A superseded token may not rotate (409 not_current), however old within its grace.
    for (const auto& old : {h1, h2}) {
        const auto r = rotate(f.rec, old, h4, f.clock.now(), f.p);
        CHECK(r.outcome == check_outcome::invalid);
        CHECK_FALSE(r.updated);
    }

    // Each previous secret has its own grace: h1's ends first.
    f.clock.set(t1 + 10s);
    CHECK(f.validate(h1).outcome == check_outcome::reuse_detected);
    CHECK(rotate(f.rec, h1, h4, f.clock.now(), f.p).outcome == check_outcome::reuse_detected);
    CHECK(f.validate(h2).outcome == check_outcome::valid_previous);
    f.clock.set(t1 + 10s + 1ms);
    CHECK(f.validate(h2).outcome == check_outcome::reuse_detected);
    CHECK(f.validate(h3).outcome == check_outcome::valid);
}

TEST_CASE("the chain of previous secrets is bounded and drops what is past its grace") {
    fixture f;
    const std::vector<secret_digest> h = {h1, h2, h3, h4, h5, h6};
    // Five rotations 1 ms apart: four previous secrets kept, the oldest (h1) gone.
    for (std::size_t i = 0; i + 1 < h.size(); ++i) {
        f.clock.advance(1ms);
        f.rec = *rotate(f.rec, h[i], h[i + 1], f.clock.now(), f.p).updated;
    }
    REQUIRE(f.rec.previous.size() == max_previous_secrets);
    CHECK(f.rec.previous.front().secret_hash == h5);
    CHECK(f.rec.previous.back().secret_hash == h2);
    CHECK(f.validate(h1).outcome == check_outcome::reuse_detected);  // beyond the chain, though within its grace
    for (const auto& kept : {h2, h3, h4, h5})
        CHECK(f.validate(kept).outcome == check_outcome::valid_previous);

    // A rotation after their grace keeps only the secret it replaces.
    f.clock.advance(10s);
    f.rec = *rotate(f.rec, h6, h1, f.clock.now(), f.p).updated;
    REQUIRE(f.rec.previous.size() == 1);
    CHECK(f.rec.previous.front().secret_hash == h6);

    // A touch drops those past their grace too (nothing it changes: they are reuses either way).
    f.clock.advance(10s);
    CHECK(f.validate(h6).outcome == check_outcome::reuse_detected);
    f.clock.advance(15min);
    const auto touched = f.validate(h1);
    CHECK(touched.outcome == check_outcome::valid);
    REQUIRE(touched.updated);
    CHECK(f.rec.previous.empty());
    CHECK(f.validate(h6).outcome == check_outcome::reuse_detected);
}

TEST_CASE("max_auth_age demands reauthentication; a reauthenticated rotation satisfies it") {
    fixture f({"alice", "{}", 2h, {}});
    f.clock.advance(1h);
    check_options strict;
    strict.max_auth_age = 30min;
    auto r = f.validate(h1, strict);
    CHECK(r.outcome == check_outcome::reauthentication_required);
    CHECK_FALSE(r.updated);  // a refused request does not extend the session
    CHECK(f.validate(h2, strict).outcome == check_outcome::reuse_detected);
    CHECK(f.validate(h1, {.touch = true, .max_auth_age = 1h}).outcome == check_outcome::valid);  // exactly 1 h old

    f.rec = *rotate(f.rec, h1, h2, f.clock.now(), f.p).updated;
    CHECK(f.validate(h2, strict).outcome == check_outcome::reauthentication_required);
    f.rec = *rotate(f.rec, h2, h3, f.clock.now(), f.p, {.reauthenticated = true}).updated;
    CHECK(f.rec.authenticated_at == f.clock.now());
    CHECK(f.validate(h3, strict).outcome == check_outcome::valid);
    CHECK(f.validate(h2, strict).outcome == check_outcome::valid_previous);
}

TEST_CASE("eviction takes the earliest idle expiry first, ignoring dead sessions") {
    const timestamp now = fake_clock().now();
    const std::vector<eviction_candidate> sessions = {
        {id_n(1), now + 20min}, {id_n(2), now + 5min}, {id_n(3), now - 1min},  // 3 already expired
        {id_n(4), now + 25min}, {id_n(5), now + 5min}, {id_n(6), now},         // 6 expires now
    };
    const auto evict = [&](std::size_t limit) {
        policy p;
        p.max_sessions_per_user = limit;
        const auto a = admit(sessions, now, p);
        CHECK_FALSE(a.rejected);
        return a.evict;
    };
    // Four live; room for the new one within a limit of 3 means evicting two.
    CHECK(evict(3) == std::vector{id_n(2), id_n(5)});
    CHECK(evict(2) == std::vector{id_n(2), id_n(5), id_n(1)});
    CHECK(evict(1) == std::vector{id_n(2), id_n(5), id_n(1), id_n(4)});
    CHECK(evict(4) == std::vector{id_n(2)});
    CHECK(evict(5).empty());
    CHECK(evict(0).empty());  // no limit
    policy one;
    one.max_sessions_per_user = 1;
    CHECK(admit({}, now, one).evict.empty());

    policy p;
    p.max_sessions_per_user = 4;
    p.on_limit = limit_policy::reject;
    auto a = admit(sessions, now, p);
    CHECK(a.rejected);
    CHECK(a.evict.empty());
    p.max_sessions_per_user = 5;
    CHECK_FALSE(admit(sessions, now, p).rejected);
    p.max_sessions_per_user = 0;
    CHECK_FALSE(admit(sessions, now, p).rejected);
}

TEST_CASE("admit_ordered reads a store's ordered sessions only as far as the victims, at most at_most of them") {
    // A user's live sessions as a store keeps them: earliest deadline first.
    const std::vector<session_id> ordered = {id_n(1), id_n(2), id_n(3), id_n(4), id_n(5), id_n(6)};
    std::size_t read = 0;
    const auto id_of = [&read](const session_id& id) {
        ++read;
        return id;
    };
    const auto decide = [&](const policy& p, std::size_t at_most = std::numeric_limits<std::size_t>::max()) {
        read = 0;
        return admit_ordered(ordered.size(), ordered.begin(), ordered.end(), id_of, p, at_most);
    };
    policy p;
    p.max_sessions_per_user = 5;  // six live: two go
    auto a = decide(p);
    CHECK_FALSE(a.rejected);
    CHECK(a.evict == std::vector{id_n(1), id_n(2)});
    CHECK(read == 2);

    // A limit lowered far below the count: at most at_most go in one call.
    p.max_sessions_per_user = 1;
    a = decide(p, 3);
    CHECK(a.evict == std::vector{id_n(1), id_n(2), id_n(3)});
    CHECK(read == 3);

    // Rejecting, or under the limit, reads none.
    p.on_limit = limit_policy::reject;
    a = decide(p, 3);
    CHECK(a.rejected);
    CHECK(a.evict.empty());
    CHECK(read == 0);
    p.max_sessions_per_user = 7;
    p.on_limit = limit_policy::evict_lru;
    a = decide(p);
    CHECK_FALSE(a.rejected);
    CHECK(a.evict.empty());
    CHECK(read == 0);
}
