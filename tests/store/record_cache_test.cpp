// The validation cache's bookkeeping on its own: what a read may fill, what
// an invalidation, a flush or a write through this instance takes away, and
// its bounds. (Against real Redis: tests/contract/validation_cache_test.cpp.)

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include "store/record_cache.hpp"

using namespace sessiond;
using store::record_cache;
using namespace std::chrono_literals;

namespace {

session::session_record record(const session::session_id& id, std::string user = "u") {
    session::session_record r;
    r.id = id;
    r.user_id = std::move(user);
    r.version = 1;
    return r;
}

struct fixture {
    std::shared_ptr<store::write_marks> marks = std::make_shared<store::write_marks>();
    record_cache cache{{3, 60s}, marks};
    record_cache::clock::time_point now = record_cache::clock::now();

    // A read begun and answered with nothing in between.
    void read(const session::session_id& id) {
        auto t = cache.begin(id);
        cache.fill(t, record(id), now);
    }
};

}  // namespace

TEST_CASE("record_cache: a read fills, a find answers, an invalidation takes it away") {
    fixture f;
    const auto id = session::session_id::generate(7);
    CHECK(f.cache.find(id, f.now) == nullptr);
    f.read(id);
    const auto* hit = f.cache.find(id, f.now);
    REQUIRE(hit != nullptr);
    CHECK(hit->id == id);
    f.cache.invalidate(id);
    CHECK(f.cache.find(id, f.now) == nullptr);
    CHECK(f.cache.size() == 0);
}

TEST_CASE("record_cache: an invalidation or a flush while the read is in flight keeps its answer out") {
    fixture f;
    const auto id = session::session_id::generate(1);
    SECTION("invalidation first, then the reply") {
        auto t = f.cache.begin(id);
        f.cache.invalidate(id);
        f.cache.fill(t, record(id), f.now);
        CHECK(f.cache.find(id, f.now) == nullptr);
        // The next read, begun after it, may fill.
        f.read(id);
        CHECK(f.cache.find(id, f.now) != nullptr);
    }
    SECTION("two reads in flight, the key changes between them") {
        auto first = f.cache.begin(id);
        f.cache.invalidate(id);
        auto second = f.cache.begin(id);
        f.cache.fill(first, record(id), f.now);
        f.cache.fill(second, record(id), f.now);
        // Conservative: the second read shares the first one's mark.
        CHECK(f.cache.find(id, f.now) == nullptr);
    }
    SECTION("a flush") {
        auto t = f.cache.begin(id);
        f.cache.clear();
        f.cache.fill(t, record(id), f.now);
        CHECK(f.cache.find(id, f.now) == nullptr);
    }
    SECTION("another key's invalidation changes nothing") {
        auto t = f.cache.begin(id);
        f.cache.invalidate(session::session_id::generate(1));
        f.cache.fill(t, record(id), f.now);
        CHECK(f.cache.find(id, f.now) != nullptr);
    }
    SECTION("a ticket dropped without a reply (the read failed) leaves nothing pending") {
        { auto t = f.cache.begin(id); }
        f.cache.invalidate(id);
        f.read(id);
        CHECK(f.cache.find(id, f.now) != nullptr);
    }
}

TEST_CASE("record_cache: a flush drops every entry") {
    fixture f;
    const auto a = session::session_id::generate(1), b = session::session_id::generate(2);
    f.read(a);
    f.read(b);
    REQUIRE(f.cache.size() == 2);
    f.cache.clear();
    CHECK(f.cache.size() == 0);
    CHECK(f.cache.find(a, f.now) == nullptr);
    CHECK(f.cache.find(b, f.now) == nullptr);
}

TEST_CASE("record_cache: at most max_entries, the least recently used goes; at most max_age") {
    fixture f;
    const auto a = session::session_id::generate(1), b = session::session_id::generate(2),
               c = session::session_id::generate(3), d = session::session_id::generate(4);
    f.read(a);
    f.read(b);
    f.read(c);
    REQUIRE(f.cache.find(a, f.now) != nullptr);  // a is now the most recent; b the least
    f.read(d);
    CHECK(f.cache.size() == 3);
    CHECK(f.cache.find(b, f.now) == nullptr);
    CHECK(f.cache.find(a, f.now) != nullptr);
    CHECK(f.cache.find(c, f.now) != nullptr);
    CHECK(f.cache.find(d, f.now) != nullptr);

    CHECK(f.cache.find(a, f.now + 45s) != nullptr);
    CHECK(f.cache.find(a, f.now + 61s) == nullptr);
    CHECK(f.cache.size() == 2);  // the old entry went
}

TEST_CASE("record_cache: entries filled together expire spread over the last quarter of max_age") {
    auto marks = std::make_shared<store::write_marks>();
    record_cache cache{{1000, 60s}, marks};
    const auto t0 = record_cache::clock::now();
    std::vector<session::session_id> ids;
    for (int i = 0; i < 200; ++i) {
        ids.push_back(session::session_id::generate(1));
        auto t = cache.begin(ids.back());
        cache.fill(t, record(ids.back()), t0);
    }
    auto live_at = [&](std::chrono::seconds at) {
        std::size_t n = 0;
        for (const auto& id : ids)
            n += cache.find(id, t0 + at) != nullptr ? 1 : 0;
        return n;
    };
    CHECK(live_at(45s) == 200);  // none before 3/4 of max_age
    const auto at_50 = live_at(50s), at_55 = live_at(55s);
    CHECK(at_50 < 200);  // some have gone ...
    CHECK(at_50 > 0);    // ... not all
    CHECK(at_55 < at_50);
    CHECK(at_55 > 0);
    // The last within max_age: an id whose first byte is 255 lives exactly max_age.
    const auto longest = std::count_if(ids.begin(), ids.end(), [](const auto& id) { return id.id[0] == 255; });
    CHECK(live_at(60s) == static_cast<std::size_t>(longest));
    CHECK(live_at(61s) == 0);
}

TEST_CASE("record_cache: no entries at all with max_entries 0") {
    auto marks = std::make_shared<store::write_marks>();
    record_cache cache{{0, 60s}, marks};
    const auto id = session::session_id::generate(1);
    auto t = cache.begin(id);
    cache.fill(t, record(id), record_cache::clock::now());
    CHECK(cache.size() == 0);
}

TEST_CASE("record_cache: a write through this instance, on any thread, hides entries read before it") {
    fixture f;
    const auto id = session::session_id::generate(5);
    // Another session whose mark is not id's: marks share 4096 slots (a
    // collision only costs a read), and one random id in 4096 would share
    // id's slot and be hidden by its write too.
    auto other = session::session_id::generate(5);
    store::write_marks probe;
    probe.mark(id);
    while (probe.written_since(other, 1))
        other = session::session_id::generate(5);
    f.read(id);
    f.read(other);
    SECTION("a write of the session") {
        std::thread([&] { f.marks->mark(id); }).join();
        CHECK(f.cache.find(id, f.now) == nullptr);
        CHECK(f.cache.find(other, f.now) != nullptr);
        // Read again after the write: served.
        f.read(id);
        CHECK(f.cache.find(id, f.now) != nullptr);
    }
    SECTION("a write of sessions not named (revoke-all)") {
        std::thread([&] { f.marks->mark_all(); }).join();
        CHECK(f.cache.find(id, f.now) == nullptr);
        CHECK(f.cache.find(other, f.now) == nullptr);
    }
    SECTION("a write before the read began hides nothing") {
        const auto later = session::session_id::generate(6);
        f.marks->mark(later);
        std::this_thread::sleep_for(1ms);  // real time: the read begins after the mark
        f.read(later);
        CHECK(f.cache.find(later, f.now) != nullptr);
    }
}

TEST_CASE("write_marks: a mark never moves back, whatever order threads store their stamps in") {
    store::write_marks marks;
    const auto id = session::session_id::generate(7);
    const auto earlier = store::write_marks::now();
    const auto later = earlier + 1'000'000;
    // The thread that stamped later stores first; the earlier stamp arrives
    // after it and must not lower the mark.
    std::thread([&] { marks.mark_at(id, later); }).join();
    std::thread([&] { marks.mark_at(id, earlier); }).join();
    CHECK(marks.written_since(id, later));
    CHECK_FALSE(marks.written_since(id, later + 1));

    // Racing threads: the largest stamp of all is what stays.
    store::write_marks raced;
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 10'000; ++i)
                raced.mark_at(id, earlier + (i * 4 + t));
        });
    for (auto& w : writers)
        w.join();
    CHECK(raced.written_since(id, earlier + 39'999));
    CHECK_FALSE(raced.written_since(id, earlier + 40'000));
}
