// One connection's coroutine: the TLS handshake, then its exchanges, each
// step as exchange_fsm decides (reads and the parser, 100 Continue, the
// handler, the response's write, keep-alive or the close), and its release.
#include "http/server.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "http/http_metrics.hpp"
#include "http/connection.hpp"
#include "http/exchange.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"

namespace sessiond::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket&>;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 4096;  // bytes asked of one read

namespace {

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

// A read the sweep cancelled, past its deadline (a drain closes the socket
// instead): the peer may still read a 408.
bool timed_out(const beast::error_code& ec, const tcp::socket& socket) {
    return ec == asio::error::operation_aborted && socket.is_open();
}

}  // namespace

namespace {

// A connection's exchange in progress; its storage is reused from one
// request to the next.
struct exchange {
    beast::flat_buffer buffer;
    std::string wire;  // the serialized response
    std::string rid;   // the request's id
    std::optional<request_parser> parser;
    response res;
    std::optional<router::match_result> match;  // its route (matched on the header for 100-continue)
    stream_producer producer;                   // set by a route that streams its body
    std::chrono::steady_clock::time_point started;

    // A request begins: its header first, to be checked before the body is read.
    void start(const http_config& cfg) {
        started = std::chrono::steady_clock::now();
        res = response{};
        rid.clear();
        match.reset();
        apply_limits(parser.emplace(), cfg);
        parser->eager(false);
    }

    // The bytes of the refusal or of the handled response, in `wire`.
    void serialize_answer(const exchange_fsm& fsm, const http_config& cfg) {
        if (fsm.current() == exchange_fsm::state::refusing) {
            set_refusal(res, fsm, rid, cfg);
            serialize(res, wire);
            return;
        }
        if (fsm.streamed()) {
            finish_streamed_head(res, rid, cfg);
            serialize(res, wire, false);
            return;
        }
        finish_response(res, rid, fsm.keep_alive(), cfg);
        serialize(res, wire, parser->get().method() != verb::head);
    }

    void account(bool access_log, const exchange_fsm& fsm) const {
        if (fsm.current() == exchange_fsm::state::refusing)
            http::account(access_log, nullptr, res, "-", rid, started);
        else
            http::account(access_log, &parser->get(), res, match->route.empty() ? "-" : match->route, rid, started);
    }
};

}  // namespace

template <class Stream>
asio::awaitable<void> server::serve_on(connection& c, Stream& stream) {
    using act = exchange_fsm::action;
    exchange_fsm& fsm = c.fsm;
    exchange x;
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
                    auto [ec, n] = co_await stream.async_read_some(x.buffer.prepare(read_chunk), use_tuple);
                    set_idle(c, false);
                    if (!ec) x.buffer.commit(n);
                    a = !ec ? fsm.on_received() : timed_out(ec, c.socket) ? fsm.on_timeout() : fsm.on_lost();
                    break;
                }
                case act::start:
                    x.start(cfg_);
                    c.expires_after(fsm.timeout());
                    [[fallthrough]];
                case act::parse:
                    // What arrived whole, the usual case, takes no further
                    // asynchronous step (beast::http::async_read would post one).
                    a = parse_buffered(fsm, *x.parser, x.buffer, x.rid, cfg_);
                    break;
                case act::check_header:
                    a = fsm.on_header_verdict(
                        header_verdict(routes_, x.parser->get(), x.res, x.rid, c.peer.get(), x.match, &c.client));
                    break;
                case act::send_continue: {
                    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(continue_response), use_tuple);
                    a = fsm.on_written(!ec);
                    break;
                }
                case act::dispatch: {
                    request& req = x.parser->get();
                    x.res.version(req.version());
                    if (!x.match) x.match = routes_.match(req.method(), path_of(req.target()));
                    co_await handle(req, x.res, x.rid, *x.match, c, x.producer);
                    // HEAD gets the head alone.
                    if (x.producer && req.method() == verb::head) x.producer = nullptr;
                    a = fsm.on_handled(req.keep_alive(), static_cast<bool>(x.producer));
                    break;
                }
                case act::look_ahead:
                    a = fsm.on_looked_ahead(received_more(stream, x.buffer));
                    break;
                case act::refuse:
                case act::write: {
                    x.serialize_answer(fsm, cfg_);
                    c.expires_after(fsm.timeout());
                    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(x.wire), use_tuple);
                    x.account(access_log_, fsm);
                    a = fsm.on_written(!ec);
                    break;
                }
                case act::stream:
                    co_await stream_body(c, stream, x.producer, x.res.version() >= 11);
                    x.producer = nullptr;
                    a = fsm.on_streamed();
                    break;
                case act::keep_alive:
                    a = fsm.next_request(x.buffer.size() > 0);
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
        metrics::tls_handshakes_failed.inc();
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

// The writer a streamed body is written through: each write a chunk (or,
// for HTTP/1.0, the bytes as they are), within the write timeout that
// `set_deadline` arms; between writes the connection has no deadline (the
// producer writes at least its heartbeats).
template <class Stream, class SetDeadline>
class chunk_writer final : public stream_writer {
public:
    chunk_writer(Stream& stream, SetDeadline set_deadline, std::chrono::milliseconds timeout, bool chunked)
        : stream_(stream), set_deadline_(std::move(set_deadline)), timeout_(timeout), chunked_(chunked) {}

    asio::awaitable<bool> write(std::string_view bytes) override {
        if (failed_) co_return false;
        wire_.clear();
        if (chunked_)
            append_chunk(wire_, bytes);
        else
            wire_.assign(bytes);
        if (wire_.empty()) co_return true;
        co_return co_await send();
    }
    // The chunk that ends the body, unless the stream failed.
    asio::awaitable<void> finish() {
        if (failed_ || !chunked_) co_return;
        wire_.assign(last_chunk);
        co_await send();
    }

private:
    asio::awaitable<bool> send() {
        set_deadline_(timeout_);
        auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(wire_), use_tuple);
        set_deadline_(std::chrono::milliseconds::max());
        failed_ = static_cast<bool>(ec);
        co_return !failed_;
    }

    Stream& stream_;
    SetDeadline set_deadline_;
    std::chrono::milliseconds timeout_;
    bool chunked_;
    bool failed_ = false;
    std::string wire_;
};

}  // namespace

template <class Stream>
asio::awaitable<void> server::stream_body(connection& c, Stream& stream, stream_producer& producer, bool chunked) {
    auto set_deadline = [&c](std::chrono::milliseconds d) {
        if (d == std::chrono::milliseconds::max())
            c.deadline = connection::clock::time_point::max();
        else
            c.expires_after(d);
    };
    chunk_writer<Stream, decltype(set_deadline)> writer(stream, set_deadline, cfg_.write_timeout, chunked);
    set_deadline(std::chrono::milliseconds::max());
    c.streaming = &writer;
    if (c.fsm.draining()) writer.stop();
    try {
        co_await producer(writer);
    } catch (...) {
        c.streaming = nullptr;
        throw;
    }
    c.streaming = nullptr;
    co_await writer.finish();
}

asio::awaitable<void> server::handle(request& req, response& res, std::string_view rid, router::match_result& m,
                                     const connection& c, stream_producer& producer) {
    if (c.reserved && !(m.target && m.options->probe)) {
        // A connection beyond the limits is there for health probes only.
        metrics::connections_refused.inc();
        res.set(field::retry_after, "1");
        set_problem(res, sessiond::error::too_many_connections, "connection limit reached, retry later", rid);
        co_return;
    }
    co_await dispatch(m, req, res, rid, c.peer.get(), &c.client, &producer);
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

}  // namespace sessiond::http
