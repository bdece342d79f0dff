#include "http/exchange.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <cstdio>

#include "http/problem.hpp"
#include "http/request_id.hpp"
#include "log/log.hpp"

namespace sessiond::http {

void apply_limits(request_parser& parser, const http_config& cfg) {
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    parser.body_limit(cfg.max_body_bytes);
}

std::pair<sessiond::error, std::string> parse_failure(const boost::system::error_code& ec, const http_config& cfg) {
    if (ec == beast_http::error::body_limit)
        return {sessiond::error::body_too_large,
                "request body exceeds " + std::to_string(cfg.max_body_bytes) + " bytes"};
    if (ec == beast_http::error::header_limit)
        return {sessiond::error::headers_too_large,
                "request header exceeds " + std::to_string(cfg.max_header_bytes) + " bytes"};
    return {sessiond::error::malformed_request, "the request is not valid HTTP/1.1"};
}

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

boost::asio::awaitable<void> dispatch(router::match_result& m, request& req, response& res, std::string_view rid,
                                      const peer_certificate* peer, const boost::asio::ip::address* remote,
                                      stream_producer* stream) {
    if (!m.target) {
        std::string detail;
        switch (m.failure) {
            case sessiond::error::method_not_allowed:
                res.set(field::allow, m.allow);
                detail = "allowed: " + m.allow;
                break;
            case sessiond::error::malformed_request:
                detail = "malformed percent-encoding in the path";
                break;
            default:
                detail = "no such resource";
                break;
        }
        set_problem(res, m.failure, detail, rid);
        co_return;
    }
    request_context ctx{req, res, rid, m.route, query_of(req.target()), std::move(m.params), peer, remote, stream};
    try {
        co_await (*m.target)(ctx);
    } catch (const std::exception& e) {
        log::error("handler failed", {{"route", m.route}, {"error", e.what()}, {"request_id", rid}});
        if (stream) *stream = nullptr;
        res = response{};
        res.version(req.version());
        set_problem(res, sessiond::error::internal_error, "internal error", rid);
    }
}

void set_final_problem(response& res, sessiond::error e, std::string_view detail, std::string_view rid,
                       const std::string& rid_header) {
    set_problem(res, e, detail, rid);
    if (!rid.empty()) res.set(rid_header, rid);
    res.keep_alive(false);
    res.prepare_payload();
}

void serialize(const response& res, std::string& out, bool with_body) {
    out.clear();
    out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(res.result_int());
    out += ' ';
    out += std::string_view(res.reason());
    out += "\r\n";
    for (const auto& f : res) {
        out += std::string_view(f.name_string());
        out += ": ";
        out += std::string_view(f.value());
        out += "\r\n";
    }
    out += "\r\n";
    if (with_body) out += res.body();
}

exchange_fsm::action parse_buffered(exchange_fsm& fsm, request_parser& parser, boost::beast::flat_buffer& buffer,
                                    std::string& rid, const http_config& cfg) {
    if (buffer.size() > 0 && !parser.is_done()) {
        boost::system::error_code ec;
        buffer.consume(parser.put(buffer.data(), ec));
        if (ec == beast_http::error::need_more) ec = {};
        if (ec) return fsm.on_parse_error(ec);
    }
    if (fsm.current() == exchange_fsm::state::header && parser.is_header_done()) {
        parser.eager(true);
        request& head = parser.get();
        auto a = fsm.on_header(head, !parser.is_done() && buffer.size() == 0);
        if (a == exchange_fsm::action::refuse) return a;
        if (auto given = head[cfg.request_id_header]; valid_request_id(given))
            rid.assign(given);
        else
            make_request_id(rid);
        return a;
    }
    return parser.is_done() ? fsm.on_body_complete() : fsm.on_need_more();
}

exchange_fsm::verdict header_verdict(const router& routes, request& head, response& res, std::string_view rid,
                                     const peer_certificate* peer, std::optional<router::match_result>& m,
                                     const boost::asio::ip::address* remote) {
    m = routes.match(head.method(), path_of(head.target()));
    auto v = exchange_fsm::verdict::accepted;
    if (!m->target) {
        v = exchange_fsm::verdict::no_route;
    } else if (m->options->check) {
        request_context ctx{head, res, rid, m->route, query_of(head.target()), m->params, peer, remote};
        if (!m->options->check(ctx)) v = exchange_fsm::verdict::refused;
    }
    res.version(head.version());
    return v;
}

void set_refusal(response& res, const exchange_fsm& fsm, std::string& rid, const http_config& cfg) {
    auto [e, detail] = fsm.refusal(cfg);
    if (rid.empty()) make_request_id(rid);
    res = response{};
    res.version(11);
    set_final_problem(res, e, detail, rid, cfg.request_id_header);
}

void finish_response(response& res, std::string_view rid, bool keep_alive, const http_config& cfg) {
    res.set(cfg.request_id_header, rid);
    res.keep_alive(keep_alive);
    res.prepare_payload();
}

void finish_streamed_head(response& res, std::string_view rid, const http_config& cfg) {
    res.set(cfg.request_id_header, rid);
    res.keep_alive(false);
    res.erase(field::content_length);
    res.body().clear();
    // HTTP/1.0 has no chunks: the body ends with the connection.
    if (res.version() >= 11) res.set(field::transfer_encoding, "chunked");
}

void append_chunk(std::string& out, std::string_view bytes) {
    if (bytes.empty()) return;  // an empty chunk would end the body
    char size[20];
    const auto n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    out.append(size, static_cast<std::size_t>(n));
    out += bytes;
    out += "\r\n";
}

namespace {

// One exchange's state, for handle_one.
struct exchange {
    explicit exchange(const http_config& cfg)
        : fsm({cfg.read_timeout, cfg.idle_timeout, cfg.write_timeout, cfg.drain_timeout}, false) {}
    exchange_fsm fsm;
    request_parser parser;
    boost::beast::flat_buffer buffer;
    response res;
    std::string rid;
    std::string wire;
    std::optional<router::match_result> match;
    stream_producer producer;  // not run here: only the head of a streamed answer is written
};

// What happens when the connection reads: here, the end of the input.
exchange_fsm::action end_of_input(exchange& x, const http_config& cfg) {
    boost::system::error_code ec;
    x.parser.put_eof(ec);
    return ec ? x.fsm.on_parse_error(ec) : parse_buffered(x.fsm, x.parser, x.buffer, x.rid, cfg);
}

}  // namespace

boost::asio::awaitable<std::string> handle_one(const router& routes, const http_config& cfg, std::string_view bytes) {
    using act = exchange_fsm::action;
    exchange x(cfg);
    apply_limits(x.parser, cfg);
    x.parser.eager(false);  // the header first, as a connection reads it
    x.buffer.commit(boost::asio::buffer_copy(x.buffer.prepare(bytes.size()), boost::asio::buffer(bytes)));
    std::string out;
    for (auto a = x.fsm.next_request(true);;) {
        switch (a) {
            case act::read:
                a = end_of_input(x, cfg);
                break;
            case act::start:
            case act::parse:
                a = parse_buffered(x.fsm, x.parser, x.buffer, x.rid, cfg);
                break;
            case act::check_header:
                a = x.fsm.on_header_verdict(header_verdict(routes, x.parser.get(), x.res, x.rid, nullptr, x.match));
                break;
            case act::send_continue:
                out += continue_response;
                a = x.fsm.on_written(true);
                break;
            case act::refuse:
                set_refusal(x.res, x.fsm, x.rid, cfg);
                serialize(x.res, x.wire);
                out += x.wire;
                a = x.fsm.on_written(true);
                break;
            case act::dispatch: {
                request& req = x.parser.get();
                x.res.version(req.version());
                if (!x.match) x.match = routes.match(req.method(), path_of(req.target()));
                co_await dispatch(*x.match, req, x.res, x.rid, nullptr, nullptr, &x.producer);
                a = x.fsm.on_handled(req.keep_alive(), x.producer && req.method() != verb::head);
                break;
            }
            case act::look_ahead:
                a = x.fsm.on_looked_ahead(x.buffer.size() > 0);
                break;
            case act::write:
                if (x.fsm.streamed()) {
                    finish_streamed_head(x.res, x.rid, cfg);
                    serialize(x.res, x.wire, false);
                } else {
                    finish_response(x.res, x.rid, x.fsm.keep_alive(), cfg);
                    serialize(x.res, x.wire, x.parser.get().method() != verb::head);
                }
                out += x.wire;
                a = x.fsm.on_written(true);
                break;
            case act::stream:
                // The body is not produced here: the stream ends at once.
                if (x.res.version() >= 11) out += last_chunk;
                a = x.fsm.on_streamed();
                break;
            case act::keep_alive:
            case act::close_gracefully:
            case act::close:
                co_return out;
        }
    }
}

}  // namespace sessiond::http
