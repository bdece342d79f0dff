// Sentinel and Cluster without sockets: the URL forms, slot hashing (the
// Redis Cluster specification's vectors), redirects, the CLUSTER SLOTS
// reply, +switch-master messages and the ROLE check.

#include <catch2/catch.hpp>

#include <string>

#include "redis/cluster_map.hpp"
#include "redis/config.hpp"
#include "redis/error.hpp"
#include "redis/handshake.hpp"
#include "redis/sentinel_router.hpp"

using namespace sessiond::redis;

TEST_CASE("CRC16 and key slots follow the Redis Cluster specification", "[redis][cluster]") {
    // The specification's check value (CRC16-CCITT XMODEM of "123456789").
    CHECK(crc16("123456789") == 0x31C3);
    CHECK(crc16("") == 0);
    // Values redis-cli CLUSTER KEYSLOT gives.
    CHECK(key_slot("foo") == 12182);
    CHECK(key_slot("bar") == 5061);
    CHECK(key_slot("somekey") == 11058);
    // Hash tags: the first {...} with something inside decides.
    CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
    CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
    CHECK(key_slot("foo{}{bar}") == key_slot("foo{}{bar}"));
    CHECK(key_slot("foo{}{bar}") != key_slot("bar"));  // an empty first tag: the whole key
    CHECK(key_slot("foo{{bar}}zap") == key_slot("{bar"));
    CHECK(key_slot("foo{bar}{zap}") == key_slot("bar"));
    CHECK(key_slot("{unclosed") == crc16("{unclosed") % 16384);
    // sessiond's keys: the bucket's tag puts a user's keys in one slot.
    CHECK(key_slot("sessiond:{123}:s:abc") == key_slot("sessiond:{123}:u:def"));
    CHECK(key_slot("sessiond:{123}:s:abc") == key_slot("123"));
}

TEST_CASE("MOVED and ASK redirects are parsed; anything else is not one", "[redis][cluster]") {
    auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381", "10.0.0.1");
    REQUIRE(moved);
    CHECK_FALSE(moved->ask);
    CHECK(moved->slot == 3999);
    CHECK(moved->where == endpoint{"127.0.0.1", 6381});
    auto ask = parse_redirect("ASK 16383 redis-2.internal:7000", "x");
    REQUIRE(ask);
    CHECK(ask->ask);
    CHECK(ask->slot == 16383);
    CHECK(ask->where == endpoint{"redis-2.internal", 7000});
    // No host: the node that answered.
    auto bare = parse_redirect("MOVED 1 :6380", "10.0.0.7");
    REQUIRE(bare);
    CHECK(bare->where == endpoint{"10.0.0.7", 6380});
    auto v6 = parse_redirect("MOVED 2 [::1]:6380", "x");
    REQUIRE(v6);
    CHECK(v6->where == endpoint{"::1", 6380});
    for (const char* bad : {"MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0", "MOVED 1 h:70000",
                            "ASK 1", "ERR MOVED 1 h:1", "TRYAGAIN", ""})
        CHECK_FALSE(parse_redirect(bad, "x"));
}

TEST_CASE("CLUSTER SLOTS replies become slot ranges and their primaries", "[redis][cluster]") {
    auto node = [](std::string ip, long long port, std::string id) {
        return reply::make_array(
            {reply::make_string(std::move(ip)), reply::make_integer(port), reply::make_string(std::move(id))});
    };
    auto range = [](long long a, long long b, reply primary, reply replica) {
        return reply::make_array(
            {reply::make_integer(a), reply::make_integer(b), std::move(primary), std::move(replica)});
    };
    const reply r = reply::make_array({
        range(0, 5460, node("127.0.0.1", 7000, "a"), node("127.0.0.1", 7003, "d")),
        range(5461, 10922, node("", 7001, "b"), node("127.0.0.1", 7004, "e")),
        range(10923, 16383, node("?", 7002, "c"), node("127.0.0.1", 7005, "f")),
    });
    auto map = parse_cluster_slots(r, "10.1.1.1");
    REQUIRE(map);
    REQUIRE(map->size() == 3);
    CHECK((*map)[0].first == 0);
    CHECK((*map)[0].last == 5460);
    CHECK((*map)[0].primary == endpoint{"127.0.0.1", 7000});
    CHECK((*map)[1].primary == endpoint{"10.1.1.1", 7001});  // no ip: the node asked
    CHECK((*map)[2].primary == endpoint{"10.1.1.1", 7002});
    // The replicas too: a Cluster may promote any of them.
    CHECK((*map)[0].replicas == std::vector<endpoint>{{"127.0.0.1", 7003}});
    CHECK((*map)[2].replicas == std::vector<endpoint>{{"127.0.0.1", 7005}});
    CHECK(parse_cluster_slots(reply::make_array({}), "h")->empty());
    auto lone = reply::make_array({reply::make_integer(0), reply::make_integer(9), node("h", 1, "a")});
    auto no_replica = parse_cluster_slots(reply::make_array({std::move(lone)}), "h");
    REQUIRE(no_replica);
    CHECK(no_replica->at(0).replicas.empty());

    CHECK_FALSE(parse_cluster_slots(reply::make_status("OK"), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({range(0, 16384, node("h", 1, "a"), node("h", 2, "b"))}), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({range(10, 5, node("h", 1, "a"), node("h", 2, "b"))}), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({range(0, 5, node("h", 0, "a"), node("h", 2, "b"))}), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({reply::make_integer(1)}), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({range(0, 5, node("h", 1, "a"), node("h", 70000, "b"))}), "h"));
    CHECK_FALSE(parse_cluster_slots(reply::make_array({range(0, 5, node("h", 1, "a"), reply::make_integer(3))}), "h"));
}

TEST_CASE("CLUSTER NODES replies become the cluster's members", "[redis][cluster]") {
    const std::string text =
        "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca "
        "0 1426238317239 4 connected\n"
        "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected "
        "5461-10922\n"
        "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :30001@31001 myself,master - 0 0 1 connected 0-5460\n"
        "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 10.0.0.7:30007@31007,node-7.internal master - 0 0 7 connected\n"
        "6ec23923021cf3ffec47632106199cb7f496ce01 [::1]:30008@31008 master,fail - 0 0 8 disconnected\n"
        "824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30009@31009 handshake - 0 0 0 connected\n"
        "c8a1c7d4d3b3e0e9a4e3e1f2c3d4e5f6a7b8c9d0 :0@0 master,noaddr - 0 0 0 disconnected\n";
    auto members = parse_cluster_nodes(reply::make_string(text), "10.1.1.1");
    REQUIRE(members);
    CHECK(members->addresses == std::vector<endpoint>{{"127.0.0.1", 30004},
                                                      {"127.0.0.1", 30002},
                                                      {"10.1.1.1", 30001},  // no ip: the node asked
                                                      {"10.0.0.7", 30007},
                                                      {"node-7.internal", 30007},  // its hostname, same port
                                                      {"::1", 30008}});
    // Replicas and slotless primaries alike, one address each; not the failed one.
    CHECK(members->live ==
          std::vector<endpoint>{{"127.0.0.1", 30004}, {"127.0.0.1", 30002}, {"10.1.1.1", 30001}, {"10.0.0.7", 30007}});
    CHECK(parse_cluster_nodes(reply::make_string(""), "h")->addresses.empty());
    CHECK_FALSE(parse_cluster_nodes(reply::make_status("OK"), "h"));
    CHECK_FALSE(parse_cluster_nodes(reply::make_array({}), "h"));
    CHECK_FALSE(parse_cluster_nodes(reply::make_string("id-without-fields\n"), "h"));
    CHECK_FALSE(parse_cluster_nodes(reply::make_string("id 127.0.0.1-no-port master - 0 0 1 connected\n"), "h"));
}

TEST_CASE("+switch-master names the new primary of the monitored name only", "[redis][sentinel]") {
    auto to = parse_switch_master("sessiond 10.0.0.1 6379 10.0.0.2 6380", "sessiond");
    REQUIRE(to);
    CHECK(*to == endpoint{"10.0.0.2", 6380});
    CHECK_FALSE(parse_switch_master("other 10.0.0.1 6379 10.0.0.2 6380", "sessiond"));
    CHECK_FALSE(parse_switch_master("sessiond 10.0.0.1 6379 10.0.0.2", "sessiond"));
    CHECK_FALSE(parse_switch_master("sessiond 10.0.0.1 6379 10.0.0.2 0", "sessiond"));
    CHECK_FALSE(parse_switch_master("sessiond 10.0.0.1 6379 10.0.0.2 6380 extra", "sessiond"));
    CHECK_FALSE(parse_switch_master("", "sessiond"));
}

TEST_CASE("ROLE decides whether a node may take commands behind Sentinel", "[redis][sentinel]") {
    const auto master = reply::make_array({reply::make_string("master"), reply::make_integer(0)});
    const auto replica = reply::make_array({reply::make_string("slave"), reply::make_string("10.0.0.1")});
    CHECK_FALSE(check_primary_role(master));
    CHECK(check_primary_role(replica) == error::not_master);
    CHECK(check_primary_role(reply::make_status("OK")) == error::not_master);

    auto cfg = *parse_url("redis+sentinel://sentinel-1/sessiond");
    cfg.password = "pw";
    const auto steps = handshake_steps(cfg);
    REQUIRE_FALSE(steps.empty());
    CHECK(steps.back().cmd.name() == "ROLE");
    CHECK(steps.back().check != nullptr);
    // The sentinels get their own credentials, and the watch subscribes.
    cfg.sentinel_password = "sentinel-pw";
    const auto watch = sentinel_handshake_steps(cfg, true);
    CHECK(watch.front().cmd.arg(1) == "sentinel-pw");
    CHECK(watch.back().cmd.name() == "SUBSCRIBE");
    CHECK(watch.back().cmd.arg(1) == "+switch-master");
    // A standalone node is not asked.
    CHECK(handshake_steps(*parse_url("redis://h")).back().cmd.name() != "ROLE");
}

TEST_CASE("Sentinel and Cluster URLs", "[redis][config]") {
    auto s = parse_url("redis+sentinel://user:p%40ss@s1:26380,s2,[::1]:26381/mymaster/2");
    REQUIRE(s.has_value());
    CHECK(s->mode == topology::sentinel);
    CHECK_FALSE(s->tls);
    CHECK(s->user == "user");
    CHECK(s->password == "p@ss");
    CHECK(s->master_name == "mymaster");
    CHECK(s->db == 2);
    REQUIRE(s->seeds.size() == 3);
    CHECK(s->seeds[0] == endpoint{"s1", 26380});
    CHECK(s->seeds[1] == endpoint{"s2", 26379});  // the sentinel port by default
    CHECK(s->seeds[2] == endpoint{"::1", 26381});
    CHECK(parse_url("rediss+sentinel://s1/m")->tls);
    CHECK(parse_url("redis+sentinel://s1/m/")->db == 0);

    auto c = parse_url("rediss+cluster://pw@n1:7000,n2");
    REQUIRE(c.has_value());
    CHECK(c->mode == topology::cluster);
    CHECK(c->tls);
    CHECK(c->password == "pw");
    REQUIRE(c->seeds.size() == 2);
    CHECK(c->seeds[1] == endpoint{"n2", 6379});
    CHECK(parse_url("redis+cluster://n1/0").has_value());

    CHECK(parse_url("redis://h")->mode == topology::standalone);
    CHECK(parse_url("redis://h")->seeds.empty());

    auto err = [](std::string_view url) {
        auto r = parse_url(url);
        REQUIRE_FALSE(r.has_value());
        return r.error();
    };
    CHECK(err("redis+sentinel://s1") == error::bad_url);  // no master name
    CHECK(err("redis+sentinel://s1/") == error::bad_url);
    CHECK(err("redis+sentinel://s1/my master") == error::bad_url);
    CHECK(err("redis+sentinel://s1/m/x") == error::bad_url_db);
    CHECK(err("redis+sentinel://s1,/m") == error::bad_url_host);
    CHECK(err("redis+sentinel://s1:0/m") == error::bad_url_port);
    CHECK(err("redis+cluster://n1/1") == error::bad_url_db);  // a cluster has database 0 only
    CHECK(err("redis://h1,h2") == error::bad_url_host);       // one host for a standalone Redis
    CHECK(err("redis+clustr://n1") == error::bad_url_scheme);
    CHECK(to_string(endpoint{"::1", 6379}) == "[::1]:6379");
    CHECK(to_string(endpoint{"h", 1}) == "h:1");
}
