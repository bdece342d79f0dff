#include "redis/client.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <string_view>
#include <system_error>

#include "redis/cluster_router.hpp"
#include "redis/connection.hpp"
#include "redis/handshake.hpp"
#include "redis/sentinel_router.hpp"
#include "redis/standalone_router.hpp"
#include "redis/tls.hpp"

namespace sessiond::redis {

std::chrono::milliseconds tick_for(const config& cfg) {
    using std::chrono::milliseconds;
    milliseconds shortest{800};
    for (auto t : {cfg.command_timeout, cfg.connect_timeout})
        if (t.count() > 0) shortest = std::min(shortest, t);
    return std::clamp(shortest / 8, milliseconds(5), milliseconds(100));
}

client::client(boost::asio::io_context& ioc, config cfg, std::size_t io_threads) : ioc_(ioc) {
    if (!cfg.password_file.empty()) {
        if (auto ec = load_password_file(cfg))
            throw std::system_error(ec, "Redis password_file '" + cfg.password_file + "'");
    }
    if (cfg.mode != topology::standalone && cfg.seeds.empty())
        throw std::invalid_argument("Redis Sentinel and Cluster need at least one address");
    if (cfg.mode == topology::sentinel && cfg.master_name.empty())
        throw std::invalid_argument("Redis Sentinel needs the name of the monitored primary");
    auto settings = std::make_shared<connection_settings>();
    if (cfg.tls) settings->tls = make_tls_context(cfg);
    settings->handshake = handshake_steps(cfg);
    settings->tick = tick_for(cfg);
    connections_ = cfg.connections != 0 ? cfg.connections : std::max<std::size_t>(1, io_threads);
    settings->cfg = cfg;
    settings_ = settings;
    switch (cfg.mode) {
        case topology::standalone:
            router_ = std::make_shared<standalone_router>(ioc, std::move(settings), connections_);
            break;
        case topology::sentinel: {
            // The sentinels: their own credentials, the same TLS settings.
            auto query = std::make_shared<connection_settings>(*settings);
            query->handshake = sentinel_handshake_steps(cfg, false);
            // The router reports sentinels that do not answer, once per round:
            // each connection's own warnings would repeat it.
            if (cfg.log)
                query->cfg.log = [sink = cfg.log](log_level level, std::string_view message,
                                                  std::span<const log_field> fields) {
                    sink(level == log_level::warn ? log_level::debug : level, message, fields);
                };
            auto watch = std::make_shared<connection_settings>(*query);
            watch->handshake = sentinel_handshake_steps(cfg, true);
            watch->subscriber = true;
            router_ = std::make_shared<sentinel_router>(ioc, std::move(settings), std::move(query), std::move(watch),
                                                        connections_);
            break;
        }
        case topology::cluster:
            router_ = std::make_shared<cluster_router>(ioc, std::move(settings), connections_);
            break;
    }
    cfg_ = std::move(cfg);
}

client::~client() {
    stop();
}

invalidation_tracker& client::enable_tracking(std::string prefix) {
    tracker_ = std::make_shared<invalidation_tracker>(ioc_, *settings_, std::move(prefix));
    router_->on_topology_change([weak = std::weak_ptr<invalidation_tracker>(tracker_), r = router_.get()] {
        if (auto t = weak.lock()) t->track(r->tracked());
    });
    return *tracker_;
}

void client::start() {
    if (stopped_.load()) return;
    router_->start();
    if (tracker_)
        boost::asio::post(ioc_, [t = tracker_, r = router_] {
            t->start();
            t->track(r->tracked());
        });
}

void client::stop() {
    if (stopped_.exchange(true)) return;
    router_->stop();
    if (tracker_) boost::asio::post(ioc_, [t = tracker_] { t->stop(); });
}

bool client::ready() const noexcept {
    return !stopped_.load(std::memory_order_relaxed) && router_->ready();
}

boost::system::error_code client::last_error() const {
    return router_->last_error();
}

topology_status client::status() const {
    return router_->status();
}

void client::submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) {
    if (stopped_.load(std::memory_order_relaxed)) {
        done.post(boost::asio::error::operation_aborted, ioc_.get_executor());
        return;
    }
    router_->submit(cmd, route, std::move(done), durable);
}

void client::broadcast(const command& cmd, detail::completion&& done) {
    if (stopped_.load(std::memory_order_relaxed)) {
        done.post(boost::asio::error::operation_aborted, ioc_.get_executor());
        return;
    }
    router_->broadcast(cmd, std::move(done));
}

command client::make_evalsha(const script& s, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) {
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    const std::string numkeys = std::to_string(keys.size());
    argv.push_back("EVALSHA");
    argv.push_back(s.sha1());
    argv.push_back(numkeys);
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return command::from_args(argv, keys.empty() ? command::no_key : 3);
}

}  // namespace sessiond::redis
