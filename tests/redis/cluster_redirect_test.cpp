// Redirects in a Redis Cluster, against servers that speak RESP and say what
// the test needs: a seed that owns every slot and answers GET with MOVED. A
// redirect is followed only to a member of the cluster (CLUSTER NODES lists
// it); one naming any other address is refused before anything (AUTH, a
// command) is sent there. A node learnt of by a redirect takes its first
// command once its connection is up, rather than failing it.

#include <catch2/catch.hpp>

#include <string>

#include "redis/redis_metrics.hpp"
#include "helpers.hpp"
#include "redis/cluster_map.hpp"
#include "redis/error.hpp"
#include "support/lying_redis.hpp"

using namespace sessiond;
using namespace sessiond::test;

namespace {

std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string slot_range(int first, int last, unsigned short port) {
    return "*3\r\n:" + std::to_string(first) + "\r\n:" + std::to_string(last) + "\r\n*2\r\n" + bulk("127.0.0.1") + ":" +
           std::to_string(port) + "\r\n";
}

// The slot of the key the tests read.
const int key_slot = redis::key_slot("k");

// `seed` owns all 16384 slots and answers GET with MOVED to `to`;
// CLUSTER NODES lists the seed and the `members`.
void script_seed(lying_redis& seed, unsigned short to, const std::vector<unsigned short>& members) {
    const auto port = std::to_string(seed.port());
    seed.answer("CLUSTER SLOTS", "*1\r\n" + slot_range(0, 16383, seed.port()));
    std::string nodes =
        "0000000000000000000000000000000000000001 127.0.0.1:" + port + "@1 myself,master - 0 0 1 connected 0-16383\n";
    for (auto m : members)
        nodes += "000000000000000000000000000000000000000" + std::to_string(m % 10) +
                 " 127.0.0.1:" + std::to_string(m) + "@2 master - 0 0 2 connected\n";
    seed.answer("CLUSTER NODES", bulk(nodes));
    seed.answer("GET", "-MOVED " + std::to_string(key_slot) + " 127.0.0.1:" + std::to_string(to) + "\r\n");
}

redis::config cluster_config(const lying_redis& seed) {
    auto cfg = redis::parse_url("redis+cluster://127.0.0.1:" + std::to_string(seed.port())).value();
    cfg.connections = 1;
    cfg.command_timeout = 2000ms;
    cfg.connect_timeout = 1000ms;
    cfg.reconnect_min = 10ms;
    cfg.reconnect_max = 100ms;
    return cfg;
}

}  // namespace

TEST_CASE("Cluster: MOVED to an address that is not a member is refused; nothing is sent there",
          "[redis][cluster][hostile]") {
    lying_redis seed;
    lying_redis elsewhere;  // not in the cluster: must never see a connection
    elsewhere.answer("GET", bulk("stolen"));
    script_seed(seed, elsewhere.port(), {});

    boost::asio::io_context ioc;
    redis::client client(ioc, cluster_config(seed), 1);
    client.start();
    REQUIRE(wait_ready(ioc, client, 10s));

    const auto refused_before = metrics::redis_redirects_refused.local().get();
    auto r = exec(ioc, client, redis::command("GET", "k"));
    CHECK(r.ec == redis::error::redirect_refused);
    CHECK(metrics::redis_redirects_refused.local().get() == refused_before + 1);
    run_for(ioc, 200ms);
    CHECK(elsewhere.connections() == 0);
    client.stop();
    run_for(ioc, 50ms);
}

TEST_CASE("Cluster: MOVED to a member not connected yet is followed; its first command waits for the connection",
          "[redis][cluster]") {
    lying_redis seed;
    lying_redis member;
    member.answer("GET", bulk("here"));
    script_seed(seed, member.port(), {member.port()});

    boost::asio::io_context ioc;
    redis::client client(ioc, cluster_config(seed), 1);
    client.start();
    REQUIRE(wait_ready(ioc, client, 10s));

    // The member owns no slot in the map it was given: nothing has
    // connected to it yet. From now on the seed's map says what its MOVED
    // says, as a real cluster's does once a slot has moved.
    CHECK(member.connections() == 0);
    seed.answer("CLUSTER SLOTS", "*3\r\n" + slot_range(0, key_slot - 1, seed.port()) +
                                     slot_range(key_slot, key_slot, member.port()) +
                                     slot_range(key_slot + 1, 16383, seed.port()));
    auto r = exec(ioc, client, redis::command("GET", "k"));
    REQUIRE_FALSE(r.ec);
    CHECK(r.value.str() == "here");
    CHECK(member.connections() == 1);
    client.stop();
    run_for(ioc, 50ms);
}
