#include "redis/sentinel_router.hpp"

#include <charconv>

#include <boost/asio/post.hpp>

#include "redis/redis_metrics.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {

namespace asio = boost::asio;
using boost::system::error_code;

sentinel_router::sentinel_router(asio::io_context& ioc, std::shared_ptr<const connection_settings> data,
                                 std::shared_ptr<const connection_settings> sentinel,
                                 std::shared_ptr<const connection_settings> watch, std::size_t connections)
    : ioc_(ioc),
      data_(std::move(data)),
      sentinel_(std::move(sentinel)),
      watch_settings_(std::move(watch)),
      connections_(connections),
      timer_(ioc),
      round_backoff_(data_->cfg.reconnect_min, data_->cfg.reconnect_max,
                     static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {}

sentinel_router::~sentinel_router() = default;

void sentinel_router::start() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (self->stopped_ || self->query_) return;
        self->open_sentinel();
        self->tick();
    });
}

void sentinel_router::stop() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (self->stopped_) return;
        self->stopped_ = true;
        self->timer_.cancel();
        if (self->query_) self->query_->stop();
        if (self->watch_) self->watch_->stop();
        if (self->primary_) self->primary_->stop();
        for (auto& [pool, at] : self->retiring_)
            pool->stop();
        self->ready_.store(false);
    });
}

bool sentinel_router::ready() const noexcept {
    return ready_.load(std::memory_order_acquire);
}

error_code sentinel_router::last_error() const {
    std::lock_guard lock(status_mutex_);
    return last_error_;
}

topology_status sentinel_router::status() const {
    std::lock_guard lock(status_mutex_);
    return {topology::sentinel, primary_text_, 0, 0};
}

std::vector<endpoint> sentinel_router::primaries() const {
    if (!primary_) return {};
    return {primary_at_};
}

void sentinel_router::submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) {
    if (!primary_) return done.post(make_error_code(error::not_connected), ioc_.get_executor());
    if (auto ec = primary_->submit(cmd, route, done, primary_->deadline(), durable)) done.post(ec, ioc_.get_executor());
}

void sentinel_router::open_sentinel() {
    const auto& where = data_->cfg.seeds[current_];
    ++sentinel_gen_;
    sentinel_down_ = false;
    lookup_in_flight_ = false;
    want_lookup_ = true;
    const std::weak_ptr<connection_observer> me = shared_from_this();
    query_ = std::make_shared<connection>(ioc_, sentinel_, where, 0, me);
    watch_ = std::make_shared<connection>(ioc_, watch_settings_, where, 1, me);
    query_->start();
    watch_->start();
}

// The next sentinel at once; after a whole round without an answer, the
// round starts again after a growing pause (as a connection's reconnects).
void sentinel_router::next_sentinel() {
    query_->stop();
    watch_->stop();
    const auto now = clock::now();
    next_switch_ = now + data_->cfg.min_refresh_interval;
    if (++failed_in_a_row_ % data_->cfg.seeds.size() == 0) {
        const auto pause = round_backoff_.next();
        next_switch_ = now + pause;
        emit(data_->cfg.log, round_backoff_.failures() == 1 ? log_level::warn : log_level::debug,
             "no sentinel named the redis primary; asking them again",
             {{"sentinels", data_->cfg.seeds.size()}, {"pause_ms", pause.count()}});
    }
    current_ = (current_ + 1) % data_->cfg.seeds.size();
    open_sentinel();
}

void sentinel_router::lookup() {
    if (lookup_in_flight_ || !query_->ready()) return;
    const auto now = clock::now();
    if (now < last_lookup_ + data_->cfg.min_refresh_interval) return;
    last_lookup_ = now;
    want_lookup_ = false;
    lookup_in_flight_ = true;
    metrics::redis_topology_refreshes.inc();
    const command ask = command::keyless("SENTINEL", "get-master-addr-by-name", data_->cfg.master_name);
    std::weak_ptr<sentinel_router> weak = shared_from_this();
    detail::completion done([weak, gen = sentinel_gen_](const error_code& ec, const reply& r) {
        if (auto self = weak.lock()) self->on_lookup(gen, ec, r);
    });
    if (query_->submit(ask, done, command_deadline(sentinel_->cfg.command_timeout))) {
        lookup_in_flight_ = false;
        want_lookup_ = true;
    }
}

void sentinel_router::on_lookup(std::uint64_t gen, const error_code& ec, const reply& r) {
    if (gen != sentinel_gen_ || stopped_) return;
    lookup_in_flight_ = false;
    const auto e = r.elements();
    unsigned port = 0;
    const bool named =
        !ec && e.size() == 2 && !e[0].str().empty() &&
        std::from_chars(e[1].str().data(), e[1].str().data() + e[1].str().size(), port).ec == std::errc{} && port > 0 &&
        port < 65536;
    if (!named) {
        // Down, refusing (NOPERM, unknown name: nil), or answering nonsense:
        // ask the next sentinel.
        const std::string text = ec ? ec.message() : to_string(r);
        emit(data_->cfg.log, log_level::warn, "sentinel did not name the redis primary",
             {{"sentinel", to_string(query_->where())}, {"master_name", data_->cfg.master_name}, {"reply", text}});
        sentinel_down_ = true;
        want_lookup_ = true;
        return;
    }
    failed_in_a_row_ = 0;
    round_backoff_.reset();
    use_primary(endpoint{std::string(e[0].str()), static_cast<std::uint16_t>(port)}, "sentinel lookup");
}

void sentinel_router::use_primary(const endpoint& where, std::string_view why) {
    if (primary_ && where == primary_at_) return;
    const std::string to = to_string(where);
    if (primary_) {
        metrics::redis_failovers.inc();
        const std::string from = to_string(primary_at_);
        emit(data_->cfg.log, log_level::warn, "redis primary changed", {{"from", from}, {"to", to}, {"by", why}});
        // Commands in flight there get their answers (a demoted node refuses
        // writes with READONLY) or time out; then the pool is stopped.
        retiring_.emplace_back(std::move(primary_),
                               clock::now() + data_->cfg.command_timeout + std::chrono::milliseconds(100));
    } else {
        emit(data_->cfg.log, log_level::info, "redis primary found", {{"primary", to}, {"by", why}});
    }
    primary_at_ = where;
    primary_ = std::make_unique<node_pool>(ioc_, data_, where, connections_, shared_from_this());
    primary_->start();
    {
        std::lock_guard lock(status_mutex_);
        primary_text_ = to;
    }
    update_ready();
    topology_changed();
}

void sentinel_router::update_ready() noexcept {
    ready_.store(!stopped_ && primary_ && primary_->ready(), std::memory_order_release);
}

void sentinel_router::on_ready(connection& c) {
    if (stopped_) return;
    if (&c == watch_.get()) want_lookup_ = true;  // an announcement may have been missed meanwhile
    if (&c == query_.get()) lookup();
    update_ready();
}

void sentinel_router::on_down(connection& c, const error_code& why) {
    if (stopped_) return;
    if (is_sentinel(c)) {
        sentinel_down_ = true;
        return;
    }
    if (primary_ && c.where() == primary_at_) {
        want_lookup_ = true;
        std::lock_guard lock(status_mutex_);
        last_error_ = why;
    }
    update_ready();
}

void sentinel_router::on_readonly(connection& c) {
    if (!stopped_ && primary_ && c.where() == primary_at_) want_lookup_ = true;
}

std::optional<endpoint> parse_switch_master(std::string_view payload, std::string_view master_name) {
    std::string_view words[5];
    for (auto& w : words) {
        const auto space = payload.find(' ');
        w = payload.substr(0, space);
        payload = space == std::string_view::npos ? std::string_view{} : payload.substr(space + 1);
    }
    if (!payload.empty() || words[0] != master_name || words[3].empty()) return std::nullopt;
    unsigned port = 0;
    const auto [p, ec] = std::from_chars(words[4].data(), words[4].data() + words[4].size(), port);
    if (ec != std::errc{} || p != words[4].data() + words[4].size() || port == 0 || port > 65535) return std::nullopt;
    return endpoint{std::string(words[3]), static_cast<std::uint16_t>(port)};
}

void sentinel_router::on_push(connection& c, reply&& message) {
    if (stopped_ || &c != watch_.get()) return;
    const auto e = message.elements();
    if (e.size() != 3 || e[1].str() != "+switch-master") return;
    if (auto to = parse_switch_master(e[2].str(), data_->cfg.master_name)) use_primary(*to, "+switch-master");
}

void sentinel_router::tick() {
    tick_every(timer_, data_->tick, weak_from_this(), data_->cfg.log, "redis sentinel router tick",
               [](sentinel_router& self) {
                   if (self.stopped_) return false;
                   self.on_tick();
                   return true;
               });
}

void sentinel_router::on_tick() {
    const auto now = clock::now();
    std::erase_if(retiring_, [now](auto& r) {
        if (now < r.second) return false;
        r.first->stop();
        return true;
    });
    if (sentinel_down_ && now >= next_switch_) next_sentinel();
    const auto refresh = data_->cfg.topology_refresh;
    if (refresh.count() > 0 && now >= next_periodic_) {
        next_periodic_ = now + refresh;
        want_lookup_ = true;
    }
    if (want_lookup_) lookup();
    update_ready();
}

}  // namespace sessiond::redis
