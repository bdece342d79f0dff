#pragma once
// Real Redis high-availability topologies for the Sentinel and Cluster tests:
// every node a redis-server on a free 127.0.0.1 port with its files in its own
// temp dir, started and stopped by PID (SIGKILL at teardown). The harness'
// own commands send no AUTH: extra redis args must not require a password.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sessiond::test {

// A primary, one replica and three sentinels (quorum 2) watching the master
// name "sessiond-test". The constructor returns once the replica is in sync
// and every sentinel knows the replica and the two other sentinels, so a
// failover can start right away.
class sentinel_setup {
public:
    // down_after_ms: the sentinels' down-after-milliseconds (fast failover in
    // tests). extra_redis_args go to both data nodes
    // (e.g. {"--enable-debug-command", "yes"}).
    explicit sentinel_setup(std::vector<std::string> extra_redis_args = {}, int down_after_ms = 1000);
    ~sentinel_setup();  // SIGKILLs every node
    sentinel_setup(const sentinel_setup&) = delete;
    sentinel_setup& operator=(const sentinel_setup&) = delete;

    static constexpr const char* master_name = "sessiond-test";

    std::vector<unsigned short> sentinel_ports() const;
    // "redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/sessiond-test"
    std::string url() const;
    // The master's port as the first sentinel that answers reports it now
    // (SENTINEL GET-MASTER-ADDR-BY-NAME).
    unsigned short master_port() const;
    std::vector<unsigned short> data_ports() const;  // both data nodes, in start order

    // redis-cli in raw mode against any port of the setup; returns its stdout.
    std::string cli(unsigned short port, const std::vector<std::string>& args) const;

    void failover();                      // SENTINEL FAILOVER on a sentinel
    void kill_node(unsigned short port);  // SIGKILL that data node
    // Starts that data node again on the same port, as a replica of the
    // master the sentinels report now (what Sentinel writes into a replica's
    // config file), so it never comes back as a second master. Returns once
    // it is in sync and every sentinel would promote it.
    void restart_node(unsigned short port);

    // Waits until a majority of the sentinels report the same master other
    // than old_port and that node answers ROLE with "master" (asking a
    // sentinel not in TILT mode for a failover if none started in time).
    // Returns its port; throws std::runtime_error on timeout, with every
    // sentinel's view.
    unsigned short wait_for_new_master(unsigned short old_port, std::chrono::milliseconds timeout);

    struct node;  // a redis-server with its temp dir (in the .cpp)

private:
    // Starts a data node as a replica of `master` (0: as a master).
    void start_data_node(node& n, unsigned short master);
    // Waits until the replica on `port` is in sync and every sentinel would
    // pick it in a failover.
    void wait_for_good_replica(unsigned short port);

    std::vector<std::string> extra_args_;
    int down_after_ms_;
    std::vector<std::unique_ptr<node>> data_;
    std::vector<std::unique_ptr<node>> sentinels_;
};

// A Redis Cluster of 3 primaries and 3 replicas (cluster-enabled, the given
// cluster-node-timeout), each node with its own cluster bus port (a free port
// too, not port+10000). The constructor returns once the cluster is ok on
// every node and every replica is in sync.
class cluster_setup {
public:
    explicit cluster_setup(int node_timeout_ms = 1000, std::vector<std::string> extra_redis_args = {});
    ~cluster_setup();  // SIGKILLs every node
    cluster_setup(const cluster_setup&) = delete;
    cluster_setup& operator=(const cluster_setup&) = delete;

    std::vector<unsigned short> ports() const;  // all six, in start order
    // "redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" (three seeds)
    std::string url() const;
    // redis-cli in raw mode (no -c: no redirections followed); returns its stdout.
    std::string cli(unsigned short port, const std::vector<std::string>& args) const;

    // The primary serving `slot` now, in the view most live nodes share
    // (CLUSTER SLOTS). Throws if no live node knows an owner.
    unsigned short owner_of_slot(int slot) const;
    // CLUSTER KEYSLOT on a live node: the harness' own check, independent of
    // the daemon's CRC16. (A member, not static: it needs a node to ask.)
    int slot_of(const std::string& key) const;

    void kill_node(unsigned short port);     // SIGKILL
    void restart_node(unsigned short port);  // same port, same nodes.conf: it rejoins
    // Waits until every live node says cluster_state:ok and all agree on the
    // owner of every slot; throws std::runtime_error on timeout.
    void wait_until_ok(std::chrono::milliseconds timeout) const;

    // Moves one slot from its owner to the primary on `to_port` by hand:
    // SETSLOT IMPORTING on the target, MIGRATING on the source, then
    // `while_migrating` (a test can hit the slot while it is half-moved), then
    // MIGRATE of its keys in batches (GETKEYSINSLOT), then SETSLOT NODE on the
    // target, the source and the other live primaries.
    void migrate_slot(int slot, unsigned short to_port, const std::function<void()>& while_migrating = {});
    // The same in three steps, for a test that acts between them: the slot
    // IMPORTING on the target and MIGRATING on its owner (from then on the
    // owner answers ASK for keys it no longer has); its keys moved (MIGRATE:
    // every command for them is then redirected with ASK); the slot given to
    // the target everywhere. Between begin and finish owner_of_slot() still
    // names the source.
    void begin_migration(int slot, unsigned short to_port);
    void move_keys(int slot, unsigned short to_port);
    void finish_migration(int slot, unsigned short from_port, unsigned short to_port);

    // Scale-out: starts a new, empty primary (no slots, no replica), has it
    // meet the cluster, and returns its port once every live node lists it
    // as connected and it sees the cluster ok. Slots then move to it with
    // migrate_slot().
    unsigned short add_primary();
    // CLUSTER FAILOVER on that replica; waits until it is primary and every
    // live node agrees on the slots' owners.
    void manual_failover(unsigned short replica_port,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
    // A live node that says (ROLE) it replicates primary_port; throws if none.
    unsigned short replica_of(unsigned short primary_port) const;

    struct node;  // a redis-server with its temp dir (in the .cpp)

private:
    node& find(unsigned short port) const;
    std::vector<unsigned short> live_ports() const;

    int node_timeout_ms_;
    std::vector<std::string> extra_args_;
    std::vector<std::unique_ptr<node>> nodes_;
};

}  // namespace sessiond::test
