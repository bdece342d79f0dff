// The webhook deliverers' store operations (docs/webhooks.md), on the
// embedded store and on a real redis-server (the Lua scripts): one holder
// of an endpoint's lease at a time, renewed only by its holder, free again
// once released or expired; progress written only by the holder, only the
// streams given, and an endpoint's start recorded once.

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "redis_store_fixture.hpp"
#include "store/memory_store.hpp"
#include "support/process.hpp"

namespace sessiond::test {
namespace {

using session::event_position;

struct lease_target {
    virtual ~lease_target() = default;
    virtual store::session_store& store() = 0;
    virtual asio::io_context& ioc() = 0;
    template <class T>
    T run(asio::awaitable<T> op) {
        return run_to_completion(ioc(), std::move(op));
    }
};

struct memory_lease final : lease_target {
    asio::io_context io;
    session::wall_clock clock;
    store::memory_store memory{io, clock, 1000};
    store::session_store& store() override { return memory; }
    asio::io_context& ioc() override { return io; }
};

struct redis_lease final : lease_target {
    redis_store_fixture f;
    store::session_store& store() override { return f.store; }
    asio::io_context& ioc() override { return f.ioc; }
};

std::unique_ptr<lease_target> make(const std::string& kind) {
    if (kind == "memory") return std::make_unique<memory_lease>();
    return std::make_unique<redis_lease>();
}

}  // namespace

TEST_CASE("webhook leases: one holder, renewed by it alone, free once released or expired") {
    const std::string kind = GENERATE(as<std::string>{}, "memory", "redis");
    INFO(kind);
    auto t = make(kind);
    auto& s = t->store();
    CHECK(*t->run(s.acquire_webhook_lease("audit", "a", 10s)));
    CHECK_FALSE(*t->run(s.acquire_webhook_lease("audit", "b", 10s)));
    CHECK(*t->run(s.acquire_webhook_lease("audit", "a", 10s)));  // its own: renewed
    CHECK(*t->run(s.acquire_webhook_lease("other", "b", 10s)));  // another endpoint's
    CHECK(*t->run(s.renew_webhook_lease("audit", "a", 10s)));
    CHECK_FALSE(*t->run(s.renew_webhook_lease("audit", "b", 10s)));
    CHECK_FALSE(*t->run(s.renew_webhook_lease("nobody", "a", 10s)));  // a free lease is not renewed

    REQUIRE(t->run(s.release_webhook_lease("audit", "b")));  // not its: nothing
    CHECK_FALSE(*t->run(s.acquire_webhook_lease("audit", "b", 10s)));
    REQUIRE(t->run(s.release_webhook_lease("audit", "a")));
    CHECK(*t->run(s.acquire_webhook_lease("audit", "b", 300ms)));
    CHECK_FALSE(*t->run(s.renew_webhook_lease("audit", "a", 10s)));

    // Expired: another takes it, and the old holder cannot renew it.
    CHECK(eventually([&] { return *t->run(s.acquire_webhook_lease("audit", "a", 10s)); }, 5s, 50ms));
    CHECK_FALSE(*t->run(s.renew_webhook_lease("audit", "b", 10s)));
}

TEST_CASE("webhook progress: the start once, positions written by the lease holder only") {
    const std::string kind = GENERATE(as<std::string>{}, "memory", "redis");
    INFO(kind);
    auto t = make(kind);
    auto& s = t->store();
    const auto first = t->run(s.load_webhook_progress("audit"));
    REQUIRE(first);
    CHECK(first->start_ms > 1'700'000'000'000);
    CHECK(first->at.empty());

    REQUIRE(*t->run(s.acquire_webhook_lease("audit", "a", 10s)));
    const std::vector<std::pair<std::uint32_t, event_position>> changed{{7, {100, 1}}, {16384, {200, 0}}};
    CHECK(*t->run(s.save_webhook_progress("audit", "a", changed)));
    CHECK_FALSE(*t->run(s.save_webhook_progress("audit", "b", {{7, {999, 0}}})));  // not the holder
    CHECK(*t->run(s.save_webhook_progress("audit", "a", {{7, {150, 0}}})));        // one stream moves

    const auto again = t->run(s.load_webhook_progress("audit"));
    REQUIRE(again);
    CHECK(again->start_ms == first->start_ms);
    auto at = again->at;
    std::sort(at.begin(), at.end());
    CHECK(at == std::vector<std::pair<std::uint32_t, event_position>>{{7, {150, 0}}, {16384, {200, 0}}});

    // Another endpoint has its own.
    const auto other = t->run(s.load_webhook_progress("other"));
    REQUIRE(other);
    CHECK(other->at.empty());
}

}  // namespace sessiond::test
