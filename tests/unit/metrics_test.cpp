#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <set>
#include <sstream>
#include <stdexcept>
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "api/api_metrics.hpp"
#include "common/metrics.hpp"
#include "http/http_metrics.hpp"
#include "redis/redis_metrics.hpp"
#include "service/service_metrics.hpp"
#include "store/store_metrics.hpp"

using namespace sessiond;

namespace {

// The value of the sample line that starts with `series` (name and labels).
std::uint64_t sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    REQUIRE(at != std::string::npos);
    return std::stoull(text.substr(at + series.size() + 2));
}

// A histogram of this test's own, labelled: 100 µs and 1 ms buckets.
constexpr std::array<std::uint64_t, 2> test_bounds_us = {100, 1000};
constexpr std::array<std::string_view, 2> test_values = {"a", "b"};
const metrics::histogram_family test_histogram{"sessiond_test_duration_seconds", "A test histogram.", test_bounds_us,
                                               "kind", test_values};

// A family read when scraped, with as many samples as `test_samples` says.
std::atomic<int> test_samples{0};
const metrics::callback_family test_callback{"sessiond_test_scraped", "A test gauge read when scraped.",
                                             metrics::type::gauge, [] {
                                                 std::vector<metrics::sample> out;
                                                 for (int i = 0; i < test_samples.load(); ++i)
                                                     out.push_back({"n=\"" + std::to_string(i) + "\"", i + 0.5});
                                                 return out;
                                             }};

}  // namespace

TEST_CASE("counters from several threads are summed when rendered", "[metrics]") {
    const auto slot = metrics::register_route("/v1/metrics-test");
    REQUIRE(slot != 0);
    CHECK(metrics::register_route("/v1/metrics-test") == slot);
    const auto before = metrics::render();
    constexpr int threads = 4;
    constexpr int per_thread = 1000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([] {
            for (int i = 0; i < per_thread; ++i) {
                metrics::sessions_created.inc();
                metrics::observe_request(201, 300, "/v1/metrics-test");  // the 500 µs bucket
            }
            metrics::sessions_revoked.inc(5);
        });
    for (auto& t : pool)
        t.join();
    // Shards outlive their threads, and a new thread reuses one without losing counts.
    std::thread([] { metrics::sessions_created.inc(); }).join();
    metrics::sessions_created.inc();

    const auto after = metrics::render();
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
}

TEST_CASE("threads running at once count on shards of their own cache lines", "[metrics]") {
    STATIC_REQUIRE(alignof(metrics::shard) % metrics::cache_line == 0);
    std::latch both_counting(2);
    metrics::shard* shards[2] = {};
    bool stable[2] = {};
    std::vector<std::thread> pool;
    for (int t = 0; t < 2; ++t)
        pool.emplace_back([&, t] {
            shards[t] = &metrics::this_thread_shard();
            both_counting.arrive_and_wait();  // neither thread has ended: no shard is reused
            stable[t] = &metrics::this_thread_shard() == shards[t];
        });
    for (auto& t : pool)
        t.join();
    CHECK(stable[0]);
    CHECK(stable[1]);
    REQUIRE(shards[0] != shards[1]);
    for (auto* s : shards)
        CHECK(reinterpret_cast<std::uintptr_t>(s) % metrics::cache_line == 0);
}

TEST_CASE("every family registered renders with its HELP and TYPE", "[metrics]") {
    test_samples = 1;  // a callback family renders only with samples
    const auto text = metrics::render();
    const auto names = metrics::registered();
    for (const auto& name : names) {
        INFO(name);
        CHECK(text.find("# HELP " + name + " ") != std::string::npos);
        CHECK(text.find("# TYPE " + name + " ") != std::string::npos);
    }
    // Each sample line belongs to the family whose HELP and TYPE came last.
    std::istringstream lines(text);
    std::string family;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("# HELP ")) {
            family = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            CHECK(line.starts_with("# TYPE " + family + " "));
            continue;
        }
        INFO(line);
        CHECK((!family.empty() && line.starts_with(family)));
    }
    // The families of every layer this binary links, under their names.
    const std::set<std::string> have(names.begin(), names.end());
    for (const char* name :
         {"sessiond_http_responses_total", "sessiond_http_request_duration_seconds",
          "sessiond_http_connections_accepted_total", "sessiond_sessions_created_total",
          "sessiond_tokens_refused_total", "sessiond_assertions_refused_total",
          "sessiond_redis_operation_duration_seconds", "sessiond_redis_errors_total", "sessiond_redis_redirects_total",
          "sessiond_cache_invalidation_delay_seconds", "sessiond_store_full_total"}) {
        INFO(name);
        CHECK(have.contains(name));
    }
    test_samples = 0;
}

TEST_CASE("a labelled family counts per label value", "[metrics]") {
    const auto before = metrics::render();
    metrics::tokens_refused.local(metrics::token_refusal::reuse).inc();
    metrics::redis_redirects.local(metrics::redis_redirect::ask).inc(2);
    metrics::count_redis_failure(metrics::redis_failure::protocol);
    const auto after = metrics::render();
    auto delta = [&](const std::string& series) { return sample(after, series) - sample(before, series); };
    CHECK(delta("sessiond_tokens_refused_total{reason=\"reuse\"}") == 1);
    CHECK(delta("sessiond_tokens_refused_total{reason=\"expired\"}") == 0);
    CHECK(delta("sessiond_redis_redirects_total{kind=\"ask\"}") == 2);
    CHECK(delta("sessiond_redis_redirects_total{kind=\"moved\"}") == 0);
    CHECK(delta("sessiond_redis_errors_total{kind=\"protocol\"}") == 1);
}

TEST_CASE("a histogram renders cumulative buckets, its sum and its count", "[metrics]") {
    std::thread([] {
        test_histogram.observe(100, 1);   // le 0.0001 (a bound is inclusive)
        test_histogram.observe(101, 1);   // le 0.001
        test_histogram.observe(5000, 1);  // +Inf
    }).join();
    test_histogram.observe(1000, 1);  // le 0.001
    test_histogram.observe(7, 0);
    const auto text = metrics::render();
    CHECK_THAT(text, Catch::Contains("# HELP sessiond_test_duration_seconds A test histogram.\n"
                                     "# TYPE sessiond_test_duration_seconds histogram\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"a\",le=\"0.0001\"} 1\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"a\",le=\"0.001\"} 1\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"a\",le=\"+Inf\"} 1\n"
                                     "sessiond_test_duration_seconds_sum{kind=\"a\"} 7e-06\n"
                                     "sessiond_test_duration_seconds_count{kind=\"a\"} 1\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"b\",le=\"0.0001\"} 1\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"b\",le=\"0.001\"} 3\n"
                                     "sessiond_test_duration_seconds_bucket{kind=\"b\",le=\"+Inf\"} 4\n"
                                     "sessiond_test_duration_seconds_sum{kind=\"b\"} 0.006201\n"
                                     "sessiond_test_duration_seconds_count{kind=\"b\"} 4\n"));
}

TEST_CASE("a family read when scraped renders its samples, and nothing without any", "[metrics]") {
    test_samples = 0;
    CHECK_THAT(metrics::render(), !Catch::Contains("sessiond_test_scraped"));
    test_samples = 2;
    CHECK_THAT(metrics::render(), Catch::Contains("# HELP sessiond_test_scraped A test gauge read when scraped.\n"
                                                  "# TYPE sessiond_test_scraped gauge\n"
                                                  "sessiond_test_scraped{n=\"0\"} 0.5\n"
                                                  "sessiond_test_scraped{n=\"1\"} 1.5\n"));
    test_samples = 0;
}

TEST_CASE("a family is refused at registration when its name is taken or its slots do not fit", "[metrics]") {
    const auto before = metrics::registered();
    CHECK_THROWS_AS(metrics::counter_family("sessiond_sessions_created_total", "Again."), std::invalid_argument);
    CHECK_THROWS_AS(metrics::histogram_family("sessiond_test_too_large_seconds", "Too large.", test_bounds_us, "x", {},
                                              metrics::max_slots),
                    std::length_error);
    CHECK(metrics::registered() == before);
    // One that fits is registered, and gone with its object.
    {
        const metrics::counter_family fits{"sessiond_test_fits_total", "Fits."};
        fits.inc();
        CHECK_THAT(metrics::render(), Catch::Contains("\nsessiond_test_fits_total 1\n"));
    }
    CHECK(metrics::registered() == before);
}
