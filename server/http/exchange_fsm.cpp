#include "http/exchange_fsm.hpp"

#include "http/exchange.hpp"
#include "http/framing.hpp"

namespace sessiond::http {

exchange_fsm::action exchange_fsm::next_request(bool received) noexcept {
    cause_ = cause::none;
    refused_early_ = false;
    keep_alive_ = false;
    streamed_ = false;
    return received ? to(state::header, action::start) : to(state::idle, action::read);
}

exchange_fsm::action exchange_fsm::on_received() noexcept {
    if (state_ == state::idle) return to(state::header, action::start);
    return action::parse;
}

exchange_fsm::action exchange_fsm::on_need_more() noexcept {
    return action::read;
}

exchange_fsm::action exchange_fsm::on_header(const request& head, bool body_unsent) noexcept {
    if (framing_ = framing_problem(head); !framing_.empty()) return refuse(cause::framing);
    // The client waits for a word before it sends the body: the route's
    // refusal, or 100 Continue.
    if (body_unsent && expects_continue(head)) return action::check_header;
    return to(state::body, action::parse);
}

exchange_fsm::action exchange_fsm::on_header_verdict(verdict v) noexcept {
    switch (v) {
        case verdict::accepted:
            return to(state::continuing, action::send_continue);
        case verdict::no_route:
            refused_early_ = true;
            return to(state::handling, action::dispatch);
        case verdict::refused:
            break;
    }
    // The answer is set, and the connection cannot go on: the body, never
    // asked for, may still come.
    refused_early_ = true;
    state_ = state::handling;
    return on_handled(false);
}

exchange_fsm::action exchange_fsm::on_body_complete() noexcept {
    return to(state::handling, action::dispatch);
}

exchange_fsm::action exchange_fsm::on_parse_error(const boost::system::error_code& ec) noexcept {
    parse_error_ = ec;
    return refuse(cause::parse_error);
}

exchange_fsm::action exchange_fsm::on_timeout() noexcept {
    // Part of a request came but not the rest within read-timeout: the peer
    // may still read a 408. Between requests, nobody is waiting for one.
    if (state_ == state::header || state_ == state::body) return refuse(cause::timeout);
    return to(state::closed, action::close);
}

exchange_fsm::action exchange_fsm::on_lost() noexcept {
    return to(state::closed, action::close);
}

exchange_fsm::action exchange_fsm::on_handled(bool wants_keep_alive, bool streamed) noexcept {
    // A stream ends with the connection: nothing follows it.
    streamed_ = streamed && !refused_early_;
    keep_alive_ = wants_keep_alive && !refused_early_ && !reserved_ && !streamed_;
    // Draining: answer what this connection already sent, and close after
    // the last of it.
    if (keep_alive_ && draining_) return to(state::responding, action::look_ahead);
    return to(state::responding, action::write);
}

exchange_fsm::action exchange_fsm::on_looked_ahead(bool next_received) noexcept {
    keep_alive_ = next_received;
    return action::write;
}

exchange_fsm::action exchange_fsm::on_written(bool ok) noexcept {
    switch (state_) {
        case state::continuing:
            return ok ? to(state::body, action::parse) : to(state::closed, action::close);
        case state::refusing:
            return to(state::closed, action::close_gracefully);
        case state::responding:
            if (!ok) return to(state::closed, action::close);
            if (streamed_) return to(state::streaming, action::stream);
            if (keep_alive_) return to(state::idle, action::keep_alive);
            return to(state::closed, action::close_gracefully);
        default:
            return to(state::closed, action::close);
    }
}

exchange_fsm::action exchange_fsm::on_streamed() noexcept {
    if (state_ != state::streaming) return to(state::closed, action::close);
    return to(state::closed, action::close_gracefully);
}

std::chrono::milliseconds exchange_fsm::timeout() const noexcept {
    switch (state_) {
        case state::idle:
            // Draining, only the linger for a next request: the last response
            // said keep-alive, so the client may be sending one.
            return reserved_ ? limits_.read_timeout : draining_ ? limits_.drain_linger : limits_.idle_timeout;
        case state::responding:
        case state::streaming:  // each chunk
        case state::refusing:
            return limits_.write_timeout;
        default:
            return limits_.read_timeout;
    }
}

std::pair<sessiond::error, std::string> exchange_fsm::refusal(const http_config& cfg) const {
    switch (cause_) {
        case cause::timeout:
            return {sessiond::error::request_timeout,
                    "the request was not received within " + std::to_string(limits_.read_timeout.count()) + " ms"};
        case cause::framing:
            return {sessiond::error::malformed_request, std::string(framing_)};
        default:
            return parse_failure(parse_error_, cfg);
    }
}

exchange_fsm::action exchange_fsm::refuse(cause c) noexcept {
    cause_ = c;
    return to(state::refusing, action::refuse);
}

}  // namespace sessiond::http
