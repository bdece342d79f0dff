#include "support/redis_topology.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/resp_client.hpp"

namespace sessiond::test {

using namespace std::chrono_literals;

namespace {

using argv_fn = std::function<std::vector<std::string>(unsigned short)>;

// One command on a fresh connection: the harness' own queries, parsed as RESP
// rather than scraped from redis-cli's output.
resp_value ask(unsigned short port, const std::vector<std::string>& args) {
    resp_client c(port);
    return c.command(args);
}

// The same, for polling: a node that is down (or not yet up) gives nullopt.
std::optional<resp_value> try_ask(unsigned short port, const std::vector<std::string>& args) {
    try {
        return ask(port, args);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// Throws with the command if Redis answered an error.
resp_value ask_ok(unsigned short port, const std::vector<std::string>& args) {
    auto r = ask(port, args);
    if (r.kind == resp_value::error) {
        std::string cmd;
        for (const auto& a : args)
            cmd += (cmd.empty() ? "" : " ") + a;
        throw std::runtime_error("127.0.0.1:" + std::to_string(port) + " " + cmd + ": " + r.str);
    }
    return r;
}

// "name:value" lines of INFO; empty if absent.
std::string info_field(const std::string& info, const std::string& name) {
    auto at = info.find(name + ":");
    if (at == std::string::npos) return {};
    at += name.size() + 1;
    auto end = info.find_first_of("\r\n", at);
    return info.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'')
            q += "'\\''";
        else
            q += c;
    }
    return q + "'";
}

// Runs a shell command line; returns its stdout and sets `status` to its
// exit status.
std::string run(const std::string& cmd, int& status) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = ::pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return out;
}

std::string cli_at(unsigned short port, const std::vector<std::string>& args) {
    std::string cmd = "redis-cli --raw -h 127.0.0.1 -p " + std::to_string(port);
    for (const auto& a : args)
        cmd += " " + shell_quote(a);
    int status = 0;
    return run(cmd, status);
}

std::string seeds(const std::vector<unsigned short>& ports) {
    std::string out;
    for (auto p : ports)
        out += (out.empty() ? "127.0.0.1:" : ",127.0.0.1:") + std::to_string(p);
    return out;
}

// start_redis waits for "Ready to accept connections", which a sentinel never
// logs: it logs its ID once it listens and has saved its config. Same retry
// on "Address already in use" otherwise.
std::unique_ptr<process> start_sentinel(const argv_fn& argv_for, const temp_dir& dir, unsigned short& port) {
    for (int attempt = 0;; ++attempt) {
        port = free_port();
        process_options opts;
        opts.argv = argv_for(port);
        opts.log_path = dir.file("sentinel-" + std::to_string(attempt) + ".log");
        auto proc = std::make_unique<process>(opts);
        bool settled = eventually(
            [&] { return !proc->running() || proc->log().find("Sentinel ID is") != std::string::npos; }, 10s);
        if (settled && proc->running()) return proc;
        auto log = proc->log();
        bool taken = log.find("Address already in use") != std::string::npos;
        if (!settled || !taken || attempt == 20)
            throw std::runtime_error("sentinel did not start on port " + std::to_string(port) + ": " + log);
    }
}

// A data node's command line: redis_argv, and a replica's full sync starts at
// once (diskless sync otherwise waits 5 s for more replicas to join).
std::vector<std::string> data_node_argv(unsigned short port, const temp_dir& dir) {
    auto argv = redis_argv(port, dir);
    argv.insert(argv.end(), {"--repl-diskless-sync-delay", "0"});
    return argv;
}

void kill_process(std::unique_ptr<process>& proc) {
    if (!proc) return;
    proc->signal(SIGKILL);
    proc->wait(10s);
    proc.reset();
}

}  // namespace

// ---------------------------------------------------------------- Sentinel

struct sentinel_setup::node {
    temp_dir dir;
    unsigned short port = 0;
    std::unique_ptr<process> proc;
};

namespace {

// The master's port a sentinel reports, or 0 if it does not answer.
unsigned short reported_master(unsigned short sentinel_port) {
    auto r = try_ask(sentinel_port, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel_setup::master_name});
    if (!r || r->kind != resp_value::array || r->elements.size() != 2) return 0;
    return static_cast<unsigned short>(std::stoi(r->elements[1].str));
}

std::string role_of(unsigned short port) {
    auto r = try_ask(port, {"ROLE"});
    if (!r || r->kind != resp_value::array || r->elements.empty()) return {};
    return r->elements[0].str;
}

}  // namespace

sentinel_setup::sentinel_setup(std::vector<std::string> extra_redis_args, int down_after_ms)
    : extra_args_(std::move(extra_redis_args)), down_after_ms_(down_after_ms) {
    for (int i = 0; i < 2; ++i)
        data_.push_back(std::make_unique<node>());
    start_data_node(*data_[0], 0);
    start_data_node(*data_[1], data_[0]->port);
    // A failover needs a replica in sync.
    if (!eventually(
            [&] {
                auto info = try_ask(data_[1]->port, {"INFO", "replication"});
                return info && info_field(info->str, "master_link_status") == "up";
            },
            10s, 20ms))
        throw std::runtime_error("sentinel_setup: the replica did not sync: " + data_[1]->proc->log());

    // failover-timeout: also how long a sentinel waits before it retries a
    // failover of the same master; a few seconds keeps a second failover in
    // one test quick.
    const int failover_timeout_ms = std::max(3000, 3 * down_after_ms);
    for (int i = 0; i < 3; ++i) {
        auto s = std::make_unique<node>();
        const std::string conf = s->dir.file("sentinel.conf");
        s->proc = start_sentinel(
            [&](unsigned short p) {
                // Sentinel rewrites this file (what it learned), so it lives in
                // the sentinel's own writable dir.
                const std::string name = master_name;
                write_file(conf, "port " + std::to_string(p) + "\nbind 127.0.0.1\ndir " + s->dir.path() +
                                     "\nlogfile \"\"\nsentinel resolve-hostnames no\nsentinel monitor " + name +
                                     " 127.0.0.1 " + std::to_string(data_[0]->port) +
                                     " 2\nsentinel down-after-milliseconds " + name + " " +
                                     std::to_string(down_after_ms) + "\nsentinel failover-timeout " + name + " " +
                                     std::to_string(failover_timeout_ms) + "\n");
                return std::vector<std::string>{"redis-server", conf, "--sentinel"};
            },
            s->dir, s->port);
        sentinels_.push_back(std::move(s));
    }
    // Sentinels find the replica through the master's INFO and each other
    // through hello messages (every 2 s): until then a failover has no quorum.
    const bool known = eventually(
        [&] {
            for (const auto& s : sentinels_) {
                auto info = try_ask(s->port, {"INFO", "sentinel"});
                if (!info) return false;
                const auto line = info_field(info->str, "master0");
                if (line.find("status=ok") == std::string::npos ||
                    line.find(",slaves=1,sentinels=3") == std::string::npos)
                    return false;
            }
            return true;
        },
        15s, 50ms);
    if (!known)
        throw std::runtime_error("sentinel_setup: the sentinels did not find each other: " +
                                 sentinels_[0]->proc->log());
    wait_for_good_replica(data_[1]->port);
}

sentinel_setup::~sentinel_setup() {
    // SIGKILL all first, then reap: no node sees the others go one by one.
    for (auto* group : {&sentinels_, &data_})
        for (auto& n : *group)
            if (n->proc) n->proc->signal(SIGKILL);
}

std::vector<unsigned short> sentinel_setup::sentinel_ports() const {
    std::vector<unsigned short> out;
    for (const auto& s : sentinels_)
        out.push_back(s->port);
    return out;
}

std::string sentinel_setup::url() const {
    return "redis+sentinel://" + seeds(sentinel_ports()) + "/" + master_name;
}

unsigned short sentinel_setup::master_port() const {
    for (const auto& s : sentinels_)
        if (auto p = reported_master(s->port)) return p;
    throw std::runtime_error("sentinel_setup: no sentinel reports a master");
}

std::vector<unsigned short> sentinel_setup::data_ports() const {
    return {data_[0]->port, data_[1]->port};
}

std::string sentinel_setup::cli(unsigned short port, const std::vector<std::string>& args) const {
    return cli_at(port, args);
}

void sentinel_setup::failover() {
    ask_ok(sentinels_.front()->port, {"SENTINEL", "FAILOVER", master_name});
}

void sentinel_setup::kill_node(unsigned short port) {
    for (auto& n : data_)
        if (n->port == port) return kill_process(n->proc);
    throw std::invalid_argument("sentinel_setup: no data node on port " + std::to_string(port));
}

void sentinel_setup::restart_node(unsigned short port) {
    for (auto& n : data_)
        if (n->port == port) {
            if (n->proc && n->proc->running()) return;
            const auto master = master_port();
            start_data_node(*n, master == port ? 0 : master);
            if (master != port) wait_for_good_replica(port);
            return;
        }
    throw std::invalid_argument("sentinel_setup: no data node on port " + std::to_string(port));
}

void sentinel_setup::start_data_node(node& n, unsigned short master) {
    auto argv = [&](unsigned short p) {
        auto argv = data_node_argv(p, n.dir);
        argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
        if (master != 0) argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(master)});
        return argv;
    };
    // The first start picks the port; a restart keeps it, as the sentinels know it.
    n.proc = start_redis(argv, n.dir, n.port, n.port != 0);
}

void sentinel_setup::wait_for_good_replica(unsigned short port) {
    // What Sentinel asks of a replica it promotes: up, not disconnected, its
    // link to the master up (as of the last INFO the sentinel got from it).
    auto good_in = [&](unsigned short sentinel) {
        auto r = try_ask(sentinel, {"SENTINEL", "REPLICAS", master_name});
        if (!r || r->kind != resp_value::array) return false;
        for (const auto& replica : r->elements) {
            std::map<std::string, std::string> fields;
            for (std::size_t i = 0; i + 1 < replica.elements.size(); i += 2)
                fields[replica.elements[i].str] = replica.elements[i + 1].str;
            if (fields["port"] == std::to_string(port))
                return fields["flags"] == "slave" && fields["master-link-status"] == "ok";
        }
        return false;
    };
    const bool good = eventually(
        [&] {
            auto info = try_ask(port, {"INFO", "replication"});
            if (!info || info_field(info->str, "master_link_status") != "up") return false;
            for (const auto& s : sentinels_)
                if (!good_in(s->port)) return false;
            return true;
        },
        // Sentinels learn of a replica from the master's INFO, asked every
        // 10 s: two rounds, with room for a loaded machine.
        40s, 50ms);
    if (!good)
        throw std::runtime_error("sentinel_setup: the sentinels do not see 127.0.0.1:" + std::to_string(port) +
                                 " as a good replica");
}

unsigned short sentinel_setup::wait_for_new_master(unsigned short old_port, std::chrono::milliseconds timeout) {
    // A majority of the sentinels (the quorum that elects a leader) must
    // report the same new master, which must say it is one. All three are
    // not waited for: a sentinel in TILT mode (its timer stalled for over
    // 2 s on a loaded machine) acts on nothing for 30 s, its view included.
    // If no sentinel has started a failover well after down-after, one that
    // is not in TILT is asked to (SENTINEL FAILOVER): a failover vote that
    // split, or a replica not yet seen as good, would otherwise retry only
    // after twice failover-timeout. What the harness waits for is a new
    // master; how the sentinels agree on it is theirs, not sessiond's.
    const auto start = std::chrono::steady_clock::now();
    auto nudge_at = start + std::chrono::milliseconds(down_after_ms_) + 4s;
    unsigned short found = 0;
    std::string seen;
    const bool ok = eventually(
        [&] {
            seen.clear();
            found = 0;
            std::map<unsigned short, int> votes;
            for (const auto& s : sentinels_) {
                const auto p = reported_master(s->port);
                seen += " " + std::to_string(p);
                if (p != 0 && p != old_port) ++votes[p];
            }
            for (const auto& [port, count] : votes)
                if (count * 2 > static_cast<int>(sentinels_.size()) && role_of(port) == "master") found = port;
            if (found != 0) return true;
            if (votes.empty() && std::chrono::steady_clock::now() >= nudge_at) {
                nudge_at = std::chrono::steady_clock::now() + 5s;
                for (const auto& s : sentinels_) {
                    auto info = try_ask(s->port, {"INFO", "sentinel"});
                    if (!info || info_field(info->str, "sentinel_tilt") == "1") continue;
                    // -INPROG (a failover under way) or -NOGOODSLAVE: wait on.
                    try_ask(s->port, {"SENTINEL", "FAILOVER", master_name});
                    break;
                }
            }
            return false;
        },
        timeout, 50ms);
    if (!ok) {
        std::string states;
        for (const auto& s : sentinels_) {
            auto info = try_ask(s->port, {"INFO", "sentinel"});
            states += "; sentinel " + std::to_string(s->port) + ": " +
                      (info ? "tilt=" + info_field(info->str, "sentinel_tilt") + " " + info_field(info->str, "master0")
                            : std::string("no answer"));
        }
        throw std::runtime_error("sentinel_setup: no new master instead of " + std::to_string(old_port) +
                                 "; the sentinels report:" + seen + states);
    }
    return found;
}

// ----------------------------------------------------------------- Cluster

struct cluster_setup::node {
    temp_dir dir;
    unsigned short port = 0;
    unsigned short bus_port = 0;  // cluster-port, chosen free like the port
    std::unique_ptr<process> proc;
};

namespace {

// Slot -> primary port in one node's view (CLUSTER SLOTS); 0 = unowned.
// Empty if the node does not answer.
std::vector<unsigned short> slot_view(unsigned short port) {
    auto r = try_ask(port, {"CLUSTER", "SLOTS"});
    if (!r || r->kind != resp_value::array) return {};
    std::vector<unsigned short> owners(16384, 0);
    for (const auto& range : r->elements) {
        if (range.elements.size() < 3) continue;
        const auto owner = static_cast<unsigned short>(range.elements[2].elements.at(1).num);
        for (long long s = range.elements[0].num; s <= range.elements[1].num; ++s)
            owners[static_cast<std::size_t>(s)] = owner;
    }
    return owners;
}

void start_cluster_node(cluster_setup::node& n, int node_timeout_ms, const std::vector<std::string>& extra,
                        bool fixed) {
    auto argv = [&](unsigned short p) {
        // The bus port is picked with the port, each attempt; a restart keeps
        // both, as the other nodes know them.
        if (!fixed) {
            do
                n.bus_port = free_port();
            while (n.bus_port == p);
        }
        auto argv = data_node_argv(p, n.dir);
        argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file", n.dir.file("nodes.conf"),
                                 "--cluster-node-timeout", std::to_string(node_timeout_ms), "--cluster-port",
                                 std::to_string(n.bus_port)});
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    };
    n.proc = start_redis(argv, n.dir, n.port, fixed);
}

}  // namespace

cluster_setup::cluster_setup(int node_timeout_ms, std::vector<std::string> extra_redis_args)
    : node_timeout_ms_(node_timeout_ms), extra_args_(std::move(extra_redis_args)) {
    std::string create = "redis-cli --cluster create";
    for (int i = 0; i < 6; ++i) {
        auto n = std::make_unique<node>();
        start_cluster_node(*n, node_timeout_ms_, extra_args_, false);
        create += " 127.0.0.1:" + std::to_string(n->port);
        nodes_.push_back(std::move(n));
    }
    int status = 0;
    const auto out = run(create + " --cluster-replicas 1 --cluster-yes 2>&1", status);
    if (status != 0) throw std::runtime_error("cluster_setup: redis-cli --cluster create failed: " + out);
    wait_until_ok(20s);
    // A failover (manual or after a kill) needs every replica in sync.
    const bool synced = eventually(
        [&] {
            for (const auto& n : nodes_) {
                auto r = try_ask(n->port, {"ROLE"});
                if (!r || r->elements.empty()) return false;
                if (r->elements[0].str == "slave" && r->elements.at(3).str != "connected") return false;
            }
            return true;
        },
        10s, 20ms);
    if (!synced) throw std::runtime_error("cluster_setup: the replicas did not sync");
}

cluster_setup::~cluster_setup() {
    for (auto& n : nodes_)
        if (n->proc) n->proc->signal(SIGKILL);
}

std::vector<unsigned short> cluster_setup::ports() const {
    std::vector<unsigned short> out;
    for (const auto& n : nodes_)
        out.push_back(n->port);
    return out;
}

std::string cluster_setup::url() const {
    return "redis+cluster://" + seeds({nodes_[0]->port, nodes_[1]->port, nodes_[2]->port});
}

std::string cluster_setup::cli(unsigned short port, const std::vector<std::string>& args) const {
    return cli_at(port, args);
}

cluster_setup::node& cluster_setup::find(unsigned short port) const {
    for (const auto& n : nodes_)
        if (n->port == port) return *n;
    throw std::invalid_argument("cluster_setup: no node on port " + std::to_string(port));
}

std::vector<unsigned short> cluster_setup::live_ports() const {
    std::vector<unsigned short> out;
    for (const auto& n : nodes_)
        if (n->proc && n->proc->running()) out.push_back(n->port);
    return out;
}

unsigned short cluster_setup::owner_of_slot(int slot) const {
    std::map<unsigned short, int> votes;
    for (auto p : live_ports()) {
        auto view = slot_view(p);
        if (!view.empty() && view.at(static_cast<std::size_t>(slot)) != 0)
            ++votes[view[static_cast<std::size_t>(slot)]];
    }
    if (votes.empty())
        throw std::runtime_error("cluster_setup: no node knows the owner of slot " + std::to_string(slot));
    return std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
}

int cluster_setup::slot_of(const std::string& key) const {
    for (auto p : live_ports())
        if (auto r = try_ask(p, {"CLUSTER", "KEYSLOT", key}); r && r->kind == resp_value::integer)
            return static_cast<int>(r->num);
    throw std::runtime_error("cluster_setup: no live node for CLUSTER KEYSLOT");
}

void cluster_setup::kill_node(unsigned short port) {
    kill_process(find(port).proc);
}

void cluster_setup::restart_node(unsigned short port) {
    auto& n = find(port);
    if (n.proc && n.proc->running()) return;
    start_cluster_node(n, node_timeout_ms_, extra_args_, true);
}

void cluster_setup::wait_until_ok(std::chrono::milliseconds timeout) const {
    std::string why;
    const bool ok = eventually(
        [&] {
            const auto live = live_ports();
            std::vector<unsigned short> agreed;
            for (auto p : live) {
                auto info = try_ask(p, {"CLUSTER", "INFO"});
                if (!info || info_field(info->str, "cluster_state") != "ok") {
                    why = "127.0.0.1:" + std::to_string(p) + " is not ok";
                    return false;
                }
                auto view = slot_view(p);
                if (agreed.empty()) agreed = view;
                if (view != agreed) {
                    why = "127.0.0.1:" + std::to_string(p) + " sees other slot owners";
                    return false;
                }
            }
            // Right after a kill every node may still agree on the dead owner.
            for (auto owner : agreed)
                if (std::find(live.begin(), live.end(), owner) == live.end()) {
                    why = "a slot is still owned by 127.0.0.1:" + std::to_string(owner);
                    return false;
                }
            return !agreed.empty();
        },
        timeout, 50ms);
    if (!ok) throw std::runtime_error("cluster_setup: not ok in time: " + why);
}

void cluster_setup::migrate_slot(int slot, unsigned short to_port, const std::function<void()>& while_migrating) {
    const auto from_port = owner_of_slot(slot);
    if (from_port == to_port) return;
    begin_migration(slot, to_port);
    if (while_migrating) while_migrating();
    move_keys(slot, to_port);
    finish_migration(slot, from_port, to_port);
}

void cluster_setup::begin_migration(int slot, unsigned short to_port) {
    const auto from_port = owner_of_slot(slot);
    const auto s = std::to_string(slot);
    const auto from_id = ask_ok(from_port, {"CLUSTER", "MYID"}).str;
    const auto to_id = ask_ok(to_port, {"CLUSTER", "MYID"}).str;
    // Importing first: once the source says MIGRATING it sends ASK there.
    ask_ok(to_port, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id});
    ask_ok(from_port, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id});
}

void cluster_setup::move_keys(int slot, unsigned short to_port) {
    const auto from_port = owner_of_slot(slot);
    const auto s = std::to_string(slot);
    for (;;) {
        auto keys = ask_ok(from_port, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
        if (keys.elements.empty()) break;
        std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(to_port), "", "0", "5000", "KEYS"};
        for (const auto& k : keys.elements)
            migrate.push_back(k.str);
        ask_ok(from_port, migrate);
    }
}

void cluster_setup::finish_migration(int slot, unsigned short from_port, unsigned short to_port) {
    const auto s = std::to_string(slot);
    const auto to_id = ask_ok(to_port, {"CLUSTER", "MYID"}).str;
    // Target first (it must own the slot before the source stops redirecting
    // with ASK), then the source, then the other primaries; replicas learn it
    // from their primaries.
    ask_ok(to_port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    ask_ok(from_port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
    for (auto p : live_ports())
        if (p != to_port && p != from_port && role_of(p) == "master")
            ask_ok(p, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
}

unsigned short cluster_setup::add_primary() {
    auto n = std::make_unique<node>();
    start_cluster_node(*n, node_timeout_ms_, extra_args_, false);
    const auto port = n->port;
    const auto& met = *nodes_.front();
    ask_ok(port, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(met.port), std::to_string(met.bus_port)});
    const auto id = ask_ok(port, {"CLUSTER", "MYID"}).str;
    nodes_.push_back(std::move(n));
    std::string why;
    const bool joined = eventually(
        [&] {
            for (auto p : live_ports()) {
                auto r = try_ask(p, {"CLUSTER", "NODES"});
                if (!r) {
                    why = "127.0.0.1:" + std::to_string(p) + " does not answer";
                    return false;
                }
                const auto at = r->str.find(id);
                const auto eol = r->str.find('\n', at);
                const auto line = at == std::string::npos ? std::string() : r->str.substr(at, eol - at);
                if (line.find(" connected") == std::string::npos || line.find("handshake") != std::string::npos) {
                    why = "127.0.0.1:" + std::to_string(p) + " does not list the new node as connected";
                    return false;
                }
            }
            return true;
        },
        20s, 20ms);
    if (!joined) throw std::runtime_error("cluster_setup: the new primary did not join: " + why);
    // It takes MIGRATE only once it knows every slot's owner (cluster_state:ok).
    wait_until_ok(20s);
    return port;
}

void cluster_setup::manual_failover(unsigned short replica_port, std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    ask_ok(replica_port, {"CLUSTER", "FAILOVER"});
    if (!eventually([&] { return role_of(replica_port) == "master"; }, timeout, 20ms))
        throw std::runtime_error("cluster_setup: 127.0.0.1:" + std::to_string(replica_port) +
                                 " did not become primary");
    wait_until_ok(std::max(
        std::chrono::milliseconds(1000),
        timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)));
}

unsigned short cluster_setup::replica_of(unsigned short primary_port) const {
    for (auto p : live_ports()) {
        if (p == primary_port) continue;
        auto r = try_ask(p, {"ROLE"});
        if (r && r->elements.size() >= 3 && r->elements[0].str == "slave" && r->elements[2].num == primary_port)
            return p;
    }
    throw std::runtime_error("cluster_setup: no live replica of 127.0.0.1:" + std::to_string(primary_port));
}

}  // namespace sessiond::test
