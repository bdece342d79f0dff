#pragma once
// Where each command goes. The client hands every command to a router: the
// standalone router spreads them over its connections to one instance, the
// Sentinel router sends them to the primary the sentinels name, the Cluster
// router to the primary serving the key's slot; callers see no difference.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "redis/command.hpp"
#include "redis/completion.hpp"
#include "redis/config.hpp"

namespace sessiond::redis {

// What a router knows of the deployment right now (/metrics, /readyz detail).
struct topology_status {
    topology mode = topology::standalone;
    std::string primary;            // the node written to (standalone, Sentinel); "" if unknown
    std::size_t primaries = 0;      // Cluster: primaries in the slot map
    std::size_t slots_covered = 0;  // Cluster: slots with a known primary (16384 when whole)
};

class router {
public:
    virtual ~router() = default;

    virtual void start() = 0;
    virtual void stop() = 0;
    // Commands can be served now: a connection to the primary (or, in a
    // cluster, to every slot's primary) is ready. Any thread.
    virtual bool ready() const noexcept = 0;
    // The most recent connection failure (for logs and /readyz details).
    virtual boost::system::error_code last_error() const = 0;
    // Sends `cmd` to where the key `route` lives (empty: anywhere); `done`
    // completes with the reply or an error, never inline (any thread).
    // durable: WAIT for the configured replicas after it (node_pool::submit).
    virtual void submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) = 0;
    // Sends `cmd` (keyless) to every primary and completes once all have
    // answered, with the first error if any: SCRIPT LOAD, so that a script
    // is there wherever a redirect may send its EVALSHA. One node: submit().
    virtual void broadcast(const command& cmd, detail::completion&& done) { submit(cmd, {}, std::move(done), false); }
    // Any thread.
    virtual topology_status status() const = 0;

    // The primaries commands go to now (the owning thread).
    virtual std::vector<endpoint> primaries() const = 0;
    // Where the invalidation links of client-side caching connect
    // (tracking.hpp): every node that takes writes now or may take them
    // without a word to this client. A Cluster replica is promoted by the
    // cluster itself and its old primary lives on as a replica that still
    // answers, so a Cluster tracks the replicas as well: the writes of a
    // promoted replica are heard on a link that is already established. A
    // Sentinel closes every client connection of the nodes it reconfigures,
    // which ends the links (and so the cache's trust) by itself.
    virtual std::vector<endpoint> tracked() const { return primaries(); }
    // `f` is called on the owning thread whenever the primaries or the slots
    // they serve change (a failover, a new slot map, a MOVED): whatever was
    // learnt from the old topology may no longer hold.
    void on_topology_change(std::function<void()> f) { topology_changed_ = std::move(f); }

protected:
    void topology_changed() const {
        if (topology_changed_) topology_changed_();
    }

private:
    std::function<void()> topology_changed_;
};

}  // namespace sessiond::redis
