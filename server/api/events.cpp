// GET /v1/events: a stream of Server-Sent Events (docs/events.md). The
// handler checks the caller, the filters and Last-Event-ID, subscribes to
// its thread's feed and sets the head; the connection then runs the
// producer below, which writes what the feed queues, a comment line when
// idle, and a last word when it is cut or the server drains.

#include "api/events.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <utility>

#include "api/api_metrics.hpp"
#include "api/authorization.hpp"
#include "api/json_body.hpp"
#include "api/query_params.hpp"
#include "common/text.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"
#include "session/rules.hpp"

namespace sessiond::api {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// The filter of `types` ("session.revoked,session.created"); false, with
// 400 set, for an unknown or empty name.
bool read_types(http::request_context& ctx, std::string_view list, service::event_filter& filter) {
    for (;;) {
        const auto comma = list.find(',');
        const auto name = list.substr(0, comma);
        const auto type = session::parse_event_type(name);
        if (!type) {
            malformed(ctx,
                      "types must be event types separated by ',': session.created, session.rotated, "
                      "session.revoked, session.reuse_detected, session.expired, user.sessions_revoked, "
                      "epoch.changed");
            return false;
        }
        filter.add_type(*type);
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

// Writes the subscription's events until the client is gone, the
// subscription is cut or the server drains. `last`: the id a client
// resumes from (the last event written).
asio::awaitable<void> produce(std::shared_ptr<service::event_subscription> sub, http::stream_writer& out,
                              std::chrono::milliseconds heartbeat, session::event_ref last) {
    metrics::event_streams_open.local().inc();
    auto end = metrics::stream_end::client_gone;
    out.on_stop([s = sub.get()] { s->wake(); });
    std::string text = ": sessiond events\n\n";  // the stream is open (and proxies pass it on)
    bool alive = co_await out.write(text);
    auto beat = steady::now() + heartbeat;
    while (alive) {
        if (out.stopping()) {
            end = metrics::stream_end::drain;
            co_await out.write(": the server is shutting down\n\n");
            break;
        }
        const auto waited = co_await sub->wait(beat);
        if (!waited) {
            end = metrics::stream_end::store_error;
            log::warn("event stream: the store failed", {{"error", waited.error().message()}});
            text = ": the store is unavailable\nretry: 5000\n\n";
            co_await out.write(text);
            break;
        }
        if (sub->cut()) {
            end = metrics::stream_end::overflow;
            const auto id = last.to_string();
            text.assign("id: ").append(id).append("\nevent: sessiond.overflow\ndata: {\"resume_from\":\"");
            text.append(id).append("\"}\n\n");
            co_await out.write(text);
            break;
        }
        auto batch = sub->take();
        if (!batch.empty()) {
            text.clear();
            for (const auto& e : batch)
                events_api::append_event(text, e);
            alive = co_await out.write(text);
            if (alive) {
                last = session::event_ref::of(batch.back());
                metrics::events_sent.inc(batch.size());
                beat = steady::now() + heartbeat;
            }
        } else if (steady::now() >= beat) {
            alive = co_await out.write(": keep-alive\n\n");
            beat = steady::now() + heartbeat;
        }
    }
    // Cut while a write was stuck: the client fell behind, whatever ended it.
    if (sub->cut()) end = metrics::stream_end::overflow;
    metrics::event_streams_ended.local(end).inc();
    metrics::event_streams_open.local().dec();
}

}  // namespace

events_api::events_api(std::shared_ptr<service::event_feed> feed, const reloadable<callers>& callers,
                       std::string api_key_header, std::chrono::milliseconds heartbeat)
    : feed_(std::move(feed)), callers_(callers), api_key_header_(std::move(api_key_header)), heartbeat_(heartbeat) {}

events_api::events_api(std::shared_ptr<service::event_feed> feed, shared_callers callers, std::string api_key_header,
                       std::chrono::milliseconds heartbeat)
    : feed_(std::move(feed)),
      callers_(std::move(callers)),
      api_key_header_(std::move(api_key_header)),
      heartbeat_(heartbeat) {}

void events_api::add_routes(http::router& routes) {
    routes.add(
        http::verb::get, "/v1/events", [this](http::request_context& ctx) { return open(ctx); },
        http::route_options{[this](http::request_context& ctx) {
            return static_cast<bool>(authorize(ctx, callers_.get(), scope_events, api_key_header_));
        }});
}

void events_api::append_event(std::string& out, const session::event& e) {
    out += "id: ";
    out += session::event_ref::of(e).to_string();
    out += "\nevent: ";
    out += session::event_name(e.type);
    out += "\ndata: ";
    session::append_event_json(e, out);
    out += "\n\n";
}

asio::awaitable<void> events_api::open(http::request_context& ctx) {
    if (!authorize(ctx, callers_.get(), scope_events, api_key_header_)) co_return;
    if (!feed_) {
        http::set_problem(ctx.res, sessiond::error::not_found,
                          "events are off on this instance (events = false): no event stream", ctx.request_id);
        co_return;
    }
    std::optional<std::string> types, user;
    if (!only_params(ctx, {"types", "user"}) || !read_param(ctx, "types", types) || !read_param(ctx, "user", user))
        co_return;
    service::event_filter filter;
    if (types && !read_types(ctx, *types, filter)) co_return;
    if (user) {
        if (!session::valid_user_id(*user)) {
            malformed(ctx, "user must be 1..256 bytes of UTF-8 without control characters");
            co_return;
        }
        filter.user = std::move(*user);
    }
    std::optional<session::event_ref> resume;
    if (const auto given = ctx.req["Last-Event-ID"]; !given.empty()) {
        resume = session::event_ref::parse(given);
        if (!resume) {
            malformed(ctx, "Last-Event-ID must be the id of an event, <stream>:<ms>-<seq>");
            co_return;
        }
    }
    if (!ctx.stream) {
        http::set_problem(ctx.res, sessiond::error::internal_error, "no stream here", ctx.request_id);
        co_return;
    }
    auto sub = feed_->subscribe(std::move(filter), resume);
    if (!sub) {
        metrics::event_streams_ended.local(metrics::stream_end::refused).inc();
        ctx.res.set(http::field::retry_after, "5");
        http::set_problem(ctx.res, sessiond::error::too_many_connections,
                          "at most " + std::to_string(feed_->settings().max_streams) +
                              " event streams may be open on this instance; retry later",
                          ctx.request_id);
        co_return;
    }
    // Without Last-Event-ID the stream starts now: a client cut before any
    // event resumes from here (the margin covers what this read missed).
    const auto now_ms = std::max<std::int64_t>(feed_->clock().now().time_since_epoch().count(), 1);
    const auto start = resume.value_or(session::event_ref{0, {static_cast<std::uint64_t>(now_ms) - 1, 0}});
    ctx.res.result(http::status::ok);
    ctx.res.set(http::field::content_type, "text/event-stream");
    ctx.res.set(http::field::cache_control, "no-store");
    ctx.res.set("X-Accel-Buffering", "no");  // nginx: pass each event on at once
    *ctx.stream = [sub = std::move(sub), heartbeat = heartbeat_, start](http::stream_writer& w) {
        return produce(sub, w, heartbeat, start);
    };
}

}  // namespace sessiond::api
