// Rotations while Redis stalls (DEBUG SLEEP longer than the command
// timeout): a rotation answered 503 may still be written once Redis wakes
// up. Retried with the same Idempotency-Key, it gets that rotation's token;
// never a 401, and the session is never taken for stolen.

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

TEST_CASE("rotations answered 503 during Redis stalls are safe to retry with their Idempotency-Key", "[redis][fault]") {
    contract_target t("redis", {"--redis-command-timeout", "150ms"});
    REQUIRE(t.redis());

    // Five stalls of 0.4 s, 0.1 s apart (real time: the fault's schedule);
    // the clients rotate until they end.
    constexpr int clients = 4;
    std::atomic<bool> done{false};
    std::thread staller([&] {
        for (int i = 0; i < 5; ++i) {
            std::this_thread::sleep_for(100ms);
            t.redis()->cli({"DEBUG", "SLEEP", "0.4"});
        }
        done = true;
    });

    std::atomic<int> unavailable{0}, replays_ok{0}, refused{0}, rotated{0};
    std::vector<std::string> finals(clients);
    std::vector<std::thread> workers;
    for (int c = 0; c < clients; ++c)
        workers.emplace_back([&, c] {
            auto created = t.create("user-" + std::to_string(c));
            if (created.status != 201) {
                ++refused;
                return;
            }
            std::string token = str(created.json, "token");
            for (int i = 0; !done; ++i) {
                const std::string key = "client-" + std::to_string(c) + "-rotation-" + std::to_string(i);
                api_reply r;
                bool retried = false;
                // Retry as a client would: after a short pause, for up to 10 s.
                const auto give_up = std::chrono::steady_clock::now() + 10s;
                for (;;) {
                    r = t.call("POST", "/v1/sessions/rotate", test_keys::all, R"({"token":")" + token + R"("})",
                               {{"Idempotency-Key", key}});
                    if (r.status != 503 || std::chrono::steady_clock::now() > give_up) break;
                    ++unavailable;
                    retried = true;
                    std::this_thread::sleep_for(20ms);
                }
                if (r.status != 200) {
                    ++refused;
                    UNSCOPED_INFO("client " << c << " rotation " << i << ": " << r.status << " " << r.body);
                    return;
                }
                if (retried) ++replays_ok;
                ++rotated;
                token = str(r.json, "token");
            }
            finals[static_cast<std::size_t>(c)] = token;
        });
    staller.join();
    for (auto& w : workers)
        w.join();

    INFO("rotations: " << rotated << ", 503 answers: " << unavailable
                       << ", rotations that needed a retry: " << replays_ok);
    CHECK(refused == 0);
    CHECK(unavailable > 0);  // the stalls did hit rotations
    CHECK(replays_ok > 0);
    // Usually some rotations were written although their answer was a 503,
    // and their retries were answered with the token already written. Whether
    // a stall catches a rotation between its read and its write is timing
    // (under ThreadSanitizer, 20 retries once caught none), so the count is
    // reported, not required; the replay itself is asserted exactly in
    // tests/service/session_service_test.cpp. What must hold either way is
    // above and below: no refusal, and every session lives with its last token.
    const auto metrics = t.call("GET", "/metrics", "").body;
    CHECK_THAT(metrics, Catch::Contains("sessiond_session_rotations_replayed_total"));
    if (Catch::Contains("sessiond_session_rotations_replayed_total 0\n").match(metrics))
        WARN("no rotation of this run was written after its 503 answer");
    for (const auto& token : finals) {
        REQUIRE_FALSE(token.empty());
        CHECK(t.validate(token).status == 200);  // the session lives, with the last token handed out
    }
}
