#pragma once
// A Redis store over its own real redis-server, for the store tests.

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <set>
#include <string>

#include "redis/client.hpp"
#include "redis/config.hpp"
#include "session/crypto.hpp"
#include "session/rules.hpp"
#include "store/redis_store.hpp"
#include "support/redis_server.hpp"
#include "support/result_string.hpp"

namespace sessiond::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using session::session_id;
using session::session_record;
using store::user_ref;

// Starts `client` and runs `ioc` until it has a usable connection (at most 10 s).
inline void start_and_wait(asio::io_context& ioc, redis::client& client) {
    client.start();
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (!client.ready() && std::chrono::steady_clock::now() < end) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    REQUIRE(client.ready());
}

// Runs one store operation on `ioc` to completion (at most 10 s).
template <class T>
T run_to_completion(asio::io_context& ioc, asio::awaitable<T> op) {
    std::optional<T> out;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            out.emplace(co_await std::move(op));
            ioc.stop();  // done: no need to wait out run_for's slice
        },
        [](const std::exception_ptr& e) {
            if (e) std::rethrow_exception(e);
        });
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (!out && std::chrono::steady_clock::now() < end) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    REQUIRE(out);
    return std::move(*out);
}

// A redis_store on its own redis-server, with the wall clock (Redis expires
// keys on its own clock) unless a test brings a clock of its own.
struct redis_store_fixture {
    redis_server srv;
    std::shared_ptr<const session::keyring> keys =
        std::make_shared<const session::keyring>(session::keyring::make_ephemeral());
    asio::io_context ioc;
    redis::client client;
    session::wall_clock wall;
    const session::clock& clock;
    store::redis_store store;
    session::policy policy;

    explicit redis_store_fixture(const session::clock* own_clock = nullptr, store::record_format_options format = {})
        : client(ioc, config(srv), 1),
          clock(own_clock ? *own_clock : wall),
          store(client, clock, "t:", store::record_sealer(keys, format)) {
        start_and_wait(ioc, client);
    }
    ~redis_store_fixture() { client.stop(); }

    static redis::config config(const redis_server& srv) {
        redis::config cfg = redis::parse_url(srv.url()).value();
        cfg.connections = 1;
        cfg.command_timeout = 2000ms;
        return cfg;
    }

    // Runs one store operation to completion.
    template <class T>
    T run(asio::awaitable<T> op) {
        return run_to_completion(ioc, std::move(op));
    }

    session_record record(const session_id& id, const std::string& user_id) {
        auto r = session::new_record(id, session::digest_secret(session::as_bytes(id.to_string())),
                                     {user_id, "{}", {}, {}}, clock.now(), policy);
        REQUIRE(r);
        return *r;
    }

    session_record create(const session_id& id, const user_ref& user) {
        session_record r = record(id, user.user_id);
        auto created = run(store.create(r, user, policy));
        REQUIRE(created);
        return r;
    }

    // Every session of the user, page after page.
    std::set<session_id> listed(const user_ref& user, std::size_t page = store::max_walk) {
        std::set<session_id> out;
        std::optional<store::user_cursor> after;
        do {
            auto list = run(store.list_user(user, after, page));
            REQUIRE(list);
            for (const auto& r : list->sessions) {
                CHECK(r.user_id == user.user_id);
                out.insert(r.id);
            }
            after = list->next;
        } while (after);
        return out;
    }

    // Deletes every session of the user but `except`, batch after batch; how many.
    std::size_t remove_all(const user_ref& user, std::optional<session_id> except) {
        std::size_t removed = 0;
        std::optional<store::user_cursor> after;
        do {
            auto batch = run(store.remove_user(user, except, after));
            REQUIRE(batch);
            removed += batch->removed;
            after = batch->next;
        } while (after);
        return removed;
    }
};

}  // namespace sessiond::test
