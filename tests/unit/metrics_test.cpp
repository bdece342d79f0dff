#include <catch2/catch.hpp>

#include <cstdint>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.hpp"

using namespace sessiond;

namespace {

// The value of the sample line that starts with `series` (name and labels).
std::uint64_t sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    REQUIRE(at != std::string::npos);
    return std::stoull(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("counters from several threads are summed when rendered", "[metrics]") {
    const auto slot = metrics::register_route("/v1/metrics-test");
    REQUIRE(slot != 0);
    CHECK(metrics::register_route("/v1/metrics-test") == slot);
    const auto before = metrics::render(0, true);
    constexpr int threads = 4;
    constexpr int per_thread = 1000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([] {
            for (int i = 0; i < per_thread; ++i) {
                metrics::get().sessions_created.inc();
                metrics::observe_request(201, 300, "/v1/metrics-test");  // the 500 µs bucket
            }
            metrics::get().sessions_revoked.inc(5);
        });
    for (auto& t : pool)
        t.join();
    // Shards outlive their threads, and a new thread reuses one without losing counts.
    std::thread([] { metrics::get().sessions_created.inc(); }).join();
    metrics::get().sessions_created.inc();

    const auto after = metrics::render(7, false);
    auto delta = [&](const std::string& series) { return sample(after, series) - sample(before, series); };
    CHECK(delta("sessiond_sessions_created_total") == threads * per_thread + 2);
    CHECK(delta("sessiond_sessions_revoked_total") == threads * 5);
    CHECK(delta("sessiond_http_responses_total{code=\"2xx\"}") == threads * per_thread);
    const std::string route = "route=\"/v1/metrics-test\"";
    CHECK(delta("sessiond_http_request_duration_seconds_bucket{" + route + ",le=\"0.00025\"}") == 0);
    CHECK(delta("sessiond_http_request_duration_seconds_bucket{" + route + ",le=\"0.0005\"}") == threads * per_thread);
    CHECK(delta("sessiond_http_request_duration_seconds_bucket{" + route + ",le=\"+Inf\"}") == threads * per_thread);
    CHECK(delta("sessiond_http_request_duration_seconds_count{" + route + "}") == threads * per_thread);
    const std::string sum = "\nsessiond_http_request_duration_seconds_sum{" + route + "} ";
    const auto at = after.find(sum);
    REQUIRE(at != std::string::npos);
    CHECK(std::stod(after.substr(at + sum.size())) == Approx(threads * per_thread * 300e-6));
    CHECK(sample(after, "sessiond_http_connections_open") == 7);
    CHECK(sample(after, "sessiond_store_ready") == 0);
}

TEST_CASE("threads running at once count on shards of their own cache lines", "[metrics]") {
    STATIC_REQUIRE(alignof(metrics::shard) % metrics::cache_line == 0);
    std::latch both_counting(2);
    metrics::shard* shards[2] = {};
    bool stable[2] = {};
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t)
        pool.emplace_back([&, t] {
            shards[t] = &metrics::get();
            both_counting.arrive_and_wait();  // neither thread has ended: no shard is reused
            stable[t] = &metrics::get() == shards[t];
        });
    for (auto& t : pool)
        t.join();
    CHECK(stable[0]);
    CHECK(stable[1]);
    REQUIRE(shards[0] != shards[1]);
    for (auto* s : shards)
        CHECK(reinterpret_cast<std::uintptr_t>(s) % metrics::cache_line == 0);
}
