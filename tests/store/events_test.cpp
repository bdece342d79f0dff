// Session events (session/events.hpp) written by every store, each in the
// same atomic step as its change: for the embedded store and for Redis
// (standalone and Cluster), every operation of the service yields exactly
// the expected events, in order, with the right fields and no token or
// secret anywhere; touches and failed compare-and-sets yield none; the
// streams stay within their bounds.

#include <catch2/catch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_store_fixture.hpp"
#include "service/session_service.hpp"
#include "session/crypto.hpp"
#include "session/events.hpp"
#include "store/memory_store.hpp"
#include "support/redis_topology.hpp"

namespace sessiond::test {
namespace {

using session::event;
using session::event_type;

constexpr std::string_view instance = "events-test-instance";

store::event_settings settings(std::size_t max = 1000, std::chrono::milliseconds retention = 1h) {
    store::event_settings s;
    s.enabled = true;
    s.max_per_stream = max;
    s.retention = retention;
    s.instance = std::string(instance);
    return s;
}

// One store under test with its io_context; for Redis, the raw text of
// every field of a stream as well.
struct target {
    virtual ~target() = default;
    asio::io_context ioc;
    session::wall_clock clock;
    virtual store::session_store& store() = 0;
    template <class T>
    T run(asio::awaitable<T> op) {
        return run_to_completion(ioc, std::move(op));
    }
    // Every field name and value of the stream, as stored (Redis), or of
    // the events as read (memory).
    virtual std::vector<std::string> raw_fields(std::uint32_t stream) {
        std::vector<std::string> out;
        auto read = run(store().read_events(stream, {}, store::max_event_read));
        REQUIRE(read);
        for (const auto& e : *read)
            for (const auto& s : {e.id, e.session_id, e.user_id, e.instance, e.caller, e.reason, e.tenant})
                out.push_back(s);
        return out;
    }
    virtual std::size_t length(std::uint32_t stream) {
        auto read = run(store().read_events(stream, {}, store::max_event_read));
        REQUIRE(read);
        return read->size();
    }
};

struct memory_target final : target {
    store::memory_store memory{ioc, clock, 100000};
    store::session_store& store() override { return memory; }
};

struct redis_target : target {
    std::unique_ptr<redis::client> client;
    std::unique_ptr<store::redis_store> redis;
    std::shared_ptr<const session::keyring> keys =
        std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
    void open(const std::string& url) {
        redis::config cfg = redis::parse_url(url).value();
        cfg.connections = 1;
        cfg.command_timeout = 5000ms;
        client = std::make_unique<redis::client>(ioc, cfg, 1);
        redis = std::make_unique<store::redis_store>(*client, clock, "t:", store::record_sealer(keys, {}));
        start_and_wait(ioc, *client);
    }
    ~redis_target() override {
        if (client) client->stop();
    }
    store::session_store& store() override { return *redis; }
    redis::reply exec(redis::command cmd) {
        auto [ec, reply] = run(client->async_exec(std::move(cmd), asio::as_tuple(asio::use_awaitable)));
        REQUIRE_FALSE(ec);
        return reply;
    }
    std::vector<std::string> raw_fields(std::uint32_t stream) override {
        const auto key = redis->events_key(stream);
        const auto reply = exec(redis::command("XRANGE", key, "-", "+"));
        std::vector<std::string> out;
        for (const auto& entry : reply.elements()) {
            out.emplace_back(entry.elements()[0].str());
            for (const auto& field : entry.elements()[1].elements())
                out.emplace_back(field.str());
        }
        return out;
    }
    std::size_t length(std::uint32_t stream) override {
        const auto key = redis->events_key(stream);
        return static_cast<std::size_t>(exec(redis::command("XLEN", key)).integer());
    }
};

struct standalone_target final : redis_target {
    redis_server srv;
    standalone_target() { open(srv.url()); }
};

struct cluster_target final : redis_target {
    cluster_setup cluster;
    cluster_target() { open(cluster.url()); }
};

// What a test expects of one event.
struct expect {
    event_type type;
    std::string session_id = {};
    std::string reason = {};
    std::int64_t count = 0;  // user.sessions_revoked
};

// The whole story of one user through the service, checked event by event.
void story(target& t) {
    t.store().enable_events(settings());
    session::policy policy;
    policy.max_sessions_per_user = 2;
    policy.rotation_grace = 0ms;  // a rotated token is a reuse at once
    auto keys = std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
    service::session_service svc(t.store(), keys, session::token_codec(), t.clock, policy);
    const service::actor who{"events-caller", "req-1"};
    const std::string user =
        "events-user-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto bucket = keys->user_bucket(user);
    const store::user_ref ref{user, bucket, keys->user_index_name(user)};

    std::vector<std::string> tokens;
    std::vector<expect> expected;
    auto create = [&] {
        service::create_request request;
        request.user_id = user;
        auto made = t.run(svc.create(request, who));
        REQUIRE(made);
        tokens.push_back(made->token);
        return made->session;
    };
    auto id_of = [](const session::session_record& r) { return r.id.to_string(); };

    const auto s1 = create();
    expected.push_back({event_type::session_created, id_of(s1)});

    // A touch is no event; a compare-and-set that loses writes nothing.
    auto stored = t.run(t.store().get(s1.id));
    REQUIRE(stored);
    REQUIRE(*stored);
    auto touched = **stored;
    ++touched.version;
    touched.idle_expires_at += 1s;
    auto written = t.run(t.store().replace(**stored, touched, ref));
    REQUIRE(written);
    CHECK(*written);
    const store::event_note rotation{"events-caller", {}, true};
    auto lost = t.run(t.store().replace(**stored, touched, ref, rotation));  // stale version
    REQUIRE(lost);
    CHECK_FALSE(*lost);

    auto rotated = t.run(svc.rotate(tokens[0], {}, who));
    REQUIRE(rotated);
    tokens.push_back(rotated->token);  // [1]
    expected.push_back({event_type::session_rotated, id_of(s1)});

    const auto s2 = create();  // [2]
    expected.push_back({event_type::session_created, id_of(s2)});
    const auto s3 = create();  // [3]: the limit evicts s1 or s2
    const bool s1_gone = !*t.run(t.store().get(s1.id));
    const auto& evicted = s1_gone ? s1 : s2;
    const auto& survivor_token = s1_gone ? tokens[2] : tokens[1];
    expected.push_back({event_type::session_revoked, id_of(evicted), "evicted"});
    expected.push_back({event_type::session_created, id_of(s3)});

    REQUIRE(t.run(svc.revoke(std::string_view(survivor_token), who)));
    expected.push_back({event_type::session_revoked, id_of(s1_gone ? s2 : s1), "caller"});
    REQUIRE(t.run(svc.revoke(s3.id, who)));
    expected.push_back({event_type::session_revoked, id_of(s3), "caller"});

    const auto s4 = create();  // [4]
    expected.push_back({event_type::session_created, id_of(s4)});
    service::actor self = who;
    self.by_user = user;
    REQUIRE(t.run(svc.revoke_own(s4.id, user, self)));
    expected.push_back({event_type::session_revoked, id_of(s4), "self_service"});

    const auto s5 = create();  // [5]
    expected.push_back({event_type::session_created, id_of(s5)});
    auto again = t.run(svc.rotate(tokens[5], {}, who));
    REQUIRE(again);
    expected.push_back({event_type::session_rotated, id_of(s5)});
    std::this_thread::sleep_for(5ms);  // past the (zero) grace
    CHECK_FALSE(t.run(svc.validate(tokens[5], {}, who)));
    expected.push_back({event_type::session_reuse_detected, id_of(s5)});
    expected.push_back({event_type::session_revoked, id_of(s5), "reuse_detected"});

    const auto s6 = create();
    const auto s7 = create();
    expected.push_back({event_type::session_created, id_of(s6)});
    expected.push_back({event_type::session_created, id_of(s7)});
    const auto all = t.run(svc.revoke_user(user, std::nullopt, who));
    CHECK(all.revoked == 2);
    CHECK_FALSE(all.failure);
    // Revoke-all goes in the index's order (deadline, then id).
    const bool six_first = session::store_deadline(s6) < session::store_deadline(s7) ||
                           (session::store_deadline(s6) == session::store_deadline(s7) && s6.id.id < s7.id.id);
    expected.push_back({event_type::session_revoked, id_of(six_first ? s6 : s7), "user_revoke_all"});
    expected.push_back({event_type::session_revoked, id_of(six_first ? s7 : s6), "user_revoke_all"});
    expected.push_back({event_type::user_sessions_revoked, {}, {}, 2});
    // Nothing left: a second revoke-all is no event.
    CHECK(t.run(svc.revoke_user(user, std::nullopt, who)).revoked == 0);

    const auto s8 = create();
    expected.push_back({event_type::session_created, id_of(s8)});
    const auto user_instant = t.clock.now();
    CHECK(t.run(svc.set_user_not_before(user, user_instant, who)).revoked == 1);
    expected.push_back({event_type::epoch_changed});
    expected.push_back({event_type::session_revoked, id_of(s8), "epoch"});
    expected.push_back({event_type::user_sessions_revoked, {}, {}, 1});

    // An OIDC back-channel logout revokes with its own reason.
    const auto s9 = create();
    expected.push_back({event_type::session_created, id_of(s9)});
    const service::actor provider{"events-caller", "req-2", {}, "backchannel_logout"};
    REQUIRE(t.run(svc.revoke(s9.id, provider)));
    expected.push_back({event_type::session_revoked, id_of(s9), "backchannel_logout"});

    const auto everyone = t.clock.now();
    REQUIRE(t.run(svc.set_not_before("", everyone, who)));
    const auto tenant_instant = t.clock.now();
    REQUIRE(t.run(svc.set_not_before("acme", tenant_instant, who)));

    // The user's bucket: exactly the expected events, in order.
    auto read = t.run(t.store().read_events(bucket, {}, store::max_event_read));
    REQUIRE(read);
    const auto& events = *read;
    REQUIRE(events.size() == expected.size());
    std::optional<session::event_position> last;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        INFO("event " << i << ": " << session::event_name(e.type));
        CHECK(e.type == expected[i].type);
        CHECK(e.session_id == expected[i].session_id);
        CHECK(e.reason == expected[i].reason);
        CHECK(e.user_id == user);
        CHECK(e.instance == instance);
        CHECK(e.caller == "events-caller");
        CHECK(e.stream == bucket);
        const auto position = session::event_position::parse(e.id);
        REQUIRE(position);
        if (last) CHECK(*last < *position);
        last = position;
        CHECK(e.at.time_since_epoch().count() == static_cast<std::int64_t>(position->ms));
        CHECK(std::chrono::abs(e.at - t.clock.now()) < 1min);
        CHECK(e.count == expected[i].count);
        if (e.type == event_type::epoch_changed) CHECK(e.instant_ms == user_instant.time_since_epoch().count());
    }

    // Reading after a position gives the rest.
    auto tail = t.run(t.store().read_events(bucket, *session::event_position::parse(events[9].id), 1000));
    REQUIRE(tail);
    REQUIRE(tail->size() == events.size() - 10);
    CHECK(tail->front() == events[10]);

    // The epochs of everyone and of a tenant, in the meta stream.
    auto meta = t.run(t.store().read_events(session::events_meta_stream, {}, 10));
    REQUIRE(meta);
    REQUIRE(meta->size() == 2);
    for (const auto& e : *meta) {
        CHECK(e.type == event_type::epoch_changed);
        CHECK(e.user_id.empty());
        CHECK(e.session_id.empty());
        CHECK(e.caller == "events-caller");
        CHECK(e.instance == instance);
    }
    CHECK(meta->front().tenant == "*");
    CHECK(meta->front().instant_ms == everyone.time_since_epoch().count());
    CHECK(meta->back().tenant == "acme");
    CHECK(meta->back().instant_ms == tenant_instant.time_since_epoch().count());

    // A reader of every stream gets the same, each stream in order.
    store::event_cursor cursor;
    std::vector<event> everything;
    for (int pass = 0; pass < 3; ++pass) {
        auto some = t.run(t.store().read_all_events(cursor, 1000));
        REQUIRE(some);
        for (const auto& e : *some) {
            cursor.advance(e);
            everything.push_back(e);
        }
    }
    REQUIRE(everything.size() == events.size() + 2);
    std::vector<event> of_bucket;
    std::copy_if(everything.begin(), everything.end(), std::back_inserter(of_bucket),
                 [&](const event& e) { return e.stream == bucket; });
    CHECK(of_bucket == events);

    // No token, no secret, no digest anywhere in a stream.
    std::vector<std::string> secrets;
    for (const auto& token : tokens) {
        auto decoded = session::token_codec().decode(*keys, token);
        REQUIRE(decoded);
        secrets.push_back(token);
        secrets.push_back(token.substr(4 + 25, 40));  // the characters of the secret in the token
        const session::bytes_view secret(decoded->secret.data(), decoded->secret.size());
        secrets.push_back(session::base64url_encode(secret));
        const auto digest = session::digest_secret(secret);
        secrets.emplace_back(reinterpret_cast<const char*>(digest.view().data()), digest.view().size());
        secrets.push_back(session::base64url_encode(digest.view()));
    }
    for (const auto stream : {static_cast<std::uint32_t>(bucket), session::events_meta_stream}) {
        for (const auto& field : t.raw_fields(stream))
            for (const auto& secret : secrets)
                CHECK(field.find(secret) == std::string::npos);
    }
}

}  // namespace

TEST_CASE("events: every change of a user's sessions, in order, in the embedded store", "[events]") {
    memory_target t;
    story(t);
}

TEST_CASE("events: every change of a user's sessions, in order, in Redis", "[events][redis]") {
    standalone_target t;
    story(t);
}

TEST_CASE("events: every change of a user's sessions, in order, on a Redis Cluster", "[events][redis][cluster]") {
    cluster_target t;
    story(t);
}

TEST_CASE("events: off, a store writes none", "[events][redis]") {
    standalone_target t;
    store::event_settings off = settings();
    off.enabled = false;
    t.store().enable_events(off);
    session::policy policy;
    const store::user_ref ref{"quiet", 7, "aaaaaaaaaaa"};
    auto r = session::new_record(session::session_id{7, {}}, session::digest_secret(session::as_bytes("x")),
                                 {"quiet", "{}", {}, {}}, t.clock.now(), policy);
    REQUIRE(r);
    REQUIRE(t.run(t.store().create(*r, ref, policy, {"c"})));
    REQUIRE(t.run(t.store().remove(r->id, ref, {"c", "caller"})));
    CHECK(t.length(7) == 0);
}

// Many events into one stream: it keeps the newest within its bounds.
void bounded(target& t, bool exact) {
    t.store().enable_events(settings(200));
    session::policy policy;
    const store::user_ref ref{"many", 9, "bbbbbbbbbbb"};
    std::string newest;
    for (int i = 0; i < 700; ++i) {
        session::session_id id{9, {}};
        id.id[0] = static_cast<std::uint8_t>(i & 0xFF);
        id.id[1] = static_cast<std::uint8_t>(i >> 8);
        auto r = session::new_record(id, session::digest_secret(session::as_bytes("x")), {"many", "{}", {}, {}},
                                     t.clock.now(), policy);
        REQUIRE(r);
        REQUIRE(t.run(t.store().create(*r, ref, policy, {"c"})));
        newest = id.to_string();
    }
    const auto kept = t.length(9);
    if (exact)
        CHECK(kept == 200);
    else
        CHECK((kept >= 200 && kept < 300));  // Redis trims whole nodes of up to 100
    auto read = t.run(t.store().read_events(9, {}, 1000));
    REQUIRE(read);
    REQUIRE(!read->empty());
    CHECK(read->back().session_id == newest);  // the oldest go, the newest stay
    // By age: after the retention, the next write drops the old ones.
    t.store().enable_events(settings(200, 1000ms));
    std::this_thread::sleep_for(1100ms);
    auto r = session::new_record(session::session_id{9, {0xFF, 0xFF}}, session::digest_secret(session::as_bytes("x")),
                                 {"many", "{}", {}, {}}, t.clock.now(), policy);
    REQUIRE(r);
    REQUIRE(t.run(t.store().create(*r, ref, policy, {"c"})));
    CHECK(t.length(9) <= (exact ? 1u : 101u));
}

TEST_CASE("events: the embedded store's logs keep their bounds", "[events]") {
    memory_target t;
    bounded(t, true);
}

TEST_CASE("events: Redis streams keep their bounds", "[events][redis]") {
    standalone_target t;
    bounded(t, false);
}

}  // namespace sessiond::test
