#pragma once
// Routes each command to the primary that serves its key's slot in a Redis
// Cluster.
//
// The slot map comes from CLUSTER SLOTS, and the cluster's members from
// CLUSTER NODES, both asked of any node this router is connected to (the
// seeds at first, and again when none answers). Each primary gets its own
// pool of connections on this I/O thread; a command for a node whose pool has
// not connected yet waits for it (within the command's deadline). A MOVED
// reply updates the slot at once, asks for a fresh map and sends the command
// to the named node; ASK sends ASKING and the command, back to back, to the
// node importing the slot (once, the map unchanged). A redirect is followed
// only to a member of the cluster (or a seed): one naming another address
// waits for a fresh member list and is refused (error::redirect_refused,
// counted) if the address is still not on it, so that no reply can send AUTH
// or the client certificate elsewhere. TRYAGAIN, CLUSTERDOWN and
// LOADING are retried after 10, 20, 40, then every 80 ms while the command's deadline
// allows, then answered as they are (503). A connection lost or timed out is
// never retried (a write may have happened); it asks for a fresh map. The
// map is also refreshed every topology_refresh, and never more often than
// min_refresh_interval.
//
// The nodes tracked() names, where the invalidation links of the validation
// cache connect, are the slots' primaries, every node an ASK sent a command
// to lately (the importing side of a slot migration, which may own no slot
// yet) and every other member not marked failed, replicas included (any of
// them may be promoted by a failover this client hears of only later): a
// reply from a node is never one whose invalidations the cache does not
// hear, and a write to a newly promoted primary is heard on a link
// established before it took writes (tracking.hpp).
//
// Each I/O thread keeps its own map: no lock on the request path; a change is
// learnt by each thread from its own redirects and refreshes.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/cluster_map.hpp"
#include "redis/node_pool.hpp"
#include "redis/router.hpp"

namespace sessiond::redis {

class cluster_router final : public router,
                             public connection_observer,
                             public std::enable_shared_from_this<cluster_router> {
public:
    cluster_router(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings,
                   std::size_t connections);
    ~cluster_router() override;

    void start() override;
    void stop() override;
    bool ready() const noexcept override;
    boost::system::error_code last_error() const override;
    void submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) override;
    topology_status status() const override;
    std::vector<endpoint> primaries() const override;
    std::vector<endpoint> tracked() const override;
    void broadcast(const command& cmd, detail::completion&& done) override;

    void on_ready(connection& c) override;
    void on_down(connection& c, const boost::system::error_code& why) override;

    // A command on its way, with what a redirect or a retry needs.
    struct op {
        // On the heap, so that views of it survive the op's moves.
        struct payload {
            command cmd;
            std::string route;  // when not the command's own key
            bool own_route = false;
        };
        std::shared_ptr<cluster_router> owner;
        std::unique_ptr<payload> p;
        detail::completion done;
        connection::clock::time_point deadline;
        std::string sent_to;  // the host it went to last (a redirect without a host names it)
        std::uint8_t redirects = 0;
        std::uint8_t retries = 0;
        bool durable = false;
        bool asking = false;  // the next send goes with ASKING to `ask_to`
        endpoint ask_to;

        std::string_view route_key() const noexcept { return p->own_route ? std::string_view(p->route) : p->cmd.key(); }
        void operator()(const boost::system::error_code& ec, reply r);
    };

private:
    using clock = connection::clock;
    struct node {
        endpoint where;
        std::unique_ptr<node_pool> pool;
        bool connected_once = false;  // a connection of the pool has been ready
        std::vector<op> waiting;      // sent before the pool first connected
    };
    // A redirect to an address that is not (yet) a known member.
    struct unverified {
        op o;
        redirect to;
    };
    // A node an ASK sent commands to: tracked as long as it may answer.
    struct import_target {
        endpoint where;
        clock::time_point last_ask;
    };
    // The answers of one refresh (CLUSTER SLOTS, CLUSTER NODES).
    struct refresh_answers;

    node& node_at(const endpoint& where);
    node* any_ready_node();
    void send(op&& o);
    void follow(op&& o, const redirect& to);
    bool is_member(const endpoint& where) const;
    void note_import_target(const endpoint& where);
    void on_reply(op&& o, const boost::system::error_code& ec, reply&& r);
    void refresh();
    void on_map(std::uint64_t gen, const endpoint& asked, const refresh_answers& answers);
    void settle_unverified();
    void expire_waiting(clock::time_point now);
    void connect_seeds();
    void retire_unused();
    void tick();
    void on_tick();
    void update_status();

    boost::asio::io_context& ioc_;
    std::shared_ptr<const connection_settings> settings_;
    const std::size_t connections_;
    boost::asio::steady_timer timer_;

    // The owning thread only.
    std::vector<std::unique_ptr<node>> nodes_;
    std::array<node*, cluster_slots> slots_{};
    struct retired {
        std::unique_ptr<node> n;
        clock::time_point stop_at;
    };
    std::vector<retired> retiring_;
    std::vector<endpoint> members_;  // CLUSTER NODES, the slot map's primaries and the seeds
    std::vector<unverified> unverified_;
    std::vector<import_target> importing_;
    std::vector<endpoint> live_;  // members not marked failed, replicas included (cluster_members::live)
    bool members_logged_ = false;
    clock::time_point last_refusal_logged_{};
    std::size_t next_ = 0;
    bool stopped_ = false;
    bool started_ = false;
    bool want_refresh_ = true;
    bool refresh_in_flight_ = false;
    std::uint64_t refresh_gen_ = 0;
    clock::time_point last_refresh_{};
    clock::time_point next_periodic_{};

    // Read by other threads.
    std::atomic<bool> ready_{false};
    std::atomic<std::size_t> primaries_{0};
    std::atomic<std::size_t> covered_{0};
    mutable std::mutex error_mutex_;
    boost::system::error_code last_error_;  // guarded by error_mutex_
};

}  // namespace sessiond::redis
