#include "redis/tracking.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "redis/redis_metrics.hpp"
#include "redis/error.hpp"
#include "redis/node_pool.hpp"

namespace sessiond::redis {

namespace {

using boost::system::error_code;

constexpr std::string_view invalidate_channel = "__redis__:invalidate";

// The link's own settings: the data nodes' handshake (AUTH, SELECT, ROLE
// behind sentinels), subscribed once tracking is on.
std::shared_ptr<const connection_settings> link_settings(const connection_settings& data) {
    auto s = std::make_shared<connection_settings>(data);
    s->subscriber = true;
    return s;
}

}  // namespace

invalidation_tracker::invalidation_tracker(boost::asio::io_context& ioc, const connection_settings& settings,
                                           std::string prefix)
    : ioc_(ioc), settings_(link_settings(settings)), prefix_(std::move(prefix)), timer_(ioc) {}

invalidation_tracker::~invalidation_tracker() {
    for (auto& l : links_)
        l->conn->stop();
}

void invalidation_tracker::start() {
    tick_every(timer_, heartbeat, weak_from_this(), settings_->cfg.log, "redis invalidation heartbeat",
               [](invalidation_tracker& self) { return self.beat(); });
}

void invalidation_tracker::stop() {
    stopped_ = true;
    timer_.cancel();
    for (auto& l : links_)
        l->conn->stop();
    links_.clear();
    // No listener call: its owner may be going away too.
    ++epoch_;
    established_ = false;
    metrics::cache_tracking.set(0);
}

void invalidation_tracker::track(const std::vector<endpoint>& nodes) {
    if (stopped_) return;
    std::erase_if(links_, [&](const std::unique_ptr<link>& l) {
        const bool kept = std::find(nodes.begin(), nodes.end(), l->conn->where()) != nodes.end();
        if (!kept) l->conn->stop();
        return !kept;
    });
    for (const auto& where : nodes) {
        const bool known =
            std::any_of(links_.begin(), links_.end(), [&](const auto& l) { return l->conn->where() == where; });
        if (known) continue;
        auto& l = links_.emplace_back(std::make_unique<link>());
        l->conn = std::make_shared<connection>(ioc_, settings_, where, 0, weak_from_this());
        l->conn->start();
    }
    update();
    flush("topology changed");
}

bool invalidation_tracker::fresh(clock::time_point now) const noexcept {
    if (!established_) return false;
    return std::all_of(links_.begin(), links_.end(), [&](const auto& l) { return now - l->heard <= stale_after; });
}

invalidation_tracker::link* invalidation_tracker::find(const connection& c) {
    for (auto& l : links_)
        if (l->conn.get() == &c) return l.get();
    return nullptr;
}

void invalidation_tracker::on_ready(connection& c) {
    link* l = find(c);
    if (!l || stopped_) return;
    const auto attempt = ++l->attempt;
    static const command client_id = command::keyless("CLIENT", "ID");
    detail::completion done([weak = weak_from_this(), conn = &c, attempt](const error_code& ec, const reply& r) {
        auto self = weak.lock();
        link* l = self ? self->find(*conn) : nullptr;
        if (!l || l->attempt != attempt) return;
        if (ec || !r.is_integer()) return self->refused(*l, "CLIENT ID", ec, r);
        self->enable(*l, r.integer());
    });
    if (auto ec = c.submit(client_id, done, command_deadline(settings_->cfg.command_timeout)))
        done.post(ec, ioc_.get_executor());
}

// CLIENT TRACKING and SUBSCRIBE back to back: a RESP2 connection takes no
// CLIENT command once subscribed. The link tracks once SUBSCRIBE is answered.
void invalidation_tracker::enable(link& l, long long own_id) {
    const std::string id = std::to_string(own_id);
    const command tracking =
        prefix_.empty() ? command::keyless("CLIENT", "TRACKING", "on", "REDIRECT", id, "BCAST")
                        : command::keyless("CLIENT", "TRACKING", "on", "REDIRECT", id, "BCAST", "PREFIX", prefix_);
    static const command subscribe = command::keyless("SUBSCRIBE", invalidate_channel);
    const auto deadline = command_deadline(settings_->cfg.command_timeout);
    auto step = [weak = weak_from_this(), conn = l.conn.get(), attempt = l.attempt](std::string_view name) {
        return detail::completion([weak, conn, attempt, name](const error_code& ec, const reply& r) {
            auto self = weak.lock();
            link* l = self ? self->find(*conn) : nullptr;
            if (!l || l->attempt != attempt) return;
            if (ec) return self->refused(*l, name, ec, r);
            if (name != "SUBSCRIBE") {
                l->tracking_on = true;
                return;
            }
            // Subscribed, but without tracking (refused above) nothing would come.
            if (!l->tracking_on) return;
            l->tracking = true;
            l->heard = clock::now();
            self->update();
        });
    };
    auto on_tracking = step("CLIENT TRACKING");
    auto on_subscribe = step("SUBSCRIBE");
    if (auto ec = l.conn->submit(tracking, on_tracking, deadline)) return on_tracking.post(ec, ioc_.get_executor());
    if (auto ec = l.conn->submit(subscribe, on_subscribe, deadline)) on_subscribe.post(ec, ioc_.get_executor());
}

// A node that refuses tracking (an ACL without CLIENT or SUBSCRIBE, a Redis
// before 6, a managed service that forbids it) leaves the cache blind:
// every validation then reads Redis, as without a cache. Said once.
void invalidation_tracker::refused(const link& l, std::string_view step, const error_code& ec, const reply& r) {
    if (ec == error::connection_lost || ec == error::timeout || ec == error::not_connected) return;  // on_down follows
    if (refusal_logged_) return;
    refusal_logged_ = true;
    const std::string node = to_string(l.conn->where());
    emit(settings_->cfg.log, log_level::warn,
         "redis refused client-side caching: validations read Redis every time (grant CLIENT and SUBSCRIBE, or "
         "set cache=false)",
         {{"node", node}, {"command", step}, {"error", ec.message()}, {"reply", r.str()}});
}

void invalidation_tracker::on_down(connection& c, const error_code&) {
    link* l = find(c);
    if (!l || stopped_) return;
    ++l->attempt;
    l->ping_out = false;
    l->tracking_on = false;
    const bool was_tracking = std::exchange(l->tracking, false);
    update();
    if (was_tracking) flush("invalidation link lost");
}

void invalidation_tracker::on_push(connection& c, reply&& message) {
    link* l = find(c);
    if (!l || !l->tracking) return;
    const auto e = message.elements();
    if (e.size() != 3 || e[1].str() != invalidate_channel) return;
    l->heard = clock::now();
    const reply& keys = e[2];
    if (!keys.is_array()) {
        // No keys: the node was flushed (FLUSHALL, FLUSHDB).
        flush("redis flushed");
        return;
    }
    if (!listener_) return;
    for (const auto& key : keys.elements())
        listener_->on_invalidate(key.str());
}

void invalidation_tracker::flush(std::string_view) {
    ++epoch_;
    if (listener_) listener_->on_flush();
}

void invalidation_tracker::update() {
    established_ = !stopped_ && !links_.empty() &&
                   std::all_of(links_.begin(), links_.end(), [](const auto& l) { return l->tracking; });
    metrics::cache_tracking.set(established_ ? 1 : 0);
}

// Each tracking link PINGs every heartbeat (a subscribed connection may);
// any answer, even late, proves that the link is current up to then.
bool invalidation_tracker::beat() {
    if (stopped_) return false;
    static const command ping = command::keyless("PING");
    for (auto& l : links_) {
        if (!l->tracking || l->ping_out) continue;
        l->ping_out = true;
        detail::completion done(
            [weak = weak_from_this(), conn = l->conn.get(), attempt = l->attempt](const error_code& ec, const reply&) {
                auto self = weak.lock();
                link* l = self ? self->find(*conn) : nullptr;
                if (!l || l->attempt != attempt) return;
                l->ping_out = false;
                if (!ec) l->heard = clock::now();
            });
        if (auto ec = l->conn->submit(ping, done, command_deadline(settings_->cfg.command_timeout)))
            done.post(ec, ioc_.get_executor());
    }
    return true;
}

}  // namespace sessiond::redis
