// sessiond on Redis behind Sentinel and on a Redis Cluster, while the
// topology changes under a steady load: failovers forced and by a killed
// primary, a slot migrated by hand, durable writes through a failover, and
// two instances sharing one deployment. Every server is real, on free
// loopback ports. The unavailability windows are printed (measured, not
// asserted beyond generous deadlines).

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/redis_topology.hpp"
#include "support/steady_load.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

// Timeouts short enough that a dead node is given up on quickly.
std::vector<std::string> on(const std::string& url, std::vector<std::string> more = {}) {
    std::vector<std::string> args{"--redis-url", url, "--redis-command-timeout", "300ms", "--redis-connect-timeout",
                                  "300ms"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

bool recovered(contract_target& t) {
    return eventually(
        [&] {
            auto c = t.create("probe");
            return c.status == 201 && t.validate(str(c.json, "token")).status == 200;
        },
        30s, 20ms);
}

// A number of INFO's "name:value" lines (-1 if absent).
long long info_number(const std::string& info, const std::string& name) {
    const auto at = info.find("\n" + name + ":");
    return at == std::string::npos ? -1 : std::atoll(info.c_str() + at + name.size() + 2);
}

// Waits until the replica on `replica` has received everything its primary
// had been sent when this was called: its replication offset caught up.
template <class Setup>
bool caught_up(const Setup& s, unsigned short primary, unsigned short replica) {
    const auto sent = info_number(s.cli(primary, {"INFO", "replication"}), "master_repl_offset");
    auto received = [&] { return info_number(s.cli(replica, {"INFO", "replication"}), "slave_repl_offset"); };
    return sent >= 0 && eventually([&] { return received() >= sent; }, 10s, 20ms);
}

long long ms(std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// The load's answers while the topology changed: only successes and 503s
// (never a 401 for a live session, a 500, or no answer), and some successes.
void check_answers(steady_load& load, const char* what, std::chrono::steady_clock::duration took) {
    int ok = 0, unavailable = 0, other = 0;
    for (const auto& [status, count] : load.statuses()) {
        if (status == 200 || status == 201)
            ok += count;
        else if (status == 503)
            unavailable += count;
        else
            other += count;
        if (status != 200 && status != 201 && status != 503) UNSCOPED_INFO("status " << status << " x" << count);
    }
    std::printf("%-44s recovered in %5lld ms; callers saw failures for %5lld ms; %d ok, %d 503, %d other\n", what,
                ms(took), ms(load.failure_span()), ok, unavailable, other);
    CHECK(other == 0);
    CHECK(ok > 0);
    load.clear();
}

}  // namespace

TEST_CASE("Sentinel: a forced failover and a killed primary under load: 503s only in the window, no restart",
          "[redis][sentinel][failover]") {
    sentinel_setup s;
    contract_target t("sentinel", on(s.url()));
    steady_load load(t);
    // The load's sessions reach the replica.
    const auto master = s.master_port();
    for (auto port : s.data_ports())
        if (port != master) REQUIRE(caught_up(s, master, port));

    SECTION("SENTINEL FAILOVER") {
        const auto old = s.master_port();
        load.start();
        REQUIRE(load.served(20, 10s));  // served before the fault
        const auto began = std::chrono::steady_clock::now();
        s.failover();
        const auto now_master = s.wait_for_new_master(old, 30s);
        CHECK(now_master != old);
        const bool back = recovered(t);
        const auto took = std::chrono::steady_clock::now() - began;
        CHECK(load.served(20, 10s));  // and served again after it
        load.stop();
        CHECK(back);
        check_answers(load, "sentinel: SENTINEL FAILOVER", took);
    }
    SECTION("the primary killed (SIGKILL)") {
        const auto old = s.master_port();
        load.start();
        REQUIRE(load.served(20, 10s));  // served before the fault
        const auto began = std::chrono::steady_clock::now();
        s.kill_node(old);
        // Not ready while the primary is gone: /readyz follows the topology.
        CHECK(eventually([&] { return t.daemon().request("GET", "/readyz").status == 503; }, 5s));
        s.wait_for_new_master(old, 30s);
        const bool back = recovered(t);
        const auto took = std::chrono::steady_clock::now() - began;
        CHECK(eventually([&] { return t.daemon().request("GET", "/readyz").status == 200; }, 10s));
        CHECK(load.served(20, 10s));  // and served again after it
        load.stop();
        CHECK(back);
        check_answers(load, "sentinel: primary killed", took);
        // The sessions made before the failover are all there.
        for (const auto& token : load.tokens())
            CHECK(t.validate(token).status == 200);
    }
    CHECK(metric(t, "sessiond_redis_failovers_total") >= 2);  // each I/O thread saw it
    CHECK(t.daemon().proc().running());
}

TEST_CASE("Cluster: a manual failover and a killed primary under load: 503s only in the window, no restart",
          "[redis][cluster][failover]") {
    cluster_setup c;
    contract_target t("cluster", on(c.url()));
    steady_load load(t);
    // The load's sessions reach the replicas.
    for (auto port : c.ports())
        if (info_number(c.cli(port, {"INFO", "replication"}), "connected_slaves") > 0)
            REQUIRE(caught_up(c, port, c.replica_of(port)));

    SECTION("CLUSTER FAILOVER on a replica") {
        const auto primary = c.owner_of_slot(0);
        const auto replica = c.replica_of(primary);
        load.start();
        REQUIRE(load.served(20, 10s));  // served before the fault
        const auto began = std::chrono::steady_clock::now();
        c.manual_failover(replica);
        const bool back = recovered(t);
        const auto took = std::chrono::steady_clock::now() - began;
        CHECK(load.served(20, 10s));  // and served again after it
        load.stop();
        CHECK(back);
        CHECK(c.owner_of_slot(0) == replica);
        check_answers(load, "cluster: CLUSTER FAILOVER", took);
    }
    SECTION("a primary killed (SIGKILL)") {
        const auto primary = c.owner_of_slot(0);
        load.start();
        REQUIRE(load.served(20, 10s));  // served before the fault
        const auto began = std::chrono::steady_clock::now();
        c.kill_node(primary);
        CHECK(eventually([&] { return t.daemon().request("GET", "/readyz").status == 503; }, 5s));
        c.wait_until_ok(30s);
        const bool back = recovered(t);
        const auto took = std::chrono::steady_clock::now() - began;
        CHECK(eventually([&] { return t.daemon().request("GET", "/readyz").status == 200; }, 10s));
        CHECK(load.served(20, 10s));  // and served again after it
        load.stop();
        CHECK(back);
        check_answers(load, "cluster: primary killed", took);
        for (const auto& token : load.tokens())
            CHECK(t.validate(token).status == 200);
    }
    CHECK(metric(t, "sessiond_redis_topology_refreshes_total") > 0);
    CHECK(t.daemon().proc().running());
}

TEST_CASE(
    "Cluster: a slot migrated under load: its sessions validate, rotate and revoke throughout (beyond one retry of a "
    "503), none lost",
    "[redis][cluster][migration]") {
    cluster_setup c;
    // Every validation goes to Redis here (no validation cache): what is
    // tested is how the router follows the slot as it moves. The cache
    // across a migration: tests/contract/validation_cache_test.cpp.
    // No periodic refresh of the slot map: the router must learn of the move
    // from the redirects themselves (a periodic refresh landing right after
    // the move would let it skip them).
    contract_target t("cluster", on(c.url(), {"--cache", "false", "--redis-topology-refresh", "1h"}));
    // One user's sessions share a slot (the hash tag of the user's bucket).
    std::vector<std::string> tokens;
    for (int i = 0; i < 60; ++i) {
        auto made = t.create("mover");
        REQUIRE(made.status == 201);
        tokens.push_back(str(made.json, "token"));
    }
    int slot = -1;
    for (auto port : c.ports())
        for (std::string rest = c.cli(port, {"KEYS", "*:u:*"}); !rest.empty();) {
            auto nl = rest.find('\n');
            auto key = rest.substr(0, nl);
            rest = nl == std::string::npos ? "" : rest.substr(nl + 1);
            if (!key.empty()) slot = c.slot_of(key);
        }
    REQUIRE(slot >= 0);
    const auto from = c.owner_of_slot(slot);
    unsigned short to = 0;
    for (int probe = 0; probe < 16384 && to == 0; probe += 1000)
        if (auto owner = c.owner_of_slot(probe); owner != from) to = owner;
    REQUIRE(to != 0);

    // Validations, rotations and revocations of the slot's sessions, from
    // before the migration begins until after it ends.
    std::atomic<bool> stop{false};
    std::mutex m;
    std::map<int, int> seen;
    std::vector<std::string> live = tokens;
    std::set<std::string> revoked;
    int retried = 0;
    std::thread worker([&] {
        std::size_t n = 0;
        while (!stop) {
            std::string token;
            bool spare = false;  // sessions to spare for revocations: the load runs until stopped
            {
                std::lock_guard lock(m);
                token = live[n++ % live.size()];
                spare = live.size() > 30;
            }
            const int op = static_cast<int>(n % 5);
            const bool revoking = op == 1 && n % 50 == 1 && spare;
            const std::string body = R"({"token":")" + token + R"("})";
            const std::string key = "migration-" + std::to_string(n);
            // A caller retries a 503 once, as the API says (a rotation with
            // its Idempotency-Key): what reaches it beyond that retry counts.
            auto attempt = [&]() -> api_reply {
                if (op == 0)
                    return t.call("POST", "/v1/sessions/rotate", test_keys::all, body, {{"Idempotency-Key", key}});
                if (revoking) return t.revoke(token);
                return t.validate(token);
            };
            auto r = attempt();
            if (r.status == 503) {
                std::lock_guard lock(m);
                ++retried;
            }
            if (r.status == 503) r = attempt();
            if (op == 0 && r.status == 200) {
                std::lock_guard lock(m);
                std::replace(live.begin(), live.end(), token, str(r.json, "token"));
            } else if (revoking && r.status == 204) {
                std::lock_guard lock(m);
                live.erase(std::find(live.begin(), live.end(), token));
                revoked.insert(token);
            }
            std::lock_guard lock(m);
            ++seen[r.status];
        }
    });
    auto answered = [&] {
        std::lock_guard lock(m);
        int all = 0;
        for (const auto& [status, count] : seen)
            all += count;
        return all;
    };
    REQUIRE(eventually([&] { return answered() >= 20; }, 10s));  // under load before the migration
    int during = 0;
    c.migrate_slot(slot, to, [&] {
        const int before = answered();
        eventually([&] { return answered() >= before + 20; }, 10s);
        during = answered() - before;  // answers while the slot was half-moved
    });
    const int after = answered();
    CHECK(eventually([&] { return answered() >= after + 20; }, 10s));  // and after it
    stop = true;
    worker.join();
    CHECK(during > 0);

    CHECK(c.owner_of_slot(slot) == to);
    int ok = 0, other = 0;
    for (const auto& [status, count] : seen) {
        UNSCOPED_INFO("status " << status << " x" << count);
        (status == 200 || status == 204 ? ok : other) += count;
    }
    std::printf(
        "cluster: slot %d migrated under load: %d answers ok, %d other, %d retried once; %lld ASK, %lld MOVED "
        "followed\n",
        slot, ok, other, retried, static_cast<long long>(metric(t, "sessiond_redis_redirects_total{kind=\"ask\"}")),
        static_cast<long long>(metric(t, "sessiond_redis_redirects_total{kind=\"moved\"}")));
    CHECK(other == 0);
    CHECK(ok > 10);  // some load went through (few under sanitizers on a busy box)
    // The move was seen: a thread's map named the old owner, which redirected.
    CHECK(metric(t, "sessiond_redis_redirects_total{kind=\"moved\"}") +
              metric(t, "sessiond_redis_redirects_total{kind=\"ask\"}") >
          0);
    // No session lost, none resurrected.
    for (const auto& token : live)
        CHECK(t.validate(token).status == 200);
    for (const auto& token : revoked)
        CHECK(t.validate(token).status == 401);
}

TEST_CASE("durable writes: every acknowledged create and revocation survives a killed primary",
          "[redis][sentinel][durable]") {
    sentinel_setup s;
    contract_target t("sentinel", on(s.url(), {"--redis-wait-replicas", "1", "--redis-wait-timeout", "200ms"}));
    std::vector<std::string> kept, revoked;
    for (int i = 0; i < 200; ++i) {
        auto made = t.create("durable-" + std::to_string(i % 20));
        REQUIRE(made.status == 201);
        kept.push_back(str(made.json, "token"));
    }
    for (std::size_t i = 0; i < kept.size(); i += 2) {
        REQUIRE(t.revoke(kept[i]).status == 204);
        revoked.push_back(kept[i]);
    }
    // At once after the last acknowledgement: no time for anything else to
    // reach the replica.
    const auto old = s.master_port();
    s.kill_node(old);
    s.wait_for_new_master(old, 30s);
    REQUIRE(eventually([&] { return t.daemon().request("GET", "/readyz").status == 200; }, 30s));
    int lost = 0, resurrected = 0;
    for (std::size_t i = 1; i < kept.size(); i += 2)
        lost += t.validate(kept[i]).status != 200;
    for (const auto& token : revoked)
        resurrected += t.validate(token).status != 401;
    std::printf(
        "durable writes through a killed primary: %zu creates, %zu revocations acknowledged; %d lost, %d "
        "revocations undone\n",
        kept.size(), revoked.size(), lost, resurrected);
    CHECK(lost == 0);
    CHECK(resurrected == 0);

    // The new primary has no replica now: a write cannot be acknowledged,
    // and the caller is told so.
    auto refused = t.create("durable-alone");
    CHECK(refused.status == 503);
    CHECK(refused.code() == "store_unavailable");
    CHECK_THAT(str(refused.json, "detail"), Catch::Contains("replicas"));
    CHECK(metric(t, "sessiond_redis_writes_unacknowledged_total") >= 1);
    // A read needs no acknowledgement (it may wait behind the refused
    // write's WAIT on its connection, hence a few tries).
    CHECK(eventually([&] { return t.validate(kept[1]).status == 200; }, 10s, 50ms));
}

TEST_CASE("two instances on one Sentinel or Cluster deployment: a revocation through one is refused by the other",
          "[redis][sentinel][cluster]") {
    auto store = GENERATE(as<std::string>{}, "sentinel", "cluster");
    INFO("store: " << store);
    contract_target a(store);
    contract_target b(a, {});
    for (int i = 0; i < 10; ++i) {
        auto made = a.create("two-" + std::to_string(i));
        REQUIRE(made.status == 201);
        const auto token = str(made.json, "token");
        REQUIRE(b.validate(token).status == 200);
        REQUIRE(b.revoke(token).status == 204);
        CHECK(a.validate(token).status == 401);
    }
}
