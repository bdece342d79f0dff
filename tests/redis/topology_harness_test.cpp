// The harness that starts Sentinel and Cluster topologies, tested on its own
// before tests of sessiond rely on it.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/redis_topology.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

bool contains(const std::vector<unsigned short>& ports, unsigned short p) {
    return std::find(ports.begin(), ports.end(), p) != ports.end();
}

}  // namespace

TEST_CASE("sentinel_setup: a killed master is replaced by its replica, which has the data",
          "[redis][topology][sentinel]") {
    sentinel_setup s;
    const auto data = s.data_ports();
    REQUIRE(data.size() == 2);
    REQUIRE(s.sentinel_ports().size() == 3);
    CHECK(s.url().starts_with("redis+sentinel://127.0.0.1:"));
    CHECK(s.url().ends_with("/sessiond-test"));

    const auto master = s.master_port();
    REQUIRE(contains(data, master));
    const auto replica = data[0] == master ? data[1] : data[0];
    CHECK(s.cli(master, {"SET", "k", "before-failover"}) == "OK\n");
    CHECK(s.cli(master, {"WAIT", "1", "1000"}) == "1\n");  // the replica has it

    s.kill_node(master);
    CHECK(s.wait_for_new_master(master, 15s) == replica);
    CHECK(s.master_port() == replica);
    CHECK(s.cli(replica, {"GET", "k"}) == "before-failover\n");

    // The old master comes back on its port as a replica of the new one.
    s.restart_node(master);
    CHECK(s.cli(master, {"ROLE"}).starts_with("slave\n"));
    CHECK(s.master_port() == replica);
}

TEST_CASE("cluster_setup: slots, a slot migration, a manual failover and a killed primary",
          "[redis][topology][cluster]") {
    cluster_setup c;
    const auto ports = c.ports();
    REQUIRE(ports.size() == 6);
    REQUIRE(std::set<unsigned short>(ports.begin(), ports.end()).size() == 6);
    CHECK(c.url().starts_with("redis+cluster://127.0.0.1:"));

    std::set<unsigned short> primaries;
    for (int slot = 0; slot < 16384; slot += 97)
        primaries.insert(c.owner_of_slot(slot));
    primaries.insert(c.owner_of_slot(16383));
    CHECK(primaries.size() == 3);
    for (auto p : primaries)
        CHECK(contains(ports, p));

    CHECK(c.slot_of("{x}a") == c.slot_of("{x}b"));
    CHECK(c.slot_of("a") != c.slot_of("b"));

    // One cluster through all steps (each setup costs ~2 s), each step on
    // what the previous ones left.
    {  // migrate_slot moves a slot and its keys
        const int slot = c.slot_of("{m}1");
        const auto from = c.owner_of_slot(slot);
        const auto to = *std::find_if(primaries.begin(), primaries.end(), [&](auto p) { return p != from; });
        std::vector<std::string> mset{"MSET"};
        for (int i = 0; i < 150; ++i) {  // more than one MIGRATE batch
            mset.push_back("{m}" + std::to_string(i));
            mset.push_back("v");
        }
        REQUIRE(c.cli(from, mset) == "OK\n");
        bool hooked = false;
        c.migrate_slot(slot, to, [&] {
            hooked = true;
            // Half-moved: the source still serves its keys, new ones go to the target.
            CHECK(c.cli(from, {"GET", "{m}1"}) == "v\n");
            CHECK(c.cli(from, {"GET", "{m}new"}).starts_with("ASK "));
        });
        CHECK(hooked);
        CHECK(c.owner_of_slot(slot) == to);
        CHECK(c.cli(to, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == "150\n");
        CHECK(c.cli(from, {"GET", "{m}1"}).starts_with("MOVED "));
        c.wait_until_ok(5s);
    }

    {  // manual_failover swaps a primary and its replica
        const auto primary = c.owner_of_slot(0);
        const auto replica = c.replica_of(primary);
        c.manual_failover(replica);
        CHECK(c.owner_of_slot(0) == replica);
        CHECK(c.replica_of(replica) == primary);
    }

    {  // a killed primary is replaced by its replica; restarted, it rejoins as a replica
        const auto primary = c.owner_of_slot(0);
        const auto replica = c.replica_of(primary);
        c.kill_node(primary);
        c.wait_until_ok(15s);
        CHECK(c.owner_of_slot(0) == replica);
        c.restart_node(primary);
        c.wait_until_ok(15s);
        CHECK(eventually([&] { return c.cli(primary, {"ROLE"}).starts_with("slave\n"); }, 10s));
    }
}
