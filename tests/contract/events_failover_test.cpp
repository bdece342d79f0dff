// Session events through a failover: with durable writes on, every change
// sessiond acknowledged before, during and after a primary is killed under
// load has its event, exactly once, on the primaries that hold the streams
// afterwards (a Sentinel deployment and a Cluster). The events are read
// with redis-cli from every primary, independently of sessiond's reader.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/redis_topology.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> durable_events_on(const std::string& url) {
    return {"--redis-url",
            url,
            "--redis-command-timeout",
            "300ms",
            "--redis-connect-timeout",
            "300ms",
            "--redis-wait-replicas",
            "1",
            "--redis-wait-timeout",
            "200ms",
            "--events",
            "true"};
}

// What sessiond acknowledged: the public ids of the sessions it answered a
// create for (201) and of those it answered a revocation for (204).
struct acknowledged {
    std::mutex m;
    std::vector<std::string> created, revoked;
    int unavailable = 0;

    std::size_t changes() {
        std::lock_guard lock(m);
        return created.size() + revoked.size();
    }
    std::size_t answers() {
        std::lock_guard lock(m);
        return created.size() + revoked.size() + static_cast<std::size_t>(unavailable);
    }
};

// Creates and revokes (every other session) until told to stop.
std::thread writer(contract_target& t, acknowledged& ack, std::atomic<bool>& stop) {
    return std::thread([&] {
        for (int i = 0; !stop; ++i) {
            auto made = t.create("ev-failover-" + std::to_string(i % 50));
            if (made.status != 201) {
                std::lock_guard lock(ack.m);
                ++ack.unavailable;
                continue;
            }
            const auto id = std::string(session_of(made).at("id").as_string());
            {
                std::lock_guard lock(ack.m);
                ack.created.push_back(id);
            }
            if (i % 2 != 0) continue;
            const auto gone = t.revoke(str(made.json, "token"));
            std::lock_guard lock(ack.m);
            if (gone.status == 204)
                ack.revoked.push_back(id);
            else
                ++ack.unavailable;
        }
    });
}

// session.created and session.revoked events by session id, read with
// redis-cli (--raw) from every node that says it is a primary. A session
// event's fields are t, s, u, i, c, r in that order (events.lua).
using event_counts = std::map<std::string, std::map<std::string, int>>;  // type -> id -> count

template <class Setup>
event_counts read_events(const Setup& s, const std::vector<unsigned short>& ports) {
    event_counts out;
    for (const auto port : ports) {
        if (s.cli(port, {"ROLE"}).rfind("master", 0) != 0) continue;  // a replica, or gone
        std::istringstream keys(s.cli(port, {"--scan", "--pattern", "*:ev"}));
        for (std::string key; std::getline(keys, key);) {
            if (key.empty()) continue;
            std::istringstream lines(s.cli(port, {"XRANGE", key, "-", "+"}));
            std::vector<std::string> items;
            for (std::string line; std::getline(lines, line);)
                items.push_back(line);
            for (std::size_t i = 0; i + 3 < items.size(); ++i)
                if (items[i] == "t" && items[i + 2] == "s") ++out[items[i + 1]][items[i + 3]];
        }
    }
    return out;
}

// Every acknowledged change has its event exactly once; prints the counts.
void check_events(acknowledged& ack, const event_counts& events, const char* where) {
    std::lock_guard lock(ack.m);
    int missing = 0, repeated = 0;
    auto check = [&](const std::vector<std::string>& ids, const std::string& type) {
        const auto found = events.find(type);
        for (const auto& id : ids) {
            const int n = found == events.end() || !found->second.contains(id) ? 0 : found->second.at(id);
            missing += n == 0;
            repeated += n > 1;
            if (n != 1) UNSCOPED_INFO(type << " of " << id << ": " << n << " events");
        }
    };
    check(ack.created, "session.created");
    check(ack.revoked, "session.revoked");
    std::printf(
        "events through a %s failover: %zu creates and %zu revocations acknowledged, %d not (503); "
        "%d events missing, %d repeated\n",
        where, ack.created.size(), ack.revoked.size(), ack.unavailable, missing, repeated);
    CHECK(ack.created.size() > 20);
    CHECK(missing == 0);
    CHECK(repeated == 0);
}

}  // namespace

TEST_CASE("events: a Sentinel failover under load loses no event of an acknowledged change",
          "[redis][sentinel][events]") {
    sentinel_setup s;
    contract_target t("sentinel", durable_events_on(s.url()));
    acknowledged ack;
    std::atomic<bool> stop{false};
    auto load = writer(t, ack, stop);
    REQUIRE(eventually([&] { return ack.changes() >= 40; }, 20s));
    const auto old = s.master_port();
    s.kill_node(old);
    s.wait_for_new_master(old, 30s);
    // The new primary has no replica, so durable writes are refused (503)
    // from here on: the load keeps asking, and nothing it is refused counts.
    REQUIRE(eventually([&] { return t.daemon().request("GET", "/readyz").status == 200; }, 30s));
    const auto asked = ack.answers();
    CHECK(eventually([&] { return ack.answers() >= asked + 10; }, 20s));  // the load met the new primary
    stop = true;
    load.join();
    check_events(ack, read_events(s, {s.master_port()}), "Sentinel");
}

TEST_CASE("events: a Cluster failover under load loses no event of an acknowledged change",
          "[redis][cluster][events]") {
    cluster_setup c;
    contract_target t("cluster", durable_events_on(c.url()));
    acknowledged ack;
    std::atomic<bool> stop{false};
    auto load = writer(t, ack, stop);
    REQUIRE(eventually([&] { return ack.changes() >= 40; }, 20s));
    c.kill_node(c.owner_of_slot(0));
    c.wait_until_ok(30s);
    // Writes to the promoted replica's slots are refused (no replica left);
    // the other primaries go on acknowledging.
    const auto before = ack.changes();
    CHECK(eventually([&] { return ack.changes() >= before + 20; }, 20s));
    stop = true;
    load.join();
    check_events(ack, read_events(c, c.ports()), "Cluster");
}
