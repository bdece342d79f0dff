#include "redis/cluster_router.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "redis/redis_metrics.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

constexpr std::uint8_t max_redirects = 5;
constexpr std::uint8_t max_retries = 8;
constexpr milliseconds first_retry_delay{10};
constexpr milliseconds max_retry_delay{80};
// Bounds of the commands that wait: for a node's first connection, and for a
// fresh member list after a redirect to an unknown address.
constexpr std::size_t max_waiting_per_node = 4096;
constexpr std::size_t max_unverified = 1024;
// An import target is tracked this long after the last ASK that named it
// (a migration interrupted midway goes on answering ASK for hours).
constexpr std::chrono::seconds import_target_kept{60};

const command& asking_command() {
    static const command asking = command::keyless("ASKING");
    return asking;
}

bool retried_later(const error_code& ec) {
    return ec == error::tryagain || ec == error::clusterdown || ec == error::loading;
}

}  // namespace

struct cluster_router::refresh_answers {
    std::pair<error_code, reply> slots;
    std::pair<error_code, reply> nodes;
    int left = 2;
};

void cluster_router::op::operator()(const error_code& ec, reply r) {
    cluster_router* router = owner.get();
    router->on_reply(std::move(*this), ec, std::move(r));
}

cluster_router::cluster_router(asio::io_context& ioc, std::shared_ptr<const connection_settings> settings,
                               std::size_t connections)
    : ioc_(ioc), settings_(std::move(settings)), connections_(connections), timer_(ioc) {}

cluster_router::~cluster_router() = default;

void cluster_router::start() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (self->stopped_ || self->started_) return;
        self->started_ = true;
        self->connect_seeds();
        self->tick();
    });
}

void cluster_router::stop() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (self->stopped_) return;
        self->stopped_ = true;
        self->timer_.cancel();
        const auto ex = self->ioc_.get_executor();
        for (auto& n : self->nodes_) {
            for (auto& o : std::exchange(n->waiting, {}))
                o.done.post(asio::error::operation_aborted, ex);
            n->pool->stop();
        }
        for (auto& u : std::exchange(self->unverified_, {}))
            u.o.done.post(asio::error::operation_aborted, ex);
        for (auto& r : self->retiring_)
            r.n->pool->stop();
        self->ready_.store(false);
    });
}

bool cluster_router::ready() const noexcept {
    return ready_.load(std::memory_order_acquire);
}

error_code cluster_router::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

topology_status cluster_router::status() const {
    return {topology::cluster, "", primaries_.load(), covered_.load()};
}

std::vector<endpoint> cluster_router::primaries() const {
    std::vector<endpoint> out;
    const node* last = nullptr;
    for (const node* n : slots_) {
        if (!n || n == last) continue;
        last = n;
        if (std::find(out.begin(), out.end(), n->where) == out.end()) out.push_back(n->where);
    }
    for (const auto& t : importing_)
        if (std::find(out.begin(), out.end(), t.where) == out.end()) out.push_back(t.where);
    return out;
}

std::vector<endpoint> cluster_router::tracked() const {
    auto out = primaries();
    for (const auto& r : live_)
        if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    return out;
}

bool cluster_router::is_member(const endpoint& where) const {
    const auto& seeds = settings_->cfg.seeds;
    return std::find(members_.begin(), members_.end(), where) != members_.end() ||
           std::find(seeds.begin(), seeds.end(), where) != seeds.end();
}

// A node that answers through ASK may own no slot yet (a new, empty node
// that slots are being moved to): its invalidations must reach the cache
// before any reply of it fills the cache. Linking to it is a topology change:
// the cache is dropped, and fills wait until the new link tracks.
void cluster_router::note_import_target(const endpoint& where) {
    const auto now = clock::now();
    for (auto& t : importing_)
        if (t.where == where) {
            t.last_ask = now;
            return;
        }
    const auto owners = primaries();
    importing_.push_back({where, now});
    if (std::find(owners.begin(), owners.end(), where) == owners.end()) topology_changed();
}

cluster_router::node& cluster_router::node_at(const endpoint& where) {
    for (auto& n : nodes_)
        if (n->where == where) return *n;
    for (auto it = retiring_.begin(); it != retiring_.end(); ++it)
        if (it->n->where == where) {
            nodes_.push_back(std::move(it->n));
            retiring_.erase(it);
            return *nodes_.back();
        }
    auto n = std::make_unique<node>();
    n->where = where;
    n->pool = std::make_unique<node_pool>(ioc_, settings_, where, connections_, shared_from_this());
    if (!stopped_) n->pool->start();
    nodes_.push_back(std::move(n));
    return *nodes_.back();
}

cluster_router::node* cluster_router::any_ready_node() {
    const std::size_t n = nodes_.size();
    for (std::size_t i = 0; i < n; ++i) {
        node* candidate = nodes_[next_++ % n].get();
        if (candidate->pool->ready()) return candidate;
    }
    return nullptr;
}

void cluster_router::connect_seeds() {
    for (const auto& seed : settings_->cfg.seeds)
        node_at(seed);
}

void cluster_router::submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) {
    op o;
    o.owner = shared_from_this();
    o.p = std::make_unique<op::payload>(op::payload{cmd, {}, false});
    if (route != cmd.key()) {
        o.p->route = std::string(route);
        o.p->own_route = true;
    }
    o.done = std::move(done);
    o.durable = durable;
    o.deadline = command_deadline(settings_->cfg.command_timeout);
    send(std::move(o));
}

void cluster_router::broadcast(const command& cmd, detail::completion&& done) {
    const auto ex = ioc_.get_executor();
    if (stopped_ || nodes_.empty()) return done.post(make_error_code(error::not_connected), ex);
    struct gather {
        std::size_t left;
        error_code first;
        reply last;
        detail::completion done;
    };
    auto g = std::make_shared<gather>(gather{nodes_.size(), {}, {}, std::move(done)});
    for (auto& n : nodes_) {
        detail::completion each([g, ex](const error_code& ec, reply r) {
            if (ec && !g->first) g->first = ec;
            g->last = std::move(r);
            if (--g->left == 0) g->done.complete(g->first, std::move(g->last), ex);
        });
        if (auto ec = n->pool->submit(cmd, {}, each, n->pool->deadline())) each.post(ec, ex);
    }
}

void cluster_router::send(op&& o) {
    const auto ex = ioc_.get_executor();
    if (stopped_) return o.done.post(asio::error::operation_aborted, ex);
    const std::string_view route = o.route_key();
    node* n = nullptr;
    if (o.asking)
        n = &node_at(o.ask_to);
    else if (!route.empty())
        n = slots_[key_slot(route)];
    else
        n = any_ready_node();
    if (!n) {
        want_refresh_ = true;
        return o.done.post(make_error_code(error::not_connected), ex);
    }
    if (!n->connected_once && !n->pool->ready()) {
        // A node just learnt of (a redirect, a new map): its pool is still
        // connecting. The command waits for it rather than failing at once.
        if (n->waiting.size() >= max_waiting_per_node) return o.done.post(make_error_code(error::busy), ex);
        n->waiting.push_back(std::move(o));
        return;
    }
    const bool asking = std::exchange(o.asking, false);
    o.sent_to = n->where.host;
    const command& cmd = o.p->cmd;  // on the heap: stays put while `o` moves
    const auto deadline = o.deadline;
    const bool durable = o.durable;
    node_pool& pool = *n->pool;
    detail::completion c(std::move(o));
    const error_code ec = asking ? pool.submit_after(asking_command(), cmd, route, c, deadline)
                                 : pool.submit(cmd, route, c, deadline, durable);
    if (ec) c.post(ec, ex);  // back through on_reply, which answers with it
}

void cluster_router::on_reply(op&& o, const error_code& ec, reply&& r) {
    if (!stopped_ && (ec == error::moved || ec == error::ask) && o.redirects < max_redirects) {
        if (auto to = parse_redirect(r.str(), o.sent_to)) {
            ++o.redirects;
            if (is_member(to->where)) return follow(std::move(o), *to);
            // Not a node the cluster's map lists: ask for the members again
            // before sending anything (AUTH, a client certificate) there.
            if (unverified_.size() >= max_unverified) {
                metrics::redis_redirects_refused.inc();
                return o.done.complete(make_error_code(error::redirect_refused), std::move(r), ioc_.get_executor());
            }
            want_refresh_ = true;
            unverified_.push_back({std::move(o), std::move(*to)});
            refresh();
            return;
        }
    }
    if (!stopped_ && retried_later(ec) && o.retries < max_retries) {
        const auto delay = std::min(max_retry_delay, first_retry_delay * (1 << o.retries));
        if (clock::now() + delay < o.deadline) {
            ++o.retries;
            metrics::redis_cluster_retries.inc();
            if (ec == error::clusterdown) want_refresh_ = true;
            auto timer = std::make_shared<asio::steady_timer>(ioc_, delay);
            timer->async_wait([timer, o = std::move(o)](const error_code&) mutable {
                cluster_router* router = o.owner.get();
                router->send(std::move(o));
            });
            return;
        }
    }
    // The node is down or unreachable: its slots may have a new primary.
    if (ec == error::not_connected || ec == error::connection_lost || ec == error::timeout) want_refresh_ = true;
    o.done.complete(ec, std::move(r), ioc_.get_executor());
}

void cluster_router::follow(op&& o, const redirect& to) {
    if (to.ask) {
        metrics::redis_redirects.local(metrics::redis_redirect::ask).inc();
        o.asking = true;
        o.ask_to = to.where;
        note_import_target(to.where);
    } else {
        metrics::redis_redirects.local(metrics::redis_redirect::moved).inc();
        node* owner = &node_at(to.where);
        const bool moved = std::exchange(slots_[to.slot], owner) != owner;
        want_refresh_ = true;
        if (moved) topology_changed();
    }
    send(std::move(o));
}

// After a member list came in (or could not be had): each redirect that
// waited for it is followed if its address is now a member, refused if not.
void cluster_router::settle_unverified() {
    for (auto& u : std::exchange(unverified_, {})) {
        if (is_member(u.to.where)) {
            follow(std::move(u.o), u.to);
            continue;
        }
        metrics::redis_redirects_refused.inc();
        // Once a second at most: a node that keeps naming a foreign
        // address must not flood the log (the metric counts every one).
        const auto now = clock::now();
        if (now - last_refusal_logged_ >= std::chrono::seconds(1)) {
            last_refusal_logged_ = now;
            emit(settings_->cfg.log, log_level::warn,
                 "redis cluster redirect refused: the address is not a member of the cluster",
                 {{"node", to_string(u.to.where)}});
        }
        u.o.done.post(make_error_code(error::redirect_refused), ioc_.get_executor());
    }
}

// Commands that waited for a pool's first connection, or for a member list,
// until their deadline: nothing was sent.
void cluster_router::expire_waiting(clock::time_point now) {
    const auto ex = ioc_.get_executor();
    for (auto& n : nodes_)
        std::erase_if(n->waiting, [&](op& o) {
            if (now < o.deadline) return false;
            o.done.post(make_error_code(error::not_connected), ex);
            return true;
        });
    std::erase_if(unverified_, [&](unverified& u) {
        if (now < u.o.deadline) return false;
        u.o.done.post(make_error_code(error::not_connected), ex);
        return true;
    });
}

void cluster_router::refresh() {
    const auto now = clock::now();
    if (refresh_in_flight_ || now < last_refresh_ + settings_->cfg.min_refresh_interval) return;
    node* n = any_ready_node();
    if (!n) {
        connect_seeds();  // nothing known answers: start again from the seeds
        return;
    }
    last_refresh_ = now;
    want_refresh_ = false;
    refresh_in_flight_ = true;
    const auto gen = ++refresh_gen_;
    metrics::redis_topology_refreshes.inc();
    static const command slots_command = command::keyless("CLUSTER", "SLOTS");
    static const command nodes_command = command::keyless("CLUSTER", "NODES");
    auto answers = std::make_shared<refresh_answers>();
    auto collect = [weak = std::weak_ptr<cluster_router>(shared_from_this()), gen, asked = n->where,
                    answers](bool slots) {
        return detail::completion([weak, gen, asked, answers, slots](const error_code& ec, reply r) {
            auto& [answer_ec, answer] = slots ? answers->slots : answers->nodes;
            answer_ec = ec;
            answer = std::move(r);
            if (--answers->left != 0) return;
            if (auto self = weak.lock()) self->on_map(gen, asked, *answers);
        });
    };
    auto on_slots = collect(true);
    auto on_nodes = collect(false);
    // One connection (the same route), so both describe the same moment.
    const auto deadline = n->pool->deadline();
    if (n->pool->submit(slots_command, "cluster-map", on_slots, deadline)) {
        refresh_in_flight_ = false;
        want_refresh_ = true;
        return;
    }
    if (auto ec = n->pool->submit(nodes_command, "cluster-map", on_nodes, deadline))
        on_nodes.post(ec, ioc_.get_executor());
}

void cluster_router::on_map(std::uint64_t gen, const endpoint& asked, const refresh_answers& answers) {
    if (gen != refresh_gen_ || stopped_) return;
    refresh_in_flight_ = false;
    const auto& [slots_ec, slots_reply] = answers.slots;
    auto ranges = slots_ec ? std::nullopt : parse_cluster_slots(slots_reply, asked.host);
    if (!ranges) {
        const std::string text = slots_ec ? slots_ec.message() : "malformed CLUSTER SLOTS reply";
        emit(settings_->cfg.log, log_level::warn, "redis cluster slot map refresh failed",
             {{"node", to_string(asked)}, {"error", text}});
        want_refresh_ = true;  // redirects waiting for the members wait for the next one
        return;
    }
    // The members: every node CLUSTER NODES lists and every primary of the
    // slot map. Without CLUSTER NODES (an ACL without it) only the latter, so
    // that a redirect to a node that owns no slot yet is refused.
    const auto& [nodes_ec, nodes_reply] = answers.nodes;
    auto members = nodes_ec ? std::nullopt : parse_cluster_nodes(nodes_reply, asked.host);
    if (!members) {
        if (!std::exchange(members_logged_, true))
            emit(settings_->cfg.log, log_level::warn,
                 "redis cluster member list unavailable: redirects are followed only to the slot map's primaries "
                 "(grant CLUSTER NODES)",
                 {{"node", to_string(asked)},
                  {"error", nodes_ec ? nodes_ec.message() : std::string("malformed CLUSTER NODES reply")}});
        members.emplace();
    }
    auto add = [](std::vector<endpoint>& to, const endpoint& e) {
        if (std::find(to.begin(), to.end(), e) == to.end()) to.push_back(e);
    };
    // Without CLUSTER NODES, the replicas CLUSTER SLOTS names are the live
    // members the cache follows besides the primaries.
    for (const auto& range : *ranges) {
        add(members->addresses, range.primary);
        for (const auto& r : range.replicas)
            add(members->live, r);
    }
    members_ = std::move(members->addresses);
    std::sort(members->live.begin(), members->live.end());

    std::array<node*, cluster_slots> next{};
    for (const auto& range : *ranges) {
        node* n = &node_at(range.primary);
        std::fill(next.begin() + range.first, next.begin() + range.last + 1, n);
    }
    const bool changed = next != slots_ || members->live != live_;
    slots_ = next;
    live_ = std::move(members->live);
    retire_unused();
    update_status();
    if (changed) topology_changed();
    settle_unverified();
}

// Nodes that serve no slot are stopped once the commands sent to them have
// had their time; MOVED to one of them brings it back meanwhile.
void cluster_router::retire_unused() {
    const auto stop_at = clock::now() + settings_->cfg.command_timeout + milliseconds(100);
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        const bool used = std::find(slots_.begin(), slots_.end(), it->get()) != slots_.end() ||
                          std::any_of(importing_.begin(), importing_.end(),
                                      [&](const import_target& t) { return t.where == (*it)->where; }) ||
                          !(*it)->waiting.empty();
        if (used) {
            ++it;
            continue;
        }
        retiring_.push_back({std::move(*it), stop_at});
        it = nodes_.erase(it);
    }
}

void cluster_router::update_status() {
    std::vector<node*> seen;
    std::size_t covered = 0;
    bool all_ready = true;
    for (node* n : slots_) {
        if (!n) continue;
        ++covered;
        if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
        seen.push_back(n);
        all_ready = all_ready && n->pool->ready();
    }
    primaries_.store(seen.size());
    covered_.store(covered);
    ready_.store(!stopped_ && covered == cluster_slots && all_ready, std::memory_order_release);
}

void cluster_router::on_ready(connection& c) {
    if (stopped_) return;
    for (auto& n : nodes_) {
        if (n->where != c.where()) continue;
        n->connected_once = true;
        for (auto& o : std::exchange(n->waiting, {}))
            send(std::move(o));
    }
    update_status();
}

void cluster_router::on_down(connection&, const error_code& why) {
    if (stopped_) return;
    want_refresh_ = true;
    {
        std::lock_guard lock(error_mutex_);
        last_error_ = why;
    }
    update_status();
}

void cluster_router::tick() {
    tick_every(timer_, settings_->tick, weak_from_this(), settings_->cfg.log, "redis cluster router tick",
               [](cluster_router& self) {
                   if (self.stopped_) return false;
                   self.on_tick();
                   return true;
               });
}

void cluster_router::on_tick() {
    const auto now = clock::now();
    for (auto it = retiring_.begin(); it != retiring_.end();) {
        if (now < it->stop_at) {
            ++it;
            continue;
        }
        it->n->pool->stop();
        it = retiring_.erase(it);
    }
    expire_waiting(now);
    const auto before = importing_.size();
    std::erase_if(importing_, [&](const import_target& t) { return now - t.last_ask > import_target_kept; });
    if (importing_.size() != before) topology_changed();
    const auto periodic = settings_->cfg.topology_refresh;
    if (periodic.count() > 0 && now >= next_periodic_) {
        next_periodic_ = now + periodic;
        want_refresh_ = true;
    }
    if (want_refresh_) refresh();
    update_status();
}

}  // namespace sessiond::redis
