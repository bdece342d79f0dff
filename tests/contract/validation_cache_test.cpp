// The validation cache against real Redis, with two sessiond instances of
// one deployment where it matters: whatever changes a session — the other
// instance, an operator's DEL, FLUSHALL, Redis' own expiry, a SET — the
// cached record goes; a lost, restarted or frozen Redis never makes an
// instance vouch for what it can no longer know. Delays from a change to an
// instance refusing are printed (measured, asserted only against generous
// deadlines).

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cstdio>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/process.hpp"
#include "support/resp_client.hpp"
#include "support/timing.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct created_session {
    std::string token, id;
};

created_session create(contract_target& t, const std::string& user, const std::string& extra = "") {
    auto c = t.create(user, extra);
    REQUIRE(c.status == 201);
    return {str(c.json, "token"), std::string(session_of(c).at("id").as_string())};
}

// The Redis key of the session with public id `id`.
std::string session_key(resp_client& redis, const std::string& id) {
    for (const auto& k : redis.keys())
        if (k.ends_with(":s:" + id)) return k;
    FAIL("no key for session " << id);
    return {};
}

// Validates through `t` until the token is answered from the cache (the
// hits counter moves), so that what follows tests a cached entry.
void warm(contract_target& t, const std::string& token) {
    // A miss fills one I/O thread's cache; 503 only while a topology change
    // is under way (never a refusal).
    const bool cached = eventually(
        [&] {
            const auto before = metric(t, "sessiond_cache_hits_total");
            const int status = t.validate(token).status;
            REQUIRE((status == 200 || status == 503));
            return status == 200 && metric(t, "sessiond_cache_hits_total") > before;
        },
        20s, 10ms);
    REQUIRE(cached);
}

// Validates through `t` until it refuses the token; the time that took, or
// nullopt past the deadline. Every answer must be 200 or 401, or also 503
// with `unavailable_ok` (right after a topology change, a read may still meet
// a node that is catching up: retryable, and never an acceptance).
std::optional<clock_type::duration> refused_within(contract_target& t, const std::string& token,
                                                   clock_type::duration deadline = 5s, bool unavailable_ok = false) {
    const auto start = clock_type::now();
    while (clock_type::now() - start < deadline) {
        const auto r = t.validate(token);
        if (r.status == 401) return clock_type::now() - start;
        if (unavailable_ok && r.status == 503) continue;
        REQUIRE(r.status == 200);
    }
    return std::nullopt;
}

// A TCP relay to Redis for one sessiond that can hold back what Redis sends
// on its invalidation links (the connections that subscribe to
// __redis__:invalidate) while everything else flows: an invalidation
// deterministically on its way for as long as a test needs.
class link_relay {
public:
    explicit link_relay(unsigned short redis_port) : redis_port_(redis_port) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener_, 64) == 0);
        socklen_t n = sizeof a;
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &n) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~link_relay() {
        stop_ = true;
        thread_.join();
        for (auto& p : pairs_) {
            ::close(p.client);
            ::close(p.server);
        }
        ::close(listener_);
    }
    link_relay(const link_relay&) = delete;
    link_relay& operator=(const link_relay&) = delete;

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    // While held, Redis' bytes to the links wait in the relay (in order).
    void hold(bool on) { held_ = on; }
    int links() const { return links_; }

private:
    struct pair {
        int client = -1, server = -1;
        bool link = false;
        std::string from_client;  // what the client sent (until it is known to be a link)
        std::string pending;      // Redis' bytes held back for a link
    };

    static bool send_all(int fd, const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }

    void accept_one() {
        const int c = ::accept(listener_, nullptr, nullptr);
        if (c < 0) return;
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(redis_port_);
        if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(c);
            ::close(s);
            return;
        }
        pair p;
        p.client = c;
        p.server = s;
        pairs_.push_back(std::move(p));
    }

    void run() {
        char buf[65536];
        while (!stop_) {
            std::vector<pollfd> fds{{listener_, POLLIN, 0}};
            for (const auto& p : pairs_) {
                fds.push_back({p.client, POLLIN, 0});
                fds.push_back({p.server, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 10) <= 0) {
                flush();
                continue;
            }
            if (fds[0].revents & POLLIN) accept_one();
            std::vector<std::size_t> closed;
            for (std::size_t i = 0; i + 1 < fds.size() && i / 2 < pairs_.size(); i += 2) {
                auto& p = pairs_[i / 2];
                bool ok = true;
                if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
                    const auto n = ::recv(p.client, buf, sizeof buf, 0);
                    ok = n > 0 && send_all(p.server, std::string(buf, static_cast<std::size_t>(n)));
                    if (ok && !p.link) {
                        p.from_client.append(buf, static_cast<std::size_t>(n));
                        if (p.from_client.find("__redis__:invalidate") != std::string::npos) {
                            p.link = true;
                            ++links_;
                        }
                    }
                }
                if (ok && (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR))) {
                    const auto n = ::recv(p.server, buf, sizeof buf, 0);
                    ok = n > 0;
                    if (ok && p.link && held_) {
                        p.pending.append(buf, static_cast<std::size_t>(n));
                    } else if (ok) {
                        ok = send_all(p.client, p.pending + std::string(buf, static_cast<std::size_t>(n)));
                        p.pending.clear();
                    }
                }
                if (!ok) closed.push_back(i / 2);
            }
            for (auto it = closed.rbegin(); it != closed.rend(); ++it) {
                ::close(pairs_[*it].client);
                ::close(pairs_[*it].server);
                if (pairs_[*it].link) --links_;
                pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(*it));
            }
            flush();
        }
    }

    // Released: what was held goes first, in order.
    void flush() {
        if (held_) return;
        for (auto& p : pairs_)
            if (!p.pending.empty()) {
                send_all(p.client, p.pending);
                p.pending.clear();
            }
    }

    unsigned short redis_port_;
    unsigned short port_ = 0;
    int listener_ = -1;
    std::vector<pair> pairs_;
    std::atomic<bool> held_{false}, stop_{false};
    std::atomic<int> links_{0};
    std::thread thread_;
};

double us(clock_type::duration d) {
    return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

TEST_CASE("cache: a revocation through one instance is refused by the next validations through another", "[cache]") {
    auto store = GENERATE(as<std::string>{}, "redis", "sentinel", "cluster");
    INFO("store: " << store);
    contract_target a(store);
    contract_target b(a, {});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));

    std::vector<double> delays;
    for (int i = 0; i < 20; ++i) {
        const auto s = create(a, "cache-user-" + std::to_string(i));
        warm(b, s.token);
        REQUIRE(a.revoke(s.token).status == 204);
        const auto took = refused_within(b, s.token);
        REQUIRE(took);
        delays.push_back(us(*took));
    }
    std::sort(delays.begin(), delays.end());
    std::printf("%-9s revoke on A -> B refuses: p50 %.0f us, max %.0f us (20 revocations, incl. one request)\n",
                store.c_str(), delays[delays.size() / 2], delays.back());
    CHECK(metric(b, "sessiond_cache_invalidations_total") >= 20);
    CHECK(metric(b, "sessiond_cache_hits_total") >= 20);
    // A's own writes were timed to their invalidation.
    CHECK(metric(a, "sessiond_cache_invalidation_delay_seconds_count") >= 1);
}

TEST_CASE("cache: a \"not before\" set through one instance ends what another serves from its cache", "[cache]") {
    auto store = GENERATE(as<std::string>{}, "redis", "cluster");
    INFO("store: " << store);
    contract_target a(store);
    contract_target b(a, {});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    auto acme = a.create("dave", R"("tenant":"acme")");
    auto other = a.create("erin", R"("tenant":"other")");
    REQUIRE(acme.status == 201);
    REQUIRE(other.status == 201);
    const auto acme_token = str(acme.json, "token"), other_token = str(other.json, "token");
    warm(b, acme_token);
    warm(b, other_token);
    REQUIRE(a.call("POST", "/v1/not-before", test_keys::admin, R"({"tenant":"acme"})").status == 200);
    CHECK(refused_within(b, acme_token));
    CHECK(b.validate(other_token).status == 200);
    REQUIRE(a.call("POST", "/v1/not-before", test_keys::admin, "{}").status == 200);
    CHECK(refused_within(b, other_token));
}

TEST_CASE(
    "cache: a rotation on one instance: the other accepts the new token and metadata, refuses the old one "
    "after the grace",
    "[cache]") {
    contract_target a("redis", {"--rotation-grace", "1s"});
    contract_target b(a, {"--rotation-grace", "1s"});
    const auto s = create(a, "rotating", R"("metadata":{"plan":"free"})");
    warm(b, s.token);

    const auto rotating = clock_type::now();
    auto rotated = a.rotate(s.token, R"("metadata":{"plan":"pro"})");
    REQUIRE(rotated.status == 200);
    const auto next = str(rotated.json, "token");
    // B's cached record had the old secret: the new token is accepted once
    // the invalidation arrived, with the new metadata.
    REQUIRE(eventually([&] { return b.validate(next).status == 200; }, 5s, 1ms));
    auto seen = b.validate(next);
    REQUIRE(seen.status == 200);
    CHECK(session_of(seen).at("metadata").as_object().at("plan").as_string() == "pro");
    const auto previous = b.validate(s.token);
    if (within(rotating, 900ms)) CHECK(previous.status == 200);  // the previous token, within its grace

    std::this_thread::sleep_for(1200ms);  // the grace passes (measured from after the rotation's reply)
    auto reused = b.validate(s.token);
    CHECK(reused.status == 401);
    // A rotated token after its grace is taken as stolen: the whole session went.
    CHECK(b.validate(next).status == 401);
    CHECK(a.validate(next).status == 401);
}

TEST_CASE(
    "cache: a token rotated through one instance, presented to another whose invalidation is still on the way, "
    "is confirmed by Redis: valid, never a reuse",
    "[cache]") {
    contract_target a("redis");
    link_relay relay(a.redis()->port());
    // One I/O thread: the validation after warm() meets the entry warm() made.
    contract_target b(a, {"--redis-url", relay.url(), "--io-threads", "1"});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 1 && relay.links() >= 1; }, 20s));
    const auto s = create(a, "in-flight");
    warm(b, s.token);

    // B's link hears nothing from now on: its entry still holds the record of
    // before the rotation. Held for far less than the link's freshness bound
    // (a second), so B still serves from its cache meanwhile.
    relay.hold(true);
    auto rotated = a.rotate(s.token);
    REQUIRE(rotated.status == 200);
    const auto next = str(rotated.json, "token");
    const auto hits = metric(b, "sessiond_cache_hits_total");
    const auto seen = b.validate(next);
    const auto served_from_cache = metric(b, "sessiond_cache_hits_total") > hits;
    relay.hold(false);

    // The cached record refused the new token (to it, a token it does not
    // know: a reuse); Redis, asked again, knows it as the current one.
    CHECK(served_from_cache);
    CHECK(seen.status == 200);
    CHECK(b.validate(next).status == 200);
    CHECK(a.validate(next).status == 200);
    CHECK(metric(b, "sessiond_token_reuse_detected_total") == 0);
    CHECK_FALSE(b.daemon().proc().log().find("session.reuse_detected") != std::string::npos);
}

TEST_CASE("cache: a session changed behind sessiond's back (DEL, FLUSHALL, expiry, SET) is refused", "[cache]") {
    contract_target t("redis");
    resp_client redis(t.redis()->port());
    const auto invalidations = [&] { return metric(t, "sessiond_cache_invalidations_total"); };

    SECTION("DEL") {
        const auto s = create(t, "del");
        warm(t, s.token);
        REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
        const auto took = refused_within(t, s.token);
        REQUIRE(took);
        std::printf("DEL by another client -> refused after %.0f us\n", us(*took));
    }
    SECTION("FLUSHALL") {
        const auto s = create(t, "flushall");
        warm(t, s.token);
        const auto flushes = metric(t, "sessiond_cache_flushes_total");
        REQUIRE(redis.command({"FLUSHALL"}).str == "OK");
        REQUIRE(refused_within(t, s.token));
        CHECK(metric(t, "sessiond_cache_flushes_total") > flushes);
    }
    SECTION("expired by Redis") {
        const auto s = create(t, "expiry");
        warm(t, s.token);
        const auto before = invalidations();
        // Redis' expiry, not the record's: the cached record alone would
        // still say the session lives.
        REQUIRE(redis.command({"PEXPIRE", session_key(redis, s.id), "50"}).num == 1);
        REQUIRE(refused_within(t, s.token));
        CHECK(invalidations() > before);
    }
    SECTION("SET of another value") {
        const auto s = create(t, "set");
        const auto other = create(t, "set-other");
        warm(t, s.token);
        const auto value = redis.command({"GET", session_key(redis, other.id)});
        REQUIRE(value.kind == resp_value::bulk);
        // Another session's record under this key: sealed for another key,
        // it is no session.
        REQUIRE(redis.command({"SET", session_key(redis, s.id), value.str, "KEEPTTL"}).str == "OK");
        REQUIRE(refused_within(t, s.token));
        CHECK(t.validate(other.token).status == 200);
    }
}

TEST_CASE("cache: idle and absolute expiry hold for cached sessions", "[cache]") {
    contract_target t("redis", {"--touch-fraction", "0.9"});
    SECTION("idle") {
        const auto s = create(t, "idle", R"("idle_timeout":2)");
        warm(t, s.token);
        std::this_thread::sleep_for(2200ms);
        auto r = t.validate(s.token);
        CHECK(r.status == 401);
    }
    SECTION("absolute, however often it is validated") {
        const auto creating = clock_type::now();
        const auto s = create(t, "absolute", R"("absolute_timeout":2)");
        const auto created = clock_type::now();
        warm(t, s.token);
        while (clock_type::now() < creating + 1700ms) {
            const auto v = t.validate(s.token);
            if (!within(creating, 1900ms)) break;
            REQUIRE(v.status == 200);
            std::this_thread::sleep_for(100ms);  // paces the validations
        }
        std::this_thread::sleep_until(created + 2300ms);
        CHECK(t.validate(s.token).status == 401);
    }
}

TEST_CASE("cache: a due touch is written to Redis; validations within the touch window are served from the cache",
          "[cache]") {
    contract_target t("redis", {"--touch-fraction", "0.5"});
    resp_client redis(t.redis()->port());
    const auto creating = clock_type::now();
    const auto s = create(t, "toucher", R"("idle_timeout":4)");
    warm(t, s.token);
    const auto key = session_key(redis, s.id);
    const auto ttl_before = redis.command({"PTTL", key}).num;
    const auto hits = metric(t, "sessiond_cache_hits_total");
    const auto misses = metric(t, "sessiond_cache_misses_total");
    for (int i = 0; i < 10; ++i)
        REQUIRE(t.validate(s.token).status == 200);
    // Each I/O thread reads it once at most; the rest are hits, and no write
    // (judged if all that came before half the idle window, when a touch is due).
    const auto hit = metric(t, "sessiond_cache_hits_total") - hits;
    const auto missed = metric(t, "sessiond_cache_misses_total") - misses;
    const auto ttl_kept = redis.command({"PTTL", key}).num;
    if (within(creating, 1900ms)) {
        CHECK(hit >= 8);
        CHECK(missed <= 2);
        CHECK(ttl_kept <= ttl_before);
    }
    // Past half the idle window the next validation extends it in Redis
    // (judged only if it came before the idle deadline, and the PTTL soon
    // after it).
    std::this_thread::sleep_for(2200ms);
    const auto touching = clock_type::now();
    const auto touched = t.validate(s.token);
    const auto ttl_after = redis.command({"PTTL", key}).num;
    if (within(touching, 1100ms) && within(creating, 3900ms)) {
        REQUIRE(touched.status == 200);
        CHECK(ttl_after > ttl_before - 2200 + 1000);
    }
    // And the session lives past its first idle deadline.
    std::this_thread::sleep_for(2200ms);
    const auto later = t.validate(s.token);
    if (within(touching, 3900ms)) CHECK(later.status == 200);
}

TEST_CASE("cache: the invalidation link killed, Redis restarted, Redis frozen: never a stale acceptance",
          "[cache][outage]") {
    SECTION("CLIENT KILL of the invalidation links") {
        contract_target a("redis");
        contract_target b(a, {});
        resp_client redis(a.redis()->port());
        // Every link is up, so that CLIENT KILL below meets them whatever
        // the timing of the two starts.
        REQUIRE(eventually(
            [&] {
                return metric(a, "sessiond_cache_tracking_threads") == 2 &&
                       metric(b, "sessiond_cache_tracking_threads") == 2;
            },
            20s));
        const auto s = create(a, "killed-link");
        warm(b, s.token);
        const auto flushes = metric(b, "sessiond_cache_flushes_total");
        // Kill the links (subscribed connections) and delete the session
        // while they reconnect: no invalidation can reach B for it.
        REQUIRE(redis.command({"CLIENT", "KILL", "TYPE", "pubsub"}).num >= 2);
        REQUIRE(eventually([&] { return metric(b, "sessiond_cache_flushes_total") > flushes; }, 5s, 1ms));
        REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
        CHECK(b.validate(s.token).status == 401);
        // Tracking comes back, and with it the cache.
        REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 10s));
        const auto again = create(a, "killed-link-2");
        warm(b, again.token);
    }
    SECTION("Redis restarted (its data gone)") {
        contract_target t("redis", {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
        const auto s = create(t, "restart");
        warm(t, s.token);
        t.redis()->stop();
        // Down: nothing can be known, nothing is vouched for.
        for (int i = 0; i < 5; ++i)
            CHECK(t.validate(s.token).status == 503);
        t.redis()->start();
        // The first answer that is not 503 is the refusal.
        int answered = 0;
        REQUIRE(eventually(
            [&] {
                answered = t.validate(s.token).status;
                return answered != 503;
            },
            20s, 20ms));
        CHECK(answered == 401);
    }
    SECTION("Redis frozen, a revocation sent meanwhile") {
        contract_target a("redis", {"--redis-command-timeout", "300ms"});
        contract_target b(a, {"--redis-command-timeout", "300ms"});
        const auto s = create(a, "frozen");
        warm(b, s.token);
        const auto key = [&] {
            resp_client redis(a.redis()->port());
            return session_key(redis, s.id);
        }();
        a.redis()->freeze();
        // Past the links' freshness bound, B no longer answers from the cache.
        std::this_thread::sleep_for(1500ms);
        CHECK(b.validate(s.token).status == 503);
        // Sent while frozen, executed when Redis resumes.
        std::atomic<bool> sending{false};
        auto deleted = std::async(std::launch::async, [&] {
            resp_client redis(a.redis()->port());  // the kernel accepts the connection
            sending = true;
            return redis.command({"DEL", key}).num;
        });
        REQUIRE(eventually([&] { return sending.load(); }, 5s));
        // The DEL is written to the socket right after; if the thaw came
        // first it would run on a live Redis, and what follows holds all
        // the same.
        a.redis()->thaw();
        REQUIRE(deleted.get() == 1);
        // B's connections may still be recovering from the freeze: 503 until then.
        const auto took = refused_within(b, s.token, 5s, true);
        REQUIRE(took);
        std::printf("frozen Redis resumed: B refuses %.0f us after the DEL was acknowledged\n", us(*took));
    }
}

TEST_CASE("cache: off, every validation reads Redis", "[cache]") {
    contract_target t("redis", {"--cache", "false"});
    const auto s = create(t, "uncached");
    for (int i = 0; i < 5; ++i)
        REQUIRE(t.validate(s.token).status == 200);
    CHECK(metric(t, "sessiond_cache_hits_total") == 0);
    CHECK(metric(t, "sessiond_cache_tracking_threads") == 0);
    resp_client redis(t.redis()->port());
    REQUIRE(redis.command({"DEL", session_key(redis, s.id)}).num == 1);
    CHECK(t.validate(s.token).status == 401);
}

TEST_CASE("cache: a Sentinel failover drops every entry; what changes after it is seen", "[cache][sentinel]") {
    sentinel_setup s;
    const std::vector<std::string> args{
        "--redis-url", s.url(), "--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"};
    contract_target a("sentinel", args);
    contract_target b(a, {"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"});
    const auto before = create(a, "failover");
    warm(b, before.token);
    const auto flushes = metric(b, "sessiond_cache_flushes_total");

    const auto old_master = s.master_port();
    s.failover();
    s.wait_for_new_master(old_master, 30s);
    // Each I/O thread of B follows the new primary and drops its entries.
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_flushes_total") >= flushes + 2; }, 30s, 10ms));
    REQUIRE(eventually([&] { return a.revoke(before.token).status == 204; }, 30s, 20ms));
    const auto took = refused_within(b, before.token, 5s, true);
    REQUIRE(took);
    std::printf("after a Sentinel failover: B refuses a revocation through A after %.0f us\n", us(*took));
    // Tracking follows the new primary: the cache serves again.
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 30s));
    const auto after = create(a, "failover-after");
    warm(b, after.token);
}

TEST_CASE("cache: a Cluster slot moved or failed over drops every entry; what changes after it is seen",
          "[cache][cluster]") {
    cluster_setup c;
    const std::vector<std::string> timeouts{"--redis-command-timeout", "300ms", "--redis-connect-timeout", "300ms"};
    auto args = timeouts;
    args.insert(args.begin(), {"--redis-url", c.url()});
    contract_target a("cluster", args);
    contract_target b(a, timeouts);
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    const auto s = create(a, "cluster-cached");
    const int slot = c.slot_of("{" + bucket_of(s.id) + "}");
    const auto owner = c.owner_of_slot(slot);
    warm(b, s.token);
    const auto flushes = metric(b, "sessiond_cache_flushes_total");

    SECTION("the session's slot migrated to another primary") {
        unsigned short to = 0;
        for (int other : {0, 5500, 11000, 16383})
            if (c.owner_of_slot(other) != owner) to = c.owner_of_slot(other);
        REQUIRE(to != 0);
        c.migrate_slot(slot, to);
        REQUIRE(c.owner_of_slot(slot) == to);
    }
    SECTION("the session's primary failed over to its replica") {
        c.manual_failover(c.replica_of(owner));
        REQUIRE(c.owner_of_slot(slot) != owner);
    }
    // B learns of the change (a MOVED, or its periodic refresh) and drops
    // everything; the session itself lives on (503 only while a failover
    // is under way, never a refusal).
    REQUIRE(eventually(
        [&] {
            const int status = b.validate(s.token).status;
            CHECK((status == 200 || status == 503));
            return metric(b, "sessiond_cache_flushes_total") > flushes;
        },
        20s, 20ms));
    REQUIRE(eventually([&] { return b.validate(s.token).status == 200; }, 20s, 20ms));
    warm(b, s.token);  // cached again, from the slot's new primary
    REQUIRE(eventually([&] { return a.revoke(s.token).status == 204; }, 20s, 20ms));
    const auto took = refused_within(b, s.token, 5s, true);
    REQUIRE(took);
    std::printf("cluster change: B refuses a revocation through A after %.0f us\n", us(*took));
}

// A Cluster promotes a replica by itself, and the old primary lives on as a
// replica that still answers the link's PINGs: an instance that followed
// the primaries only would serve its cache until it next read the slot map
// while writes went to the new primary. So every I/O thread links to every
// live member, replicas included, before the cache serves anything.
TEST_CASE("cache: on a Cluster every I/O thread has an invalidation link to every member, replicas included",
          "[cache][cluster]") {
    cluster_setup c;
    contract_target a("cluster", {"--redis-url", c.url(), "--io-threads", "2"});
    REQUIRE(eventually([&] { return metric(a, "sessiond_cache_tracking_threads") == 2; }, 20s));
    // A tracking client of sessiond: CLIENT TRACKING (flag t) redirected to
    // its own subscribed connection (redir=<id>).
    auto links_on = [&](unsigned short port) {
        int n = 0;
        std::istringstream lines(c.cli(port, {"CLIENT", "LIST"}));
        for (std::string line; std::getline(lines, line);) {
            const auto flags = line.find(" flags=");
            const auto redir = line.find(" redir=");
            if (flags == std::string::npos || redir == std::string::npos) continue;
            const auto f = line.substr(flags + 7, line.find(' ', flags + 7) - flags - 7);
            if (f.find('t') != std::string::npos && line.compare(redir, 10, " redir=-1 ") != 0) ++n;
        }
        return n;
    };
    for (auto port : c.ports()) {
        INFO("node 127.0.0.1:" << port << " (" << c.cli(port, {"ROLE"}).substr(0, 6) << ")");
        CHECK(eventually([&] { return links_on(port) == 2; }, 10s));
    }
}

TEST_CASE("cache: during a scale-out, a session answered through ASK by a new node is not served stale",
          "[cache][cluster]") {
    // A new, empty primary joins; the session's slot starts moving to it and
    // its key moves: every read of it is answered through ASK by the new
    // node, which owns no slot yet. A revocation through A, there, must be
    // refused by B as promptly as anywhere else, the migration left open.
    cluster_setup c;
    const std::vector<std::string> timeouts{"--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"};
    auto args = timeouts;
    args.insert(args.begin(), {"--redis-url", c.url()});
    contract_target a("cluster", args);
    // One I/O thread: one cache, so that the entry warmed is the one read
    // after the revocation.
    auto one_thread = timeouts;
    one_thread.insert(one_thread.end(), {"--io-threads", "1"});
    contract_target b(a, one_thread);
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 1; }, 20s));
    const auto s = create(a, "scale-out-cached");
    const int slot = c.slot_of("{" + bucket_of(s.id) + "}");
    const auto source = c.owner_of_slot(slot);

    const auto fresh = c.add_primary();
    c.begin_migration(slot, fresh);
    c.move_keys(slot, fresh);
    const auto asks = metric(b, "sessiond_redis_redirects_total{kind=\"ask\"}");
    // B reads the session through ASK from the new node until it serves it
    // from its cache (its links now include that node).
    warm(b, s.token);
    CHECK(metric(b, "sessiond_redis_redirects_total{kind=\"ask\"}") > asks);
    REQUIRE(c.owner_of_slot(slot) == source);  // still migrating

    REQUIRE(eventually([&] { return a.revoke(s.token).status == 204; }, 20s, 20ms));
    const auto took = refused_within(b, s.token, 5s, true);
    REQUIRE(took);
    std::printf("scale-out, slot migrating to an empty node: B refuses a revocation through A after %.0f us\n",
                us(*took));
    for (int i = 0; i < 5; ++i)
        CHECK(b.validate(s.token).status == 401);
    // Nothing through ASK is cached stale either after the move completes.
    c.finish_migration(slot, source, fresh);
    REQUIRE(c.owner_of_slot(slot) == fresh);
    CHECK(b.validate(s.token).status == 401);
    CHECK(a.validate(s.token).status == 401);
}
