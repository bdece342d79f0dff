#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "http/field_allocator.hpp"
#include "http/types.hpp"

using namespace sessiond;
using pool = http::detail::field_pool;

TEST_CASE("field_allocator hands a freed block of a size class back first") {
    if (!http::detail::pool_fields)
        SUCCEED("the pool is off under AddressSanitizer");
    else {
        http::field_allocator<char> a;
        char* first = a.allocate(100);  // the 128-byte class
        const std::size_t before = pool::kept(100);
        a.deallocate(first, 100);
        CHECK(pool::kept(100) == before + 1);
        char* again = a.allocate(120);
        CHECK(again == first);
        CHECK(pool::kept(100) == before);
        a.deallocate(again, 120);
        // Beyond the largest class: the general allocator, nothing kept.
        const std::size_t large = pool::kept(512);
        char* big = a.allocate(4096);
        a.deallocate(big, 4096);
        CHECK(pool::kept(512) == large);
    }
}

TEST_CASE("field_allocator keeps a bounded number of blocks") {
    http::field_allocator<char> a;
    std::vector<char*> blocks;
    for (std::size_t i = 0; i < 2 * pool::keep; ++i)
        blocks.push_back(a.allocate(40));
    for (char* b : blocks)
        a.deallocate(b, 40);
    if (http::detail::pool_fields)
        CHECK(pool::kept(40) == pool::keep);
    else
        SUCCEED("fields are not pooled in this build (sanitizers see every allocation)");
}

TEST_CASE("messages built on one thread and destroyed on another keep their fields") {
    http::response res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.set("X-Request-Id", std::string(300, 'r'));  // the 512-byte class
    res.body() = "{}";
    std::thread other([moved = std::move(res)]() mutable {
        CHECK(moved[http::field::content_type] == "application/json");
        CHECK(moved["X-Request-Id"].size() == 300);
        http::response later = std::move(moved);
        later.set(http::field::cache_control, "no-store");
        CHECK(later[http::field::cache_control] == "no-store");
    });
    other.join();
    http::request req{http::verb::post, "/v1/sessions/validate", 11};
    req.set(http::field::host, "localhost");
    CHECK(req.target() == "/v1/sessions/validate");
    CHECK(req[http::field::host] == "localhost");
}
