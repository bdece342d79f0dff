#include "http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "common/metrics.hpp"
#include "http/exchange.hpp"
#include "http/framing.hpp"
#include "http/problem.hpp"
#include "common/coarse_clock.hpp"
#include "http/request_id.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"

namespace sessiond::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket&>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 4096;  // bytes asked of one read

// One client connection. Its deadlines are coarse: the server's sweep
// (sweep_loop) cancels the socket of a connection past its deadline, which
// costs one store per operation instead of a timer per operation. Touched
// only on the server's thread, like the server's table of connections.
struct server::connection {
    using clock = std::chrono::steady_clock;
    connection(tcp::socket s, asio::ip::address from, const exchange_limits& limits, bool in_reserve)
        : socket(std::move(s)), client(std::move(from)), fsm(limits, in_reserve), reserved(in_reserve) {}
    // Three per request: the coarse clock, as the sweep is coarser still.
    void expires_after(clock::duration d) { deadline = coarse_steady_now() + d; }

    tcp::socket socket;
    asio::ip::address client;
    std::size_t client_slot = client_counts::uncounted;
    clock::time_point deadline = clock::time_point::max();
    std::unique_ptr<peer_certificate> peer;  // mTLS: the verified client certificate's names
    exchange_fsm fsm;                        // what its exchanges do next
    bool idle = false;                       // waiting for a request
    bool reserved = false;                   // in the probe reserve: one probe, then close
    connection* idle_older = nullptr;        // the server's list of idle connections
    connection* idle_newer = nullptr;
};

server::server(asio::io_context& ioc, const http_config& cfg, const router& routes, bool access_log,
               std::atomic<std::size_t>& open_connections, client_counts& per_client)
    : ioc_(ioc),
      cfg_(cfg),
      routes_(routes),
      access_log_(access_log),
      acceptor_(ioc),
      open_connections_(open_connections),
      per_client_(per_client) {}

server::~server() = default;

asio::awaitable<void> server::sweep_loop() {
    // A quarter of the shortest timeout, within [10 ms, 250 ms]: a deadline
    // is enforced at most that late.
    auto shortest = std::min({cfg_.read_timeout, cfg_.idle_timeout, cfg_.write_timeout});
    auto tick = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(10),
                                                      std::chrono::milliseconds(250));
    asio::steady_timer timer(ioc_);
    std::vector<std::shared_ptr<connection>> expired;
    for (;;) {
        timer.expires_after(tick);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec) co_return;
        auto now = coarse_steady_now();
        for (auto& [ptr, weak] : connections_)
            if (ptr->deadline <= now)
                if (auto c = weak.lock()) expired.push_back(std::move(c));
        for (auto& c : expired) {
            c->deadline = connection::clock::time_point::max();
            beast::error_code ignored;
            c->socket.cancel(ignored);
        }
        expired.clear();
    }
}

void server::start(std::optional<unsigned short> port, bool reuse_port) {
    auto address = asio::ip::make_address(cfg_.address);
    tcp::endpoint endpoint(address, port.value_or(cfg_.port));
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    if (reuse_port) acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    keep_running("http accept loop", &server::accept_loop);
    keep_running("http deadline sweep", &server::sweep_loop);
}

void server::keep_running(std::string_view task, asio::awaitable<void> (server::*loop)()) {
    asio::co_spawn(ioc_, (this->*loop)(), [this, task, loop](const std::exception_ptr& e) {
        if (!e) return;  // ended by the shutdown
        log::contained_exception(task, e);
        if (stopping_) return;
        // After a pause: an exception that comes back at once must not spin.
        auto pause = std::make_shared<asio::steady_timer>(ioc_, restart_pause);
        pause->async_wait([this, task, loop, pause](const beast::error_code& ec) {
            if (ec || stopping_) return;
            log::warn("restarting after an exception", {{"task", task}});
            keep_running(task, loop);
        });
    });
}

asio::awaitable<void> server::accept_loop() {
    asio::steady_timer backoff(acceptor_.get_executor());
    std::chrono::steady_clock::time_point last_accept_log{};
    for (;;) {
        // The connection's executor is its thread's io_context, which only
        // that thread runs: an implicit strand, without a strand's cost.
        auto [ec, socket] = co_await acceptor_.async_accept(ioc_, use_tuple);
        if (stopping_) {
            // Accepted as the drain began: its request may be on its way.
            if (!ec) admit(std::move(socket));
            co_return;
        }
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            // Once a second at most: a full descriptor table fails every accept.
            auto now = std::chrono::steady_clock::now();
            if (now - last_accept_log >= std::chrono::seconds(1)) {
                last_accept_log = now;
                log::warn("accept failed", {{"error", ec.message()}});
            }
            // Out of descriptors or memory: new connections cannot be served
            // now, but they can in a moment; keep the loop alive.
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        admit(std::move(socket));
    }
}

void server::admit(tcp::socket socket) {
    beast::error_code ignored;
    auto client = socket.remote_endpoint(ignored).address();
    if (on_accept_) on_accept_(client);
    // A client at its own cap is refused even while the process has
    // room; at the process limit the oldest idle connection makes room.
    auto slot = per_client_.try_add(client);
    bool over = !slot;
    if (!over && open_connections_.load(std::memory_order_relaxed) >= cfg_.max_connections) over = !reclaim_idle();
    bool reserved = over && reserve_admits(client);
    if (over && !reserved) {
        if (slot) per_client_.remove(*slot);
        metrics::get().connections_refused.inc();
        refuse(std::move(socket));
        return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<connection>(std::move(socket), std::move(client), limits(reserved), reserved);
    c->client_slot = slot.value_or(client_counts::uncounted);
    if (stopping_) c->fsm.on_drain_begun();
    if (reserved) reserved_.push_back(c.get());
    c->expires_after(cfg_.idle_timeout);
    connections_.emplace(c.get(), c);
    active_.store(active_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    open_connections_.fetch_add(1, std::memory_order_relaxed);
    metrics::get().connections_accepted.inc();
    auto* raw = c.get();
    asio::co_spawn(ioc_, serve(std::move(c)), [this, raw](const std::exception_ptr& e) {
        if (!e) return;
        // serve() contains what its requests throw; this is for what
        // escaped it: the connection is released, the server goes on.
        log::contained_exception("http connection", e);
        if (auto it = connections_.find(raw); it != connections_.end()) {
            if (auto alive = it->second.lock()) {
                beast::error_code ignored;
                alive->socket.close(ignored);
            }
            on_connection_closed(raw);
        }
    });
}

bool server::reclaim_idle() {
    for (auto* c = idle_oldest_; c; c = c->idle_newer) {
        // Bytes waiting make it a request on its way, not an idle connection;
        // a reserve connection frees no slot.
        beast::error_code ec;
        if (c->reserved || c->socket.available(ec) > 0 || ec) continue;
        set_idle(*c, false);
        c->socket.close(ec);  // its read ends (aborted), its coroutine releases the slot
        metrics::get().connections_reclaimed.inc();
        return true;
    }
    return false;
}

void server::set_idle(connection& c, bool idle) {
    if (c.idle == idle) return;
    c.idle = idle;
    if (idle) {
        c.idle_older = idle_newest_;
        c.idle_newer = nullptr;
        (idle_newest_ ? idle_newest_->idle_newer : idle_oldest_) = &c;
        idle_newest_ = &c;
    } else {
        (c.idle_older ? c.idle_older->idle_newer : idle_oldest_) = c.idle_newer;
        (c.idle_newer ? c.idle_newer->idle_older : idle_newest_) = c.idle_older;
        c.idle_older = c.idle_newer = nullptr;
    }
}

bool server::reserve_admits(const asio::ip::address& client) const {
    if (reserved_.size() >= probe_reserve) return false;
    auto same = std::count_if(reserved_.begin(), reserved_.end(), [&](auto* c) { return c->client == client; });
    return static_cast<std::size_t>(same) < probe_reserve_per_client;
}

namespace {

// Ends a connection after a response so that the peer reads the response
// rather than a reset: stop sending, then discard what it still sends for a
// short while (bounded by `set_deadline`, in bytes too).
template <class Stream, class SetDeadline>
asio::awaitable<void> close_gracefully(Stream& stream, tcp::socket& socket, SetDeadline set_deadline) {
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    if (!ec) {
        set_deadline(std::chrono::milliseconds(500));
        std::array<char, 4096> sink;
        for (std::size_t total = 0; total < 256 * 1024;) {
            auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
            if (rec) break;
            total += n;
        }
    }
    socket.close(ec);
}

// Counts the request and, when `enabled`, writes its access-log line.
void account(bool enabled, const request* req, const response& res, std::string_view route, std::string_view rid,
             std::chrono::steady_clock::time_point started) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    metrics::observe_request(res.result_int(), static_cast<std::uint64_t>(us.count()), route);
    if (!enabled) return;
    log::access("request", {{"method", req ? std::string_view(req->method_string()) : std::string_view("-")},
                            {"route", route},
                            {"status", res.result_int()},
                            {"duration_us", static_cast<std::int64_t>(us.count())},
                            {"bytes", res.body().size()},
                            {"request_id", rid}});
}

}  // namespace

void server::refuse(tcp::socket socket) {
    beast::error_code ec;
    if (tls_) {
        // Not a word of plain text to a TLS client: the close is the refusal.
        socket.close(ec);
        return;
    }
    response res{status::service_unavailable, 11};
    res.set(field::retry_after, "1");
    set_final_problem(res, sessiond::error::too_many_connections, "connection limit reached, retry later", {}, {});
    std::string out;
    serialize(res, out);
    // A fresh socket's send buffer takes the few hundred bytes at once: no
    // coroutine, no descriptor held while it is written.
    socket.non_blocking(true, ec);
    auto sent = ec ? 0 : socket.write_some(asio::buffer(out), ec);
    if (!ec && sent == out.size() && lingering_ < lingering_refusals) {
        ++lingering_;
        asio::co_spawn(ioc_, linger(std::move(socket)), log::contained{"http refusal linger"});
        return;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
}

asio::awaitable<void> server::linger(tcp::socket socket) {
    // Released however the coroutine ends, an exception included.
    struct release {
        std::size_t& lingering;
        ~release() { --lingering; }
    } slot{lingering_};
    beast::tcp_stream stream(std::move(socket));
    co_await close_gracefully(stream, stream.socket(), [&](auto d) { stream.expires_after(d); });
}

namespace {

// Moves what the socket has already received into `buffer`, without
// waiting; true if anything of a next request is there.
bool received_more(tcp::socket& socket, beast::flat_buffer& buffer) {
    beast::error_code ec;
    if (auto n = socket.available(ec); n > 0 && !ec) buffer.commit(socket.read_some(buffer.prepare(n), ec));
    return buffer.size() > 0;
}
// Over TLS, only what was decrypted counts (the socket's bytes may be a
// record not yet whole).
bool received_more(tls_stream& stream, beast::flat_buffer& buffer) {
    return buffer.size() > 0 || SSL_pending(stream.native_handle()) > 0;
}

// The names in the client's certificate, if it sent one that verified
// (the handshake fails on one that does not, unless none is required).
std::unique_ptr<peer_certificate> verified_peer(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return nullptr;
    auto out = std::make_unique<peer_certificate>();
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_URI && name->type != GEN_DNS) continue;
        const ASN1_IA5STRING* text = name->d.ia5;
        std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                          static_cast<std::size_t>(ASN1_STRING_length(text)));
        (name->type == GEN_URI ? out->uris : out->dns).push_back(std::move(value));
    }
    GENERAL_NAMES_free(names);
    X509_NAME* subject = X509_get_subject_name(cert);
    if (const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); at >= 0) {
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
        unsigned char* utf8 = nullptr;
        if (const int n = ASN1_STRING_to_UTF8(&utf8, cn); n >= 0) {
            out->common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
            OPENSSL_free(utf8);
        }
    }
    return out;
}

}  // namespace

asio::awaitable<void> server::serve(std::shared_ptr<connection> c) {
    if (!tls_) {
        co_await serve_on(*c, c->socket);
        co_return;
    }
    // The context current now: a reload meanwhile does not touch this connection.
    const auto context = tls_->current();
    tls_stream stream(c->socket, *context);
    c->expires_after(c->reserved ? std::min(cfg_.read_timeout, probe_timeout) : cfg_.read_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) {
        metrics::get().tls_handshakes_failed.inc();
        log::debug("tls handshake failed", {{"error", ec.message()}});
        beast::error_code ignored;
        c->socket.close(ignored);
        on_connection_closed(c.get());
        co_return;
    }
    c->peer = verified_peer(stream.native_handle());
    co_await serve_on(*c, stream);
}

namespace {

// A read the sweep cancelled, past its deadline (a drain closes the socket
// instead): the peer may still read a 408.
bool timed_out(const beast::error_code& ec, const tcp::socket& socket) {
    return ec == asio::error::operation_aborted && socket.is_open();
}

}  // namespace

template <class Stream>
asio::awaitable<void> server::serve_on(connection& c, Stream& stream) {
    using act = exchange_fsm::action;
    exchange_fsm& fsm = c.fsm;
    beast::flat_buffer buffer;
    std::string wire;  // the serialized response, reused
    std::string rid;   // the request's id, its storage reused
    std::optional<request_parser> parser;
    response res;
    std::optional<router::match_result> match;  // the request's route (matched on the header for 100-continue)
    auto started = std::chrono::steady_clock::now();
    auto a = fsm.next_request(false);
    try {
        while (a != act::close && a != act::close_gracefully) {
            switch (a) {
                case act::read: {
                    // Between requests the idle deadline; within one, the
                    // request's deadline goes on.
                    if (fsm.current() == exchange_fsm::state::idle) {
                        set_idle(c, true);
                        c.expires_after(fsm.timeout());
                    }
                    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(read_chunk), use_tuple);
                    set_idle(c, false);
                    if (!ec) buffer.commit(n);
                    a = !ec ? fsm.on_received() : timed_out(ec, c.socket) ? fsm.on_timeout() : fsm.on_lost();
                    break;
                }
                case act::start:
                    started = std::chrono::steady_clock::now();
                    c.expires_after(fsm.timeout());
                    res = response{};
                    rid.clear();
                    match.reset();
                    // The header first, to be checked before the body is read.
                    apply_limits(parser.emplace(), cfg_);
                    parser->eager(false);
                    [[fallthrough]];
                case act::parse:
                    // What arrived whole, the usual case, takes no further
                    // asynchronous step (beast::http::async_read would post one).
                    a = parse_buffered(fsm, *parser, buffer, rid, cfg_);
                    break;
                case act::check_header:
                    a = fsm.on_header_verdict(header_verdict(routes_, parser->get(), res, rid, c.peer.get(), match));
                    break;
                case act::send_continue: {
                    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(continue_response), use_tuple);
                    a = fsm.on_written(!ec);
                    break;
                }
                case act::refuse: {
                    set_refusal(res, fsm, rid, cfg_);
                    c.expires_after(fsm.timeout());
                    serialize(res, wire);
                    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
                    account(access_log_, nullptr, res, "-", rid, started);
                    a = fsm.on_written(!ec);
                    break;
                }
                case act::dispatch: {
                    request& req = parser->get();
                    res.version(req.version());
                    if (!match) match = routes_.match(req.method(), path_of(req.target()));
                    co_await handle(req, res, rid, *match, c);
                    a = fsm.on_handled(req.keep_alive());
                    break;
                }
                case act::look_ahead:
                    a = fsm.on_looked_ahead(received_more(stream, buffer));
                    break;
                case act::write: {
                    request& req = parser->get();
                    finish_response(res, rid, fsm.keep_alive(), cfg_);
                    c.expires_after(fsm.timeout());
                    serialize(res, wire, req.method() != verb::head);
                    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(wire), use_tuple);
                    account(access_log_, &req, res, match->route.empty() ? "-" : match->route, rid, started);
                    a = fsm.on_written(!ec);
                    break;
                }
                case act::keep_alive:
                    a = fsm.next_request(buffer.size() > 0);
                    break;
                case act::close_gracefully:
                case act::close:
                    break;
            }
        }
    } catch (const std::exception& e) {
        log::error("connection failed", {{"error", e.what()}});
        a = act::close;
    }
    if (a == act::close_gracefully) {
        co_await close_gracefully(stream, c.socket, [&](auto d) { c.expires_after(d); });
    } else {
        beast::error_code ignored;
        c.socket.close(ignored);
    }
    on_connection_closed(&c);
}

asio::awaitable<void> server::handle(request& req, response& res, std::string_view rid, router::match_result& m,
                                     const connection& c) {
    if (c.reserved && !(m.target && m.options->probe)) {
        // A connection beyond the limits is there for health probes only.
        metrics::get().connections_refused.inc();
        res.set(field::retry_after, "1");
        set_problem(res, sessiond::error::too_many_connections, "connection limit reached, retry later", rid);
        co_return;
    }
    co_await dispatch(m, req, res, rid, c.peer.get());
}

void server::on_connection_closed(connection* c) {
    set_idle(*c, false);
    per_client_.remove(c->client_slot);
    if (c->reserved) std::erase(reserved_, c);
    connections_.erase(c);
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
    const auto left = active_.load(std::memory_order_relaxed) - 1;
    active_.store(left, std::memory_order_relaxed);
    if (left == 0 && stopping_) finish_drain();
}

void server::shutdown(std::function<void()> on_drained) {
    if (shutdown_requested_.exchange(true)) return;
    asio::post(ioc_, [this, done = std::move(on_drained)]() mutable { begin_drain(std::move(done)); });
}

void server::begin_drain(std::function<void()> on_drained) {
    stopping_ = true;
    beast::error_code ignored;
    // Connections the kernel completed but nobody accepted yet would be
    // reset by the close, with their requests in them: serve them too.
    acceptor_.non_blocking(true, ignored);
    for (std::size_t n = 0; n < cfg_.max_connections; ++n) {
        tcp::socket socket(ioc_);
        beast::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec) break;
        admit(std::move(socket));
    }
    acceptor_.close(ignored);
    on_drained_ = std::move(on_drained);
    drain_timer_ = std::make_unique<asio::steady_timer>(ioc_, cfg_.drain_timeout);
    drain_timer_->async_wait([this](const beast::error_code& ec) {
        if (ec) return;
        if (!connections_.empty())
            log::warn("drain deadline reached, closing connections", {{"connections", connections_.size()}});
        for (auto& [ptr, weak] : connections_)
            if (auto c = weak.lock()) {
                beast::error_code ignored;
                c->socket.close(ignored);
            }
        finish_drain();
    });
    // Idle keep-alive connections close after drain_linger without a
    // request; busy ones after the requests they received.
    for (auto& [ptr, weak] : connections_)
        if (auto c = weak.lock()) {
            c->fsm.on_drain_begun();
            if (c->idle)
                c->expires_after(
                    std::min<connection::clock::duration>(c->deadline - coarse_steady_now(), c->fsm.timeout()));
        }
    if (active_.load(std::memory_order_relaxed) == 0) finish_drain();
}

exchange_limits server::limits(bool reserved) const noexcept {
    return {reserved ? std::min(cfg_.read_timeout, probe_timeout) : cfg_.read_timeout, cfg_.idle_timeout,
            cfg_.write_timeout,
            std::min(drain_linger, std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.drain_timeout))};
}

void server::finish_drain() {
    if (auto done = std::exchange(on_drained_, nullptr)) done();
}

}  // namespace sessiond::http
