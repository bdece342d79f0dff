// A Redis Cluster changing under load while two sessiond instances
// (validation cache on) validate, rotate and revoke sessions of the slots
// that change: scaled out (a fourth, empty primary joins and the slots move
// to it one by one), its invalidation links killed again and again, its
// primaries failed over. Every request is recorded with its send and answer
// times and the history is checked afterwards (support/history.hpp): no validation sent after a
// revocation was acknowledged answers 200 on either instance; no session the
// client did not revoke is ever refused or lost; no reuse revocation
// happens (the client only ever presents a session's current token). The
// largest delay from a revocation to another instance's refusal is printed.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis/cluster_map.hpp"
#include "support/contract_target.hpp"
#include "support/history.hpp"
#include "support/redis_topology.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
using clock_type = history::clock;

namespace {

struct tracked_session {
    int number = 0;
    std::string user;
    std::string token;
    bool gone = false;  // revoked, or its fate unknown
};

// One client thread: the sessions it owns, each used by it alone, so that
// the token it presents is always the session's current one. Its 20 ms
// sleeps are a caller's pause before retrying a 503: they pace the load and
// wait on nothing.
class client_thread {
public:
    client_thread(std::vector<contract_target*> instances, history& h, std::atomic<int>& numbers, int which)
        : instances_(std::move(instances)), h_(h), numbers_(numbers), which_(which) {}

    // A new session for `user`, through an instance chosen by `n`.
    void create(const std::string& user, std::size_t n) {
        for (int attempt = 0; attempt < 20; ++attempt) {
            const int instance = static_cast<int>((n + static_cast<std::size_t>(attempt)) % instances_.size());
            const int number = numbers_++;
            const auto sent = clock_type::now();
            auto r = instances_[static_cast<std::size_t>(instance)]->create(user);
            h_.record({history::kind::create, instance, number, sent, clock_type::now(), r.status, r.code()});
            if (r.status == 201) {
                sessions_.push_back({number, user, str(r.json, "token")});
                return;
            }
            // A create answered 503 may still have happened: that session is
            // never presented, so nothing is expected of it.
            std::this_thread::sleep_for(20ms);
        }
        FAIL("no session could be created for " << user);
    }

    void run(const std::atomic<bool>& stop) {
        std::size_t n = static_cast<std::size_t>(which_);
        while (!stop) {
            bool any = false;
            for (std::size_t i = 0; i < sessions_.size() && !stop; ++i) {
                if (sessions_[i].gone) continue;
                any = true;
                ++n;
                if (n % 23 == 0)
                    revoke(i, n);
                else if (n % 7 == 0)
                    rotate(sessions_[i], n);
                else
                    validate(sessions_[i], instance(n), false);
            }
            if (!any) return;
        }
    }

    // Every session still live validates on every instance (503 retried).
    void sweep() {
        for (auto& s : sessions_)
            for (int instance = 0; instance < static_cast<int>(instances_.size()) && !s.gone; ++instance)
                for (int attempt = 0; attempt < 100 && validate(s, instance, false) == 503; ++attempt)
                    std::this_thread::sleep_for(20ms);
    }

    std::vector<tracked_session>& sessions() { return sessions_; }

private:
    int instance(std::size_t n) const { return static_cast<int>(n % instances_.size()); }

    int validate(const tracked_session& s, int instance, bool probe) {
        const auto sent = clock_type::now();
        auto r = instances_[static_cast<std::size_t>(instance)]->validate(s.token);
        history::op o{history::kind::validate, instance, s.number, sent, clock_type::now(), r.status, r.code()};
        o.probe = probe;
        h_.record(std::move(o));
        return r.status;
    }

    // A rotation retried with its Idempotency-Key while it answers 503: the
    // retry gets the same new token if the first one was written.
    void rotate(tracked_session& s, std::size_t n) {
        const std::string key = "scale-out-" + std::to_string(s.number) + "-" + std::to_string(n);
        const std::string body = R"({"token":")" + s.token + R"("})";
        for (int attempt = 0; attempt < 10; ++attempt) {
            const int at = instance(n + static_cast<std::size_t>(attempt));
            const auto sent = clock_type::now();
            auto r = instances_[static_cast<std::size_t>(at)]->call("POST", "/v1/sessions/rotate", test_keys::all, body,
                                                                    {{"Idempotency-Key", key}});
            h_.record({history::kind::rotate, at, s.number, sent, clock_type::now(), r.status, r.code()});
            if (r.status == 200) {
                s.token = str(r.json, "token");
                return;
            }
            if (r.status != 503) return;  // a refusal: the history check names it
            std::this_thread::sleep_for(20ms);
        }
        s.gone = true;  // which token is current is not known
        h_.uncertain(s.number);
    }

    // Revocation (idempotent: retried while 503), then a validation through
    // the other instance right away, then a new session for the same user
    // (so the load stays on the slots that move).
    void revoke(std::size_t i, std::size_t n) {
        auto& s = sessions_[i];
        s.gone = true;
        int at = instance(n);
        for (int attempt = 0; attempt < 10; ++attempt, at = instance(n + static_cast<std::size_t>(attempt))) {
            const auto sent = clock_type::now();
            auto r = instances_[static_cast<std::size_t>(at)]->revoke(s.token);
            h_.record({history::kind::revoke, at, s.number, sent, clock_type::now(), r.status, r.code()});
            if (r.status == 204) {
                const int other = (at + 1) % static_cast<int>(instances_.size());
                validate(s, other, true);
                const std::string user = s.user;  // `s` may move as the vector grows
                create(user, n);
                return;
            }
            if (r.status != 503) return;
            std::this_thread::sleep_for(20ms);
        }
        h_.uncertain(s.number);
    }

    std::vector<contract_target*> instances_;
    history& h_;
    std::atomic<int>& numbers_;
    int which_;
    std::vector<tracked_session> sessions_;
};

// Runs the two client threads over `users` users' sessions (three each)
// on instances `a` and `b` while `disrupt` changes the deployment, then
// sweeps every live session on both instances and checks the history.
// Returns the verdict; prints it under `scenario`.
// `disrupt` may wait with `requests(n)` until the load has made n more
// requests (a half-moved slot hit meanwhile, say).
history::verdict run_history(
    const char* scenario, contract_target& a, contract_target& b, int users,
    const std::function<void(const std::set<int>& slots, const std::function<void(std::size_t)>& requests)>& disrupt) {
    history h;
    std::atomic<int> numbers{0};
    std::vector<std::unique_ptr<client_thread>> clients;
    for (int w = 0; w < 2; ++w)
        clients.push_back(std::make_unique<client_thread>(std::vector<contract_target*>{&a, &b}, h, numbers, w));
    // A user's sessions share a slot (the hash tag of the user's bucket).
    for (int u = 0; u < users; ++u)
        for (std::size_t k = 0; k < 3; ++k)
            clients[static_cast<std::size_t>(u) % 2]->create(std::string(scenario) + "-user-" + std::to_string(u), k);
    std::set<int> slots;
    for (auto& client : clients)
        for (const auto& s : client->sessions()) {
            auto v = a.validate(s.token);
            REQUIRE(v.status == 200);
            slots.insert(static_cast<int>(
                sessiond::redis::key_slot("{" + bucket_of(std::string(session_of(v).at("id").as_string())) + "}")));
        }

    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    // Stops and joins the load however this ends (a harness step that
    // throws included).
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~joiner() {
            stop = true;
            for (auto& t : threads)
                if (t.joinable()) t.join();
        }
    } join_all{stop, threads};
    for (auto& client : clients)
        threads.emplace_back([&, cl = client.get()] { cl->run(stop); });
    REQUIRE(eventually([&] { return h.size() >= 50; }, 20s));  // under load before the change
    const auto before = h.size();
    disrupt(slots, [&h](std::size_t n) {
        const auto from = h.size();
        CHECK(eventually([&] { return h.size() >= from + n; }, 20s));
    });
    const auto after = h.size();
    CHECK(eventually([&] { return h.size() >= after + 50; }, 20s));  // and after it
    stop = true;
    for (auto& t : threads)
        t.join();
    const auto during = h.size() - before;
    for (auto& client : clients)
        client->sweep();

    auto v = h.check();
    std::string statuses;
    for (const auto& [status, count] : v.statuses)
        statuses += " " + std::to_string(status) + "x" + std::to_string(count);
    std::printf(
        "history, %s: %zu requests (%zu during the change), statuses%s; %zu revocations acknowledged, %zu probed on "
        "the other instance, largest revoke-to-refusal delay %.1f ms, %zu violations\n",
        scenario, h.size(), during, statuses.c_str(), v.revocations, v.probes,
        std::chrono::duration<double, std::milli>(v.max_revoke_to_refusal).count(), v.violations.size());
    for (std::size_t i = 0; i < v.violations.size() && i < 20; ++i)
        UNSCOPED_INFO(v.violations[i]);
    CHECK(v.violations.empty());
    CHECK(during > 50);  // the load ran through the change
    CHECK(v.probes > 0);
    // The client never presented a superseded token: no reuse was detected.
    CHECK(metric(a, "sessiond_token_reuse_detected_total") == 0);
    CHECK(metric(b, "sessiond_token_reuse_detected_total") == 0);
    return v;
}

std::vector<std::string> cluster_args(const cluster_setup& c, std::vector<std::string> more = {}) {
    std::vector<std::string> args{
        "--redis-url", c.url(), "--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

long long redirects(contract_target& t) {
    return metric(t, "sessiond_redis_redirects_total{kind=\"ask\"}") +
           metric(t, "sessiond_redis_redirects_total{kind=\"moved\"}");
}

}  // namespace

TEST_CASE(
    "Cluster scale-out under load: slots move to a new primary while two cached instances validate, rotate and "
    "revoke; the recorded history holds",
    "[redis][cluster][migration][history]") {
    cluster_setup c;
    contract_target a("cluster", cluster_args(c));
    contract_target b(a, {"--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"});
    REQUIRE(eventually([&] { return metric(a, "sessiond_cache_tracking_threads") == 2; }, 20s));
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    const auto fresh = c.add_primary();
    std::size_t half_moved = 0;
    std::set<int> moved;
    run_history("cluster scale-out (8 users' slots to a new primary)", a, b, 8,
                [&](const std::set<int>& slots, const std::function<void(std::size_t)>& requests) {
                    for (int slot : slots) {
                        // Half-moved while the load makes 100 requests (about
                        // four on each session: the slot's are hit).
                        c.migrate_slot(slot, fresh, [&] { requests(100); });
                        ++half_moved;
                    }
                    moved = slots;
                });
    for (int slot : moved)
        CHECK(c.owner_of_slot(slot) == fresh);
    CHECK(half_moved == moved.size());
    CHECK(redirects(a) + redirects(b) > 0);
}

TEST_CASE("Cluster under load: the invalidation links killed again and again; the recorded history holds",
          "[redis][cluster][history]") {
    cluster_setup c;
    contract_target a("cluster", cluster_args(c));
    contract_target b(a, {"--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    const auto flushes = metric(b, "sessiond_cache_flushes_total");
    run_history("cluster, invalidation links killed 10 times", a, b, 6,
                [&](const std::set<int>&, const std::function<void(std::size_t)>&) {
                    for (int round = 0; round < 10; ++round) {
                        for (auto port : c.ports())
                            c.cli(port, {"CLIENT", "KILL", "TYPE", "pubsub"});
                        std::this_thread::sleep_for(150ms);  // the fault's pace: real time between kills
                    }
                });
    CHECK(metric(b, "sessiond_cache_flushes_total") > flushes);
}

// After CLUSTER FAILOVER the old primary lives on as a replica, still
// answering the invalidation links' PINGs, while writes go to the promoted
// replica; an instance serving cache hits sends nothing to Redis, so no
// MOVED tells it. It holds because every I/O thread links to every live
// member, replicas included (router::tracked()); when the links followed
// the primaries only, one run in two to four found a probe answered 200
// after a revocation acknowledged through the other instance.
TEST_CASE("Cluster under load: primaries failed over by hand; the recorded history holds",
          "[redis][cluster][history]") {
    cluster_setup c;
    contract_target a("cluster", cluster_args(c));
    contract_target b(a, {"--redis-command-timeout", "1000ms", "--redis-connect-timeout", "1000ms"});
    REQUIRE(eventually([&] { return metric(b, "sessiond_cache_tracking_threads") == 2; }, 20s));
    run_history("cluster, the sessions' primaries failed over (CLUSTER FAILOVER)", a, b, 6,
                [&](const std::set<int>& slots, const std::function<void(std::size_t)>&) {
                    std::set<unsigned short> owners;
                    for (int slot : slots)
                        owners.insert(c.owner_of_slot(slot));
                    for (auto owner : owners)
                        c.manual_failover(c.replica_of(owner));
                    for (int slot : slots)
                        CHECK(owners.count(c.owner_of_slot(slot)) == 0);
                });
}
