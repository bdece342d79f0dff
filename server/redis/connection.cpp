#include "redis/connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <utility>

#include "common/coarse_clock.hpp"
#include "common/contained.hpp"
#include "redis/redis_metrics.hpp"
#include "redis/error.hpp"

namespace sessiond::redis {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

bool is_auth_error(const error_code& ec) {
    return ec == error::wrongpass || ec == error::noauth || ec == error::noperm;
}

const command& ping_command() {
    static const command ping = command::keyless("PING");
    return ping;
}

std::uint64_t seed_for(std::size_t index) {
    const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return now ^ (static_cast<std::uint64_t>(index + 1) * 0x9E3779B97F4A7C15ULL);
}

}  // namespace

connection::transport::transport(const executor_type& ex, asio::ssl::context* ctx) : sock(ex) {
    if (ctx) tls.emplace(sock, *ctx);
}

connection::connection(asio::io_context& ioc, std::shared_ptr<const connection_settings> settings, endpoint where,
                       std::size_t index, std::weak_ptr<connection_observer> observer)
    : io_ex_(ioc.get_executor()),
      settings_(std::move(settings)),
      where_(std::move(where)),
      index_(index),
      observer_(std::move(observer)),
      pipe_(settings_->cfg.max_in_flight),
      resolver_(io_ex_),
      timer_(io_ex_),
      backoff_(settings_->cfg.reconnect_min, settings_->cfg.reconnect_max, seed_for(index)) {}

connection::~connection() = default;

void connection::start() {
    asio::post(io_ex_, [self = shared_from_this()] {
        if (self->state_ != state::idle) return;
        self->do_connect();
        self->do_tick();
    });
}

void connection::stop() {
    asio::post(io_ex_, [self = shared_from_this()] {
        if (self->state_ == state::stopped) return;
        self->state_ = state::stopped;
        self->timer_.cancel();
        self->fail(asio::error::operation_aborted);
    });
}

error_code connection::last_error() const {
    return last_error_;
}

error_code connection::submit(const command& cmd, detail::completion& done, clock::time_point deadline) {
    pipeline::push_result r = pipe_.push(cmd.bytes(), done, deadline);
    if (r.ec == error::not_connected && is_auth_error(last_error_)) r.ec = last_error_;
    if (r.ec) return r.ec;
    if (r.schedule_flush) schedule_flush();
    return {};
}

void connection::log(log_level level, std::string_view message, std::initializer_list<log_field> fields) const {
    if (const auto& sink = settings_->cfg.log)
        sink(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

void connection::contained(std::string_view task, const std::exception_ptr& e) const noexcept {
    const std::string text = contain_exception(e);
    try {
        log(log_level::error, "exception contained", {{"task", task}, {"connection", index_}, {"error", text}});
    } catch (...) {
        // The injected logger failed too: the count is kept.
    }
}

void connection::complete(detail::completion& done, const error_code& ec, reply r) noexcept {
    try {
        done.complete(ec, std::move(r), io_ex_);
    } catch (...) {
        // A handler that ran inline threw: the replies after it are still
        // delivered and the connection keeps reading.
        contained("redis completion handler", std::current_exception());
    }
}

template <class Event>
void connection::notify(std::string_view task, Event&& event) noexcept {
    try {
        if (auto o = observer_.lock()) event(*o);
    } catch (...) {
        contained(task, std::current_exception());
    }
}

void connection::schedule_flush() {
    asio::post(io_ex_, [self = shared_from_this()] { self->do_flush(false); });
}

void connection::do_connect() {
    const config& cfg = settings_->cfg;
    state_ = state::connecting;
    ++gen_;
    connect_deadline_ = cfg.connect_timeout.count() > 0 ? clock::now() + cfg.connect_timeout : clock::time_point::max();
    auto t = std::make_shared<transport>(io_ex_, settings_->tls.get());
    transport_ = t;
    decoder_.reset();
    writing_ = false;

    auto self = shared_from_this();
    const auto gen = gen_;
    auto on_connect = [self, gen, t](const error_code& ec) {
        if (gen != self->gen_) return;
        if (ec) return self->fail(ec);
        self->on_connected(gen, t);
    };
    error_code ec;
    const auto address = asio::ip::make_address(where_.host, ec);
    if (!ec) {
        t->sock.async_connect(tcp::endpoint(address, where_.port), std::move(on_connect));
        return;
    }
    resolver_.async_resolve(where_.host, std::to_string(where_.port),
                            [self, gen, t, on_connect = std::move(on_connect)](
                                const error_code& ec, const tcp::resolver::results_type& results) {
                                if (gen != self->gen_) return;
                                if (ec) return self->fail(ec);
                                asio::async_connect(
                                    t->sock, results,
                                    [on_connect](const error_code& ec, const tcp::endpoint&) { on_connect(ec); });
                            });
}

void connection::on_connected(std::uint64_t gen, const transport_ptr& t) {
    error_code ignored;
    t->sock.set_option(tcp::no_delay(true), ignored);
    if (!t->tls) return do_handshake(t);

    const config& cfg = settings_->cfg;
    const std::string& name = cfg.tls_server_name.empty() ? where_.host : cfg.tls_server_name;
    error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(t->tls->native_handle(), name.c_str());  // SNI takes names only
    if (cfg.tls_verify) t->tls->set_verify_callback(asio::ssl::host_name_verification(name));
    t->tls->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(), gen, t](const error_code& ec) {
        if (gen != self->gen_) return;
        if (ec) return self->fail(ec);
        self->do_handshake(t);
    });
}

void connection::do_handshake(const transport_ptr& t) {
    state_ = state::handshaking;
    do_read(t);
    const auto& steps = settings_->handshake;
    if (steps.empty()) return become_ready();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        pipe_.push_internal(
            steps[i].cmd.bytes(),
            detail::completion([self = shared_from_this(), gen = gen_, i](const error_code& ec, const reply& r) {
                self->on_handshake_reply(gen, i, ec, r);
            }),
            connect_deadline_);
    }
    do_flush(true);
}

void connection::on_handshake_reply(std::uint64_t gen, std::size_t step, const error_code& ec, const reply& r) {
    if (gen != gen_) return;  // the attempt failed meanwhile
    const auto& steps = settings_->handshake;
    error_code judged = ec;
    if (!ec && steps[step].check) judged = steps[step].check(r);
    if (judged && !ec) {
        log(log_level::warn, "redis node refused by the handshake",
            {{"connection", index_},
             {"node", to_string(where_)},
             {"command", steps[step].cmd.name()},
             {"error", judged.message()}});
        return fail(judged);
    }
    if (ec) {
        // NOAUTH on any step: Redis wants a password we do not have; staying up
        // would only refuse every command.
        if (steps[step].required || ec == error::noauth) {
            log(log_level::error, "redis handshake refused",
                {{"connection", index_}, {"command", steps[step].cmd.name()}, {"reply", r.str()}});
            return fail(ec);
        }
        log(log_level::warn, "redis handshake step refused, ignored",
            {{"connection", index_},
             {"command", steps[step].cmd.name()},
             {"subcommand", steps[step].cmd.arg(1)},
             {"reply", r.str()}});
    }
    if (step + 1 == steps.size()) become_ready();
}

void connection::become_ready() {
    state_ = state::ready;
    backoff_.reset();
    pipe_.open();
    pipe_.note_activity(clock::now());
    last_error_.clear();
    ready_.store(true, std::memory_order_release);
    was_up_ = true;
    if (std::exchange(ever_ready_, true)) metrics::redis_reconnects.inc();
    log(log_level::info, "redis connection ready",
        {{"connection", index_}, {"host", where_.host}, {"port", where_.port}});
    notify("redis observer", [this](connection_observer& o) { o.on_ready(*this); });
}

// force: write even while earlier commands await replies (see take_output).
void connection::do_flush(bool force) {
    if (writing_ || !transport_) return;
    auto t = transport_;
    if (!pipe_.take_output(t->write_buf, force)) return;
    writing_ = true;
    auto on_written = [self = shared_from_this(), gen = gen_, t](const error_code& ec, std::size_t) {
        self->on_write(gen, ec);
    };
    if (t->tls)
        asio::async_write(*t->tls, asio::buffer(t->write_buf), std::move(on_written));
    else
        asio::async_write(t->sock, asio::buffer(t->write_buf), std::move(on_written));
}

void connection::on_write(std::uint64_t gen, const error_code& ec) {
    if (gen != gen_) return;
    writing_ = false;
    if (ec) return fail(ec);
    do_flush(false);
}

void connection::do_read(const transport_ptr& t) {
    auto on_data = [self = shared_from_this(), gen = gen_, t](const error_code& ec, std::size_t n) {
        self->on_read(gen, t, ec, n);
    };
    if (t->tls)
        t->tls->async_read_some(asio::buffer(t->read_buf), std::move(on_data));
    else
        t->sock.async_read_some(asio::buffer(t->read_buf), std::move(on_data));
}

void connection::on_read(std::uint64_t gen, const transport_ptr& t, const error_code& ec, std::size_t n) {
    if (gen != gen_) return;
    if (ec) return fail(ec);
    // Decode everything this read brought, then match it to commands.
    if (!decoder_.decode(std::string_view(t->read_buf.data(), n), replies_)) {
        log(log_level::error, "redis protocol error", {{"connection", index_}, {"error", decoder_.error_message()}});
        replies_.clear();
        return fail(error::protocol_error);
    }
    pipe_.note_activity(coarse_steady_now());
    if (settings_->subscriber) take_pushes();
    if (replies_.size() > pipe_.awaiting()) {
        log(log_level::error, "redis reply without a command", {{"connection", index_}});
        replies_.clear();
        return fail(error::protocol_error);
    }
    for (std::size_t i = 0; i < replies_.size(); ++i)
        done_.push_back(pipe_.pop());
    do_read(t);
    // Handlers may run inline (same executor) and submit more commands.
    for (std::size_t i = 0; i < done_.size(); ++i) {
        reply& r = replies_[i];
        const error_code rec = r.is_error() ? make_error_code(error_from_reply(r.str())) : error_code{};
        if (rec == error::readonly) notify("redis observer", [this](connection_observer& o) { o.on_readonly(*this); });
        complete(done_[i].done, rec, std::move(r));
    }
    replies_.clear();
    done_.clear();
    // Redis answered: send what was held meanwhile, including what the
    // handlers above just queued, in one write.
    if (gen == gen_) do_flush(true);
}

void connection::do_tick() {
    timer_.expires_after(settings_->tick);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->state_ == state::stopped) return;
        try {
            self->on_tick();
        } catch (...) {
            self->contained("redis connection tick", std::current_exception());
        }
        self->do_tick();
    });
}

void connection::on_tick() {
    const auto now = clock::now();
    switch (state_) {
        case state::connecting:
        case state::handshaking:
            if (now >= connect_deadline_) fail(error::timeout);
            break;
        case state::ready: {
            const auto action = pipe_.on_tick(now, settings_->cfg.ping_interval);
            if (action == pipeline::tick_action::timeout) {
                log(log_level::warn, "redis command timed out, resetting the connection", {{"connection", index_}});
                fail(error::timeout);
            } else if (action == pipeline::tick_action::ping) {
                send_ping();
            }
            break;
        }
        case state::waiting:
            if (now >= retry_at_) do_connect();
            break;
        case state::idle:
        case state::stopped:
            break;
    }
}

void connection::send_ping() {
    const auto timeout = settings_->cfg.command_timeout;
    const auto deadline = timeout.count() > 0 ? clock::now() + timeout : clock::time_point::max();
    // Any reply, even an error (an ACL user without PING), proves the link works.
    pipe_.push_internal(ping_command().bytes(), detail::completion([](const error_code&, const reply&) {}), deadline);
    do_flush(true);
}

void connection::fail(const error_code& why) {
    ++gen_;  // handlers of this attempt, including those completed below, do nothing
    const bool stopping = state_ == state::stopped;
    ready_.store(false, std::memory_order_release);
    if (transport_) {
        error_code ignored;
        transport_->sock.close(ignored);
        transport_.reset();
    }
    resolver_.cancel();
    writing_ = false;

    std::vector<pipeline::entry> failed;
    pipe_.take_all(failed);
    if (!stopping) last_error_ = why;
    const auto now = clock::now();
    error_code for_callers = why;
    if (why.category() != error_category() && why != asio::error::operation_aborted)
        for_callers = error::connection_lost;
    for (auto& e : failed) {
        error_code ec = for_callers;
        if (why == error::timeout && e.deadline > now) ec = error::connection_lost;
        complete(e.done, ec, reply{});
    }
    if (stopping) return;

    if (settings_->cfg.log) {
        const bool first = was_up_ || backoff_.failures() == 0;
        const std::string text = why.message();
        log(first ? log_level::warn : log_level::debug,
            first ? "redis connection failed" : "redis connection failed again",
            {{"connection", index_}, {"host", where_.host}, {"port", where_.port}, {"error", text}});
    }
    was_up_ = false;
    state_ = state::waiting;
    retry_at_ = now + backoff_.next();
    notify("redis observer", [this, &why](connection_observer& o) { o.on_down(*this, why); });
}

// A subscribed connection's "message" arrays are events, not replies.
void connection::take_pushes() {
    std::size_t kept = 0;
    for (auto& r : replies_) {
        const auto e = r.elements();
        if (r.is_array() && e.size() == 3 && e[0].str() == "message") {
            reply message = std::move(r);
            notify("redis observer",
                   [this, &message](connection_observer& o) { o.on_push(*this, std::move(message)); });
            continue;
        }
        if (&replies_[kept] != &r) replies_[kept] = std::move(r);
        ++kept;
    }
    replies_.resize(kept);
}

}  // namespace sessiond::redis
