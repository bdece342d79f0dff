#include "http/exchange.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "http/framing.hpp"
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
                                      const peer_certificate* peer) {
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
    request_context ctx{req, res, rid, m.route, query_of(req.target()), std::move(m.params), peer};
    try {
        co_await (*m.target)(ctx);
    } catch (const std::exception& e) {
        log::error("handler failed", {{"route", m.route}, {"error", e.what()}, {"request_id", rid}});
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

boost::asio::awaitable<std::string> handle_one(const router& routes, const http_config& cfg, std::string_view bytes) {
    request_parser parser;
    apply_limits(parser, cfg);
    parser.eager(true);
    boost::system::error_code ec;
    while (!bytes.empty()) {
        auto used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
        bytes.remove_prefix(used);
        if (ec == beast_http::error::need_more) {
            ec = {};
            if (used == 0) break;  // the parser needs more than there is
        }
        if (ec || parser.is_done()) break;
    }
    if (!ec && !parser.is_done()) parser.put_eof(ec);

    response res;
    std::string out;
    std::string_view refusal = ec ? std::string_view() : framing_problem(parser.get());
    if (ec || !refusal.empty()) {
        auto [e, detail] = parse_failure(ec, cfg);
        if (!refusal.empty()) detail = refusal;
        res.version(11);
        set_final_problem(res, e, detail, make_request_id(), cfg.request_id_header);
        serialize(res, out);
        co_return out;
    }
    request& req = parser.get();
    auto given = req[cfg.request_id_header];
    std::string rid = valid_request_id(given) ? std::string(given) : make_request_id();
    res.version(req.version());
    auto m = routes.match(req.method(), path_of(req.target()));
    co_await dispatch(m, req, res, rid);
    res.set(cfg.request_id_header, rid);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    serialize(res, out, req.method() != verb::head);
    co_return out;
}

}  // namespace sessiond::http
