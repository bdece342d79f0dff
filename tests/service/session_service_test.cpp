// The session service without HTTP: the embedded store, a fake clock, and a
// store wrapper that makes writes lose or fail on demand.

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <exception>
#include <optional>

#include "common/error.hpp"
#include "service/service_metrics.hpp"
#include "service/assertions.hpp"
#include "service/session_service.hpp"
#include "session/errc.hpp"
#include "store/memory_store.hpp"
#include "support/result_string.hpp"

using namespace sessiond;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using session::session_record;

namespace {

// The embedded store, with the next `lose_replaces` compare-and-sets
// reported as lost to a concurrent write and every removal failing while
// `fail_removals` is set. While `stale` holds a record, get_cached()
// answers with it, as a validation cache whose invalidation is still on the
// way would; get() always reads the store, and counts its reads.
class flaky_store final : public store::session_store {
public:
    flaky_store(asio::io_context& ioc, const session::clock& clock) : inner_(ioc, clock, 100000) {}

    int lose_replaces = 0;
    bool fail_removals = false;
    std::optional<session_record> stale;
    int cached_reads = 0, store_reads = 0;

    asio::awaitable<store::result<store::created>> create(const session_record& r, const store::user_ref& u,
                                                          const session::policy& p,
                                                          store::event_note note = {}) override {
        return inner_.create(r, u, p, note);
    }
    asio::awaitable<store::result<std::optional<session_record>>> get(const session::session_id& id) override {
        ++store_reads;
        return inner_.get(id);
    }
    asio::awaitable<store::result<std::optional<session_record>>> get_cached(const session::session_id& id) override {
        ++cached_reads;
        if (stale && stale->id == id) co_return std::optional<session_record>(*stale);
        ++store_reads;
        co_return co_await inner_.get(id);
    }
    asio::awaitable<store::result<std::shared_ptr<const session::not_before>>> not_before() override {
        return inner_.not_before();
    }
    asio::awaitable<store::result<void>> set_not_before(std::string_view tenant, session::timestamp at,
                                                        store::event_note note = {}) override {
        return inner_.set_not_before(tenant, at, note);
    }
    asio::awaitable<store::result<void>> set_user_not_before(const store::user_ref& u, session::timestamp at,
                                                             session::timestamp until,
                                                             store::event_note note = {}) override {
        return inner_.set_user_not_before(u, at, until, note);
    }
    void enable_events(store::event_settings settings) override { inner_.enable_events(std::move(settings)); }
    asio::awaitable<store::result<std::vector<session::event>>> read_events(std::uint32_t stream,
                                                                            session::event_position after,
                                                                            std::size_t limit) override {
        return inner_.read_events(stream, after, limit);
    }
    asio::awaitable<store::result<std::vector<session::event>>> read_all_events(store::event_cursor& cursor,
                                                                                std::size_t limit) override {
        return inner_.read_all_events(cursor, limit);
    }
    asio::awaitable<store::result<bool>> acquire_webhook_lease(std::string_view e, std::string_view t,
                                                               std::chrono::milliseconds ttl) override {
        return inner_.acquire_webhook_lease(e, t, ttl);
    }
    asio::awaitable<store::result<bool>> renew_webhook_lease(std::string_view e, std::string_view t,
                                                             std::chrono::milliseconds ttl) override {
        return inner_.renew_webhook_lease(e, t, ttl);
    }
    asio::awaitable<store::result<void>> release_webhook_lease(std::string_view e, std::string_view t) override {
        return inner_.release_webhook_lease(e, t);
    }
    asio::awaitable<store::result<store::webhook_progress>> load_webhook_progress(std::string_view e) override {
        return inner_.load_webhook_progress(e);
    }
    asio::awaitable<store::result<bool>> save_webhook_progress(
        std::string_view e, std::string_view t,
        const std::vector<std::pair<std::uint32_t, session::event_position>>& changed) override {
        return inner_.save_webhook_progress(e, t, changed);
    }
    asio::awaitable<store::result<std::optional<session::timestamp>>> user_not_before(
        const store::user_ref& u) override {
        return inner_.user_not_before(u);
    }
    std::vector<std::chrono::milliseconds> claims;  // the mark lifetimes asked for
    asio::awaitable<store::result<bool>> claim_once(std::string_view name, std::chrono::milliseconds ttl) override {
        claims.push_back(ttl);
        return inner_.claim_once(name, ttl);
    }
    asio::awaitable<store::result<bool>> replace(const session_record& expected, const session_record& next,
                                                 const store::user_ref& u, store::event_note note = {}) override {
        if (lose_replaces > 0) {
            --lose_replaces;
            co_return false;
        }
        co_return co_await inner_.replace(expected, next, u, note);
    }
    asio::awaitable<store::result<std::optional<session_record>>> remove(const session::session_id& id,
                                                                         const store::user_ref& u,
                                                                         store::event_note note = {}) override {
        if (fail_removals) co_return sessiond::error::store_unavailable;
        co_return co_await inner_.remove(id, u, note);
    }
    asio::awaitable<store::result<store::user_page>> list_user(const store::user_ref& u,
                                                               std::optional<store::user_cursor> after,
                                                               std::size_t limit) override {
        return inner_.list_user(u, after, limit);
    }
    // Batches of the user's sessions go as in the memory store until
    // `fail_user_batches_after` batches have gone; then the store fails.
    std::optional<int> fail_user_batches_after;
    asio::awaitable<store::result<store::user_removal>> remove_user(const store::user_ref& u,
                                                                    std::optional<session::session_id> except,
                                                                    std::optional<store::user_cursor> after,
                                                                    store::event_note note = {}) override {
        if (fail_user_batches_after && (*fail_user_batches_after)-- <= 0) co_return sessiond::error::store_unavailable;
        co_return co_await inner_.remove_user(u, except, after, note);
    }
    bool ready() const override { return true; }
    asio::awaitable<store::result<void>> add_provider_session(const store::provider_ref& ref,
                                                              const session::session_id& id,
                                                              session::timestamp until) override {
        return inner_.add_provider_session(ref, id, until);
    }
    asio::awaitable<store::result<std::vector<session::session_id>>> provider_sessions(
        const store::provider_ref& ref) override {
        return inner_.provider_sessions(ref);
    }
    asio::awaitable<store::result<void>> remove_provider_sessions(
        const store::provider_ref& ref, const std::vector<session::session_id>& ids) override {
        return inner_.remove_provider_sessions(ref, ids);
    }

private:
    store::memory_store inner_;
};

struct fixture {
    asio::io_context ioc;
    session::fake_clock clock;
    flaky_store store{ioc, clock};
    session::policy policy = [] {
        session::policy p;
        p.idle_timeout = 10min;
        p.absolute_timeout = 2h;
        p.rotation_grace = 10s;
        p.touch_fraction = 0.5;
        return p;
    }();
    service::session_service sessions{store,
                                      std::make_shared<const session::keyring>(session::keyring::make_ephemeral()),
                                      session::token_codec(), clock, policy};
    const service::actor who{"test", "req-1"};

    // The embedded store completes without waiting: one run() finishes any call.
    template <class T>
    T run(asio::awaitable<T> op) {
        std::optional<T> out;
        asio::co_spawn(
            ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); },
            [](const std::exception_ptr& e) {
                if (e) std::rethrow_exception(e);
            });
        ioc.restart();
        ioc.run();
        REQUIRE(out);
        return std::move(*out);
    }

    service::issued_session create(const std::string& user = "alice") {
        auto created = run(sessions.create({user, std::nullopt, std::nullopt, std::nullopt}, who));
        REQUIRE(created);
        return std::move(*created);
    }

    service::result<session_record> validate(const std::string& token, bool touch = true) {
        return run(sessions.validate(token, {touch, std::nullopt}, who));
    }
};

}  // namespace

TEST_CASE("create, validate, rotate and revoke through the service") {
    fixture f;
    auto s = f.create();
    CHECK(s.session.user_id == "alice");
    CHECK(s.session.metadata == "{}");
    CHECK(s.session.expires_at == f.clock.now() + 2h);

    auto v = f.validate(s.token);
    REQUIRE(v);
    CHECK(v->id == s.session.id);

    f.clock.advance(1s);
    auto r = f.run(f.sessions.rotate(s.token, {true, std::string(R"({"k":1})"), std::nullopt}, f.who));
    REQUIRE(r);
    CHECK(r->session.id == s.session.id);
    CHECK(r->token != s.token);
    CHECK(r->session.metadata == R"({"k":1})");
    CHECK(r->session.authenticated_at == f.clock.now());
    // The old token still validates within the grace, but cannot rotate.
    CHECK(f.validate(s.token));
    CHECK(f.run(f.sessions.rotate(s.token, {}, f.who)).error() == service::errc::not_current);

    REQUIRE(f.run(f.sessions.revoke(r->token, f.who)));
    CHECK(f.validate(r->token).error() == service::errc::unknown_session);
    // Revoking again is fine; a token sessiond did not issue is not.
    CHECK(f.run(f.sessions.revoke(r->token, f.who)));
    CHECK(f.run(f.sessions.revoke("sid_garbage", f.who)).error() == session::errc::malformed_token);
}

TEST_CASE("validation refuses what the rules refuse, with the reason") {
    fixture f;
    CHECK(f.validate("").error() == service::errc::no_token);
    CHECK(f.validate("sid_" + std::string(91, 'A')).error().category() == session::session_category());

    auto s = f.create();
    auto old_auth = f.run(f.sessions.validate(s.token, {true, std::chrono::milliseconds(5min)}, f.who));
    CHECK(old_auth);
    f.clock.advance(6min);
    auto stale = f.run(f.sessions.validate(s.token, {false, std::chrono::milliseconds(5min)}, f.who));
    CHECK(stale.error() == service::errc::reauthentication_required);

    f.clock.advance(11min);  // past the idle timeout
    CHECK(f.validate(s.token).error() == service::errc::unknown_session);
}

TEST_CASE("a touch is written only once due, and reading it back shows the extension") {
    fixture f;
    auto s = f.create();
    const auto first_expiry = s.session.idle_expires_at;
    f.clock.advance(4min);  // before half of the idle window
    auto early = f.validate(s.token);
    REQUIRE(early);
    CHECK(early->idle_expires_at == first_expiry);

    f.clock.advance(2min);  // past half: due
    auto due = f.validate(s.token);
    REQUIRE(due);
    CHECK(due->idle_expires_at == f.clock.now() + 10min);
    auto again = f.validate(s.token, false);
    REQUIRE(again);
    CHECK(again->idle_expires_at == f.clock.now() + 10min);
}

TEST_CASE("a due touch that loses every compare-and-set still validates, and is counted as skipped") {
    fixture f;
    auto s = f.create();
    f.clock.advance(6min);
    const auto skipped = metrics::touches_skipped.local().get();
    f.store.lose_replaces = 10;
    auto v = f.validate(s.token);
    REQUIRE(v);
    CHECK(v->idle_expires_at == s.session.idle_expires_at);  // not extended
    CHECK(f.store.lose_replaces == 8);                       // two writes tried, the third attempt skipped it
    CHECK(metrics::touches_skipped.local().get() == skipped + 1);

    // A rotation tries harder (eight attempts, pausing between them); one
    // that loses every attempt is a retryable conflict, never a dead session.
    const auto conflicts = metrics::rotation_conflicts.local().get();
    f.store.lose_replaces = 20;
    CHECK(f.run(f.sessions.rotate(s.token, {}, f.who)).error() == service::errc::concurrent_change);
    CHECK(f.store.lose_replaces == 12);
    CHECK(metrics::rotation_conflicts.local().get() == conflicts + 8);
    f.store.lose_replaces = 7;
    CHECK(f.run(f.sessions.rotate(s.token, {}, f.who)));

    auto listed = f.run(f.sessions.list_user("alice", std::nullopt, 100));
    REQUIRE(listed);
    REQUIRE(listed->sessions.size() == 1);
    CHECK(listed->sessions.front().rotated_at == f.clock.now());
}

TEST_CASE("a rotated token after its grace revokes the session; a failed revocation is counted") {
    fixture f;
    auto s = f.create();
    auto r = f.run(f.sessions.rotate(s.token, {}, f.who));
    REQUIRE(r);
    f.clock.advance(11s);

    const auto failed = metrics::reuse_revocations_failed.local().get();
    f.store.fail_removals = true;
    CHECK(f.validate(s.token).error() == service::errc::reuse_detected);
    CHECK(metrics::reuse_revocations_failed.local().get() == failed + 1);
    CHECK(f.validate(r->token));  // the removal failed: the session lives on

    f.store.fail_removals = false;
    const auto reused = metrics::reuse_detected.local().get();
    CHECK(f.run(f.sessions.rotate(s.token, {}, f.who)).error() == service::errc::reuse_detected);
    CHECK(metrics::reuse_detected.local().get() == reused + 1);
    CHECK(f.validate(r->token).error() == service::errc::unknown_session);
}

TEST_CASE("a cached record that refuses is read again from the store, which alone decides") {
    fixture f;
    auto s = f.create();
    const auto reused = metrics::reuse_detected.local().get();

    SECTION("a token rotated through another instance, its invalidation still on the way") {
        // The cache still holds the record of before the rotation: the new
        // token's secret is neither its current nor its previous one.
        f.store.stale = s.session;
        auto r = f.run(f.sessions.rotate(s.token, {}, f.who));
        REQUIRE(r);
        f.clock.advance(1ms);
        f.store.store_reads = f.store.cached_reads = 0;
        auto v = f.validate(r->token);
        REQUIRE(v);
        CHECK(v->secret_hash == r->session.secret_hash);
        CHECK(f.store.cached_reads == 1);
        CHECK(f.store.store_reads == 1);
        CHECK(metrics::reuse_detected.local().get() == reused);
        f.store.stale.reset();
        CHECK(f.validate(r->token));  // the session was not revoked
        CHECK(f.validate(s.token));   // and the previous token is within its grace
    }
    SECTION("a session touched through another instance: the cached record says expired") {
        f.clock.advance(6min);
        REQUIRE(f.validate(s.token));  // touched: idle expiry now + 10 min
        f.store.stale = s.session;     // idle expiry at creation + 10 min
        f.clock.advance(5min);
        auto v = f.validate(s.token);
        REQUIRE(v);
        CHECK(v->idle_expires_at > f.clock.now());
    }
    SECTION("a session reauthenticated through another instance: the cached record is too old") {
        auto first = f.run(f.sessions.rotate(s.token, {}, f.who));
        REQUIRE(first);
        f.store.stale = first->session;  // its token current, authenticated at creation
        f.clock.advance(6min);
        auto again = f.run(f.sessions.rotate(first->token, {true, std::nullopt, std::nullopt}, f.who));
        REQUIRE(again);
        // The first rotation's token, now the previous one, of a session
        // authenticated just now.
        auto v = f.run(f.sessions.validate(first->token, {false, std::chrono::milliseconds(5min)}, f.who));
        REQUIRE(v);
        CHECK(v->authenticated_at == f.clock.now());
    }
    SECTION("a refusal the store confirms stands: a reuse still revokes") {
        auto r = f.run(f.sessions.rotate(s.token, {}, f.who));
        REQUIRE(r);
        f.clock.advance(11s);
        f.store.stale = f.run(f.store.get(s.session.id)).value();  // current, as cached
        f.store.store_reads = 0;
        CHECK(f.validate(s.token).error() == service::errc::reuse_detected);
        CHECK(f.store.store_reads == 1);
        CHECK(metrics::reuse_detected.local().get() == reused + 1);
        f.store.stale.reset();
        CHECK(f.validate(r->token).error() == service::errc::unknown_session);
    }
}

TEST_CASE("administration by id and by user") {
    fixture f;
    auto a1 = f.create("alice");
    f.clock.advance(1ms);
    auto a2 = f.create("alice");
    f.clock.advance(1ms);
    auto a3 = f.create("alice");
    auto b = f.create("bob");

    auto listed = f.run(f.sessions.list_user("alice", std::nullopt, 100));
    REQUIRE(listed);
    REQUIRE(listed->sessions.size() == 3);
    CHECK(listed->sessions[0].id == a3.session.id);  // newest first
    CHECK(listed->sessions[2].id == a1.session.id);
    CHECK_FALSE(listed->next);

    auto got = f.run(f.sessions.get(a2.session.id));
    REQUIRE(got);
    CHECK(got->user_id == "alice");
    REQUIRE(f.run(f.sessions.revoke(a2.session.id, f.who)));
    CHECK(f.run(f.sessions.get(a2.session.id)).error() == service::errc::not_found);
    CHECK(f.run(f.sessions.revoke(a2.session.id, f.who)).error() == service::errc::not_found);

    auto removed = f.run(f.sessions.revoke_user("alice", a3.session.id, f.who));
    CHECK_FALSE(removed.failure);
    CHECK(removed.revoked == 1);
    CHECK(f.validate(a1.token).error() == service::errc::unknown_session);
    CHECK(f.validate(a3.token));
    CHECK(f.validate(b.token));
}

TEST_CASE("revoke-all goes in bounded batches and, when the store fails midway, says how many went") {
    fixture f;
    const std::size_t count = 2 * store::max_walk + 100;
    for (std::size_t i = 0; i < count; ++i)
        f.create("alice");
    auto bob = f.create("bob");
    const auto revoked_before = metrics::sessions_revoked.local().get();

    f.store.fail_user_batches_after = 1;
    auto partial = f.run(f.sessions.revoke_user("alice", std::nullopt, f.who));
    CHECK(partial.failure == sessiond::error::store_unavailable);
    CHECK(partial.revoked == store::max_removal);
    CHECK(metrics::sessions_revoked.local().get() == revoked_before + store::max_removal);

    // Repeating the request revokes the rest.
    f.store.fail_user_batches_after.reset();
    auto rest = f.run(f.sessions.revoke_user("alice", std::nullopt, f.who));
    CHECK_FALSE(rest.failure);
    CHECK(rest.revoked == count - store::max_removal);
    auto listed = f.run(f.sessions.list_user("alice", std::nullopt, service::max_page));
    REQUIRE(listed);
    CHECK(listed->sessions.empty());
    CHECK_FALSE(listed->next);
    CHECK(f.validate(bob.token));
}

TEST_CASE("a user's sessions come a page at a time, newest first within each page") {
    fixture f;
    std::vector<session::session_id> ids;
    for (int i = 0; i < 250; ++i) {
        ids.push_back(f.create("alice").session.id);
        f.clock.advance(1ms);
    }
    // Same timeouts for all: the stores' order (by deadline) is creation order.
    std::vector<session::session_id> walked;
    std::optional<service::user_cursor> after;
    int pages = 0;
    do {
        auto page = f.run(f.sessions.list_user("alice", after, 100));
        REQUIRE(page);
        REQUIRE(page->sessions.size() <= 100);
        for (std::size_t i = 1; i < page->sessions.size(); ++i)
            CHECK(page->sessions[i - 1].created_at > page->sessions[i].created_at);
        for (auto& r : page->sessions)
            walked.push_back(r.id);
        after = page->next;
        ++pages;
    } while (after && pages < 10);
    CHECK(pages == 3);
    std::sort(walked.begin(), walked.end());
    std::sort(ids.begin(), ids.end());
    CHECK(walked == ids);
    // A limit outside 1..max_page is clamped, not trusted.
    auto huge = f.run(f.sessions.list_user("alice", std::nullopt, 1'000'000));
    REQUIRE(huge);
    CHECK(huge->sessions.size() == 250);
    auto zero = f.run(f.sessions.list_user("alice", std::nullopt, 0));
    REQUIRE(zero);
    CHECK(zero->sessions.size() == 1);
}

TEST_CASE("creation input the policy refuses is a session error, and nothing is stored") {
    fixture f;
    auto too_long = f.run(f.sessions.create({"alice", std::nullopt, std::chrono::hours(48), std::nullopt}, f.who));
    CHECK(too_long.error() == session::errc::invalid_idle_timeout);
    auto listed = f.run(f.sessions.list_user("alice", std::nullopt, 100));
    REQUIRE(listed);
    CHECK(listed->sessions.empty());
}

TEST_CASE("a rotation retried with its idempotency key gets the token of the rotation already written") {
    fixture f;
    auto s = f.create();
    service::rotate_request request{false, std::nullopt, std::string("retry-key-1")};
    auto first = f.run(f.sessions.rotate(s.token, request, f.who));
    REQUIRE(first);
    // The answer was lost (or was a 503 after the write): the client retries
    // with its old token and the same key, within the grace.
    f.clock.advance(2s);
    const auto replayed = metrics::rotations_replayed.local().get();
    auto again = f.run(f.sessions.rotate(s.token, request, f.who));
    REQUIRE(again);
    CHECK(again->token == first->token);
    CHECK(again->session.version == first->session.version);  // nothing written
    CHECK(metrics::rotations_replayed.local().get() == replayed + 1);

    // Another key, or none, is not that rotation's retry.
    CHECK(f.run(f.sessions.rotate(s.token, {false, std::nullopt, std::string("other")}, f.who)).error() ==
          service::errc::not_current);
    CHECK(f.run(f.sessions.rotate(s.token, {}, f.who)).error() == service::errc::not_current);

    // After the grace the old token is a reuse, key or not: the session goes.
    f.clock.advance(10s);
    CHECK(f.run(f.sessions.rotate(s.token, request, f.who)).error() == service::errc::reuse_detected);
    CHECK(f.validate(first->token).error() == service::errc::unknown_session);
}

TEST_CASE("the same idempotency key on two rotations of a session gives two different tokens") {
    fixture f;
    auto s = f.create();
    service::rotate_request request{false, std::nullopt, std::string("k")};
    auto r1 = f.run(f.sessions.rotate(s.token, request, f.who));
    REQUIRE(r1);
    auto r2 = f.run(f.sessions.rotate(r1->token, request, f.who));
    REQUIRE(r2);
    CHECK(r2->token != r1->token);
    CHECK(f.validate(r2->token));
}

namespace {

// An assertion signer over a fresh Ed25519 key: assertion-ttl 60 s, assertion-max-ttl 300 s.
std::shared_ptr<const service::assertion_signer> test_signer() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    REQUIRE(key);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(key);
    service::assertion_settings settings;
    settings.issuer = "https://sessiond.test";
    settings.audiences = {"files"};
    return service::assertion_signer::make(settings, {{"a1", pem}}, "a1");
}

// The claims of a compact JWS, unverified.
boost::json::object claims_of(const std::string& jwt) {
    const auto first = jwt.find('.') + 1;
    auto bytes = session::base64url_decode(jwt.substr(first, jwt.find('.', first) - first));
    REQUIRE(bytes);
    return boost::json::parse(std::string(bytes->begin(), bytes->end())).as_object();
}

}  // namespace

TEST_CASE("a redeemed assertion stays used while any instance could accept it, whatever the redeemer's clock") {
    fixture f;
    const auto signer = test_signer();
    service::assertion_service assertions(f.sessions, f.store, signer);
    // Another instance of the deployment over the same store, whose clock runs 290 s ahead.
    session::fake_clock ahead(f.clock.now() + 290s);
    service::session_service sessions_ahead{
        f.store, std::make_shared<const session::keyring>(session::keyring::make_ephemeral()), session::token_codec(),
        ahead, f.policy};
    service::assertion_service assertions_ahead(sessions_ahead, f.store, signer);

    auto s = f.create();
    auto minted = f.run(assertions.mint({s.token, "files", std::chrono::seconds(300), {}}, f.who));
    REQUIRE(minted);
    CHECK(minted->expires_at == f.clock.now() + 300s);

    // By its own clock 10 s remain; it marks the jti all the same for the
    // longest lifetime any instance mints, and the skew allowance.
    f.clock.advance(1s);
    ahead.advance(1s);
    REQUIRE(f.run(assertions_ahead.redeem(minted->assertion, "files", f.who)));
    REQUIRE(f.store.claims.size() == 1);
    CHECK(f.store.claims[0] == 300s + service::single_use_skew);

    // 20 s later the correct instance, by whose clock it expires in 279 s, refuses it as used.
    f.clock.advance(20s);
    ahead.advance(20s);
    auto again = f.run(assertions.redeem(minted->assertion, "files", f.who));
    REQUIRE_FALSE(again);
    CHECK(again.error() == service::assertion_errc::used);

    // Past its exp plus the allowance the mark may go; the assertion is expired by then.
    f.clock.advance(300s);
    CHECK(f.run(assertions.redeem(minted->assertion, "files", f.who)).error() == service::assertion_errc::expired);
}

TEST_CASE("a redeemed assertion's mark lasts its whole remaining life past assertion-max-ttl, plus the allowance") {
    fixture f;
    const auto signer = test_signer();
    service::assertion_service assertions(f.sessions, f.store, signer);
    CHECK(service::single_use_mark(f.clock.now() + 1h, f.clock.now(), 300s) == 1h + service::single_use_skew);
    CHECK(service::single_use_mark(f.clock.now() - 5s, f.clock.now(), 300s) == 300s + service::single_use_skew);

    // Signed with the deployment's key but living longer than sessiond mints.
    auto s = f.create();
    auto minted = f.run(assertions.mint({s.token, "files", std::nullopt, {}}, f.who));
    REQUIRE(minted);
    auto claims = claims_of(minted->assertion);
    const auto now_s = std::chrono::floor<std::chrono::seconds>(f.clock.now()).time_since_epoch().count();
    auto with_exp = [&](std::int64_t exp, const char* jti) {
        auto c = claims;
        c["exp"] = exp;
        c["jti"] = jti;
        return signer->sign(boost::json::serialize(c));
    };
    REQUIRE(f.run(assertions.redeem(with_exp(now_s + 7200, "two-hours"), "files", f.who)));
    REQUIRE(f.store.claims.size() == 1);
    CHECK(f.store.claims[0] == 2h + service::single_use_skew);

    // Further ahead than any store keeps a mark: refused, and no store is asked.
    for (const std::int64_t exp : {now_s + 86400 + 1, std::int64_t{1} << 40, std::int64_t{1} << 62}) {
        INFO("exp " << exp);
        auto far = f.run(assertions.redeem(with_exp(exp, "far"), "files", f.who));
        REQUIRE_FALSE(far);
        CHECK(far.error() == service::assertion_errc::malformed);
    }
    CHECK(f.store.claims.size() == 1);
    REQUIRE(f.run(assertions.redeem(with_exp(now_s + 86400, "a-day"), "files", f.who)));
    CHECK(f.store.claims.back() == 24h + service::single_use_skew);
}
