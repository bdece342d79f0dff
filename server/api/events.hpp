#pragma once
// GET /v1/events: the session events as Server-Sent Events (docs/events.md),
// for callers with the scope events:read. Each stream is a subscriber of
// its I/O thread's event feed (service/event_feed.hpp), filtered by type
// and user, resumable from any instance with Last-Event-ID.

#include <chrono>
#include <memory>
#include <string>

#include "api/callers.hpp"
#include "common/reloadable.hpp"
#include "http/router.hpp"
#include "service/event_feed.hpp"

namespace sessiond::api {

class events_api {
public:
    // `feed` null: events are off (events = false), and the route says so (404).
    events_api(std::shared_ptr<service::event_feed> feed, const reloadable<callers>& callers,
               std::string api_key_header, std::chrono::milliseconds heartbeat);
    events_api(std::shared_ptr<service::event_feed> feed, shared_callers callers, std::string api_key_header,
               std::chrono::milliseconds heartbeat);

    void add_routes(http::router& routes);

    // The SSE framing of one event, appended to `out`:
    // "id: <event_ref>\nevent: <type>\ndata: <event JSON>\n\n".
    static void append_event(std::string& out, const session::event& e);

private:
    boost::asio::awaitable<void> open(http::request_context& ctx);

    std::shared_ptr<service::event_feed> feed_;
    local_view<callers> callers_;
    std::string api_key_header_;
    std::chrono::milliseconds heartbeat_;
};

}  // namespace sessiond::api
