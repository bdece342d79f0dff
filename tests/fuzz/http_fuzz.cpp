// Raw bytes through everything a connection does with a request, without a
// socket: Beast's parser with the server's limits, the router, the real
// handlers (session_api over a session_service over the embedded store, with
// a fake clock, an ephemeral keyring and development callers; /healthz,
// /readyz, /metrics) and the response's serialization (http::handle_one,
// which drives the connection's own decisions: http::exchange_fsm).
//
// Each input gets a fresh store holding one session of user "fuzz-user".
// "@TOKEN@" in the input stands for that session's token and "@ID@" for its
// public id, so that inputs reach validate, rotate, revoke and /v1/auth with
// a live session (no fuzzer guesses an HMAC tag).

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/backchannel_logout.hpp"
#include "api/events.hpp"
#include "api/health.hpp"
#include "api/sessions.hpp"
#include "http/exchange.hpp"
#include "store/memory_store.hpp"

using namespace sessiond;
namespace asio = boost::asio;

namespace {

template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> op) {
    std::optional<T> out;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); }, asio::detached);
    ioc.restart();
    ioc.run();  // the embedded store never waits: run() returns when the request is done
    if (!out) std::abort();
    return std::move(*out);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

const std::shared_ptr<const session::keyring>& keys() {
    static const auto k = [] {
        // Log lines are formatted (their fields come from requests) but go nowhere.
        auto quiet = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
        quiet->set_level(spdlog::level::trace);
        spdlog::set_default_logger(quiet);
        return std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
    }();
    return k;
}

// One daemon thread's stack, as app/ builds it, on a fake clock.
struct daemon_stack {
    asio::io_context ioc;
    session::fake_clock clock;
    store::memory_store store{ioc, clock, 64};
    service::session_service sessions{store, keys(), session::token_codec(), clock, session::policy{}};
    api::session_api api{sessions, std::make_shared<const api::callers>(api::callers::allow_all()),
                         api::api_settings{}};
    service::logout_service logouts{sessions, store, nullptr};
    api::backchannel_logout_api logout_api{logouts};
    std::shared_ptr<service::event_feed> feed =
        std::make_shared<service::event_feed>(ioc.get_executor(), store, clock, service::event_feed_settings{},
                                              std::make_shared<std::atomic<std::size_t>>(0));
    api::events_api events_api{feed, std::make_shared<const api::callers>(api::callers::allow_all()), "X-API-Key",
                               std::chrono::seconds(15)};
    http::router routes;
    http_config cfg;

    daemon_stack() {
        api::add_ops_routes(routes, {[] { return true; }});
        api.add_routes(routes);
        logout_api.add_routes(routes);
        events_api.add_routes(routes);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    daemon_stack d;
    auto created =
        run(d.ioc, d.sessions.create({"fuzz-user", std::nullopt, std::nullopt, std::nullopt}, {"fuzz", "fuzz"}));
    if (!created) std::abort();

    std::string bytes(reinterpret_cast<const char*>(data), size);
    replace_all(bytes, "@TOKEN@", created->token);
    replace_all(bytes, "@ID@", created->session.id.to_string());

    std::string out = run(d.ioc, http::handle_one(d.routes, d.cfg, bytes));
    // Every request gets a well-formed status line and a final status, after
    // 100 Continue at most.
    std::string_view wire = out;
    if (wire.starts_with(http::continue_response)) wire.remove_prefix(http::continue_response.size());
    if (!wire.starts_with("HTTP/1.") || wire.size() < 12 || wire[9] < '2' || wire[9] > '5') std::abort();
    return 0;
}
