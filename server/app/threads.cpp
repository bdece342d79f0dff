#include "app/threads.hpp"

#include "app/settings.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "log/contained.hpp"
#include "log/log.hpp"
#include "store/record_cache.hpp"
#include "store/record_codec.hpp"

namespace sessiond::app {

io_threads::io_threads(const config& c, const startup& prepared, std::size_t count)
    : cfg(c),
      http_cfg(c.http),
      per_client(c.http.max_connections_per_client),
      keys(prepared.sec.keys),
      callers(prepared.sec.callers),
      assertion_signer(prepared.assertions),
      oidc(prepared.oidc),
      tls(prepared.tls),
      index_key_checked(!prepared.redis_cfg) {
    for (std::size_t i = 0; i < count; ++i)
        workers.push_back(std::make_unique<worker>());
}

bool io_threads::store_ready() const {
    if (memory) return true;
    if (!index_key_checked.load()) return false;
    for (const auto& w : workers)
        if (!w->redis_sessions->ready()) return false;
    return true;
}

void io_threads::stop() {
    if (memory) memory->stop();
    for (auto& w : workers) {
        if (w->redis_client) w->redis_client->stop();
        w->ioc.stop();
    }
}

void io_threads::join() {
    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < workers.size(); ++i)
        pool.emplace_back([w = workers[i].get()] { run_contained(w->ioc); });
    run_contained(workers[0]->ioc);
    for (auto& t : pool)
        t.join();
}

bool build_stacks(io_threads& io, const startup& prepared, const session::clock& clock,
                  const api::api_settings& settings) {
    const config& cfg = io.cfg;
    const auto& redis_cfg = prepared.redis_cfg;
    if (!redis_cfg) {
        io.memory = std::make_unique<store::memory_store>(io.workers[0]->ioc, clock, cfg.store.memory_max_sessions);
        io.memory->enable_events(event_settings_of(cfg));
        io.memory->start();
        log::info("embedded store: sessions live in this process only, not shared, lost on restart");
    }
    const store::record_format_options record_options{static_cast<std::uint8_t>(cfg.store.record_format),
                                                      cfg.store.record_accept_unsigned};
    if (redis_cfg && record_options.accept_unsigned)
        log::warn(
            "unsealed (format 2) records are read: set record-accept-unsigned = false once no instance "
            "writes them",
            {{"record_format", cfg.store.record_format}});
    // The validation cache: each I/O thread keeps its share, and its own
    // invalidation links; the marks of this instance's writes are shared.
    const bool cache = redis_cfg && cfg.store.cache;
    const stack_parts parts{
        cfg,
        clock,
        *prepared.codec,
        prepared.policy,
        settings,
        io.keys,
        io.callers,
        io.assertion_signer,
        io.oidc,
        io.memory.get(),
        redis_cfg,
        record_options,
        {std::max<std::size_t>(1, cfg.store.cache_max_entries / io.workers.size()), cfg.store.cache_max_age},
        cache ? std::make_shared<store::write_marks>() : nullptr,
        std::make_shared<std::atomic<std::size_t>>(0)};
    for (auto& w : io.workers)
        if (!build_stack(*w, parts)) return false;
    return true;
}

void start_webhooks(io_threads& io, startup& prepared, const session::clock& clock) {
    if (!prepared.webhooks) return;
    auto& w = *io.workers[0];
    store::session_store* store = io.memory ? static_cast<store::session_store*>(io.memory.get())
                                            : static_cast<store::session_store*>(w.redis_sessions.get());
    io.hooks = std::make_unique<webhooks>(w.ioc, *store, clock, *prepared.webhooks, io.cfg.webhooks,
                                          event_settings_of(io.cfg).instance);
    io.hooks->start();
    std::string names;
    for (const auto& e : io.cfg.webhooks.endpoints.entries())
        names += (names.empty() ? "" : ",") + e.name;
    log::info("webhooks", {{"endpoints", names}});
}

void check_index_key(io_threads& io) {
    boost::asio::co_spawn(
        io.workers[0]->ioc,
        [&io]() -> boost::asio::awaitable<void> {
            auto& w = *io.workers[0];
            boost::asio::steady_timer pause(w.ioc);
            for (;;) {
                if (w.redis_client->ready()) {
                    auto same = co_await w.redis_sessions->check_index_key(io.cfg.development);
                    if (same && *same) {
                        io.index_key_checked = true;
                        co_return;
                    }
                    if (same) {
                        log::error(
                            "user-index-key is not the one this Redis's sessions are indexed with: "
                            "refusing to serve, as lists and revoke-all would miss every session. Start "
                            "with the deployment's index key; or, to index with this one from now on "
                            "(existing sessions are then missed by lists and revoke-all), delete the key",
                            {{"key", w.redis_sessions->index_key_name()}});
                        io.exit_code = 2;
                        io.stop();
                        co_return;
                    }
                }
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(boost::asio::use_awaitable);
            }
        },
        log::contained{"index key check"});
}

}  // namespace sessiond::app
