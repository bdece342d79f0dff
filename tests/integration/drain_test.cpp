// The drain on SIGTERM answers every request already sent, against the real
// sessiond binary: keep-alive connections pipeline requests while the signal
// arrives, and no request whose bytes left before the signal goes unanswered.

#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

struct tally {
    std::atomic<long> required{0};  // sent before the signal: must be answered
    std::atomic<long> answered{0};  // responses read, in order
    std::atomic<bool> out_of_order{false};
};

// Sends batches of 10..39 pipelined requests (several KiB: some wait in the
// socket while sessiond answers the first) and reads their responses until
// the connection ends. A batch counts as required if its send completed
// before `signaling` was set, which happens just before the signal is sent.
void client(unsigned short port, int seed, const std::atomic<bool>& signaling, tally& out) {
    http_connection conn(port);
    long sent = 0;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
        const int batch = 10 + (seed * 7 + round) % 30;
        std::string bytes;
        for (int i = 0; i < batch; ++i)
            bytes +=
                format_request("GET", "/healthz", "",
                               {{"X-Request-Id", "r-" + std::to_string(sent + i)}, {"X-Pad", std::string(200, 'p')}});
        if (!conn.send(bytes)) return;
        if (!signaling.load()) out.required += batch;
        sent += batch;
        for (int i = 0; i < batch; ++i) {
            auto r = conn.read_response(15s);
            if (!r) return;
            if (r->header("x-request-id") != "r-" + std::to_string(out.answered.load())) out.out_of_order = true;
            ++out.answered;
            if (r->header("connection") == "close") return;
        }
    }
}

}  // namespace

TEST_CASE("SIGTERM answers every request sent before it on busy keep-alive connections") {
    for (int attempt = 0; attempt < 3; ++attempt) {
        sessiond_process sd({"--development", "--drain-timeout", "20s", "--access-log", "false"});
        std::atomic<bool> signaling{false};
        std::vector<tally> tallies(12);
        std::vector<std::thread> clients;
        for (std::size_t i = 0; i < tallies.size(); ++i)
            clients.emplace_back(client, sd.port(), static_cast<int>(i), std::cref(signaling), std::ref(tallies[i]));
        // Traffic flows on every connection before the signal.
        REQUIRE(eventually(
            [&] {
                for (const auto& t : tallies)
                    if (t.answered.load() < 5) return false;
                return true;
            },
            20s));
        signaling.store(true);
        sd.proc().signal(SIGTERM);
        for (auto& t : clients)
            t.join();
        CHECK(sd.proc().wait(20s) == std::optional<int>(0));

        long required = 0, lost = 0;
        for (const auto& t : tallies) {
            CHECK_FALSE(t.out_of_order.load());
            required += t.required.load();
            lost += std::max(0L, t.required.load() - t.answered.load());
        }
        INFO("attempt " << attempt << ": " << required << " requests sent before the signal");
        CHECK(required > 0);
        CHECK(lost == 0);
    }
}

namespace {

// One request at a time, the next sent as soon as the last answer is read
// (as a browser or a proxy's upstream pool does). A request counts as
// required if it was sent before the signal, or within 100 ms of reading a
// keep-alive answer: the server said it would read more, and drains idle
// connections only after drain_linger (500 ms) without a request.
void one_at_a_time(unsigned short port, const std::atomic<bool>& signaling, tally& out) {
    http_connection conn(port);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto answered_at = std::chrono::steady_clock::now();
    for (long sent = 0; std::chrono::steady_clock::now() < deadline; ++sent) {
        const bool prompt = std::chrono::steady_clock::now() - answered_at < 100ms;
        if (!conn.send(format_request("GET", "/healthz", "", {{"X-Request-Id", "q-" + std::to_string(sent)}}))) return;
        if (!signaling.load() || prompt) ++out.required;
        auto r = conn.read_response(15s);
        if (!r) return;
        answered_at = std::chrono::steady_clock::now();
        if (r->header("x-request-id") != "q-" + std::to_string(sent)) out.out_of_order = true;
        ++out.answered;
        if (r->header("connection") == "close") return;
    }
}

}  // namespace

TEST_CASE("SIGTERM answers the next request of a keep-alive client that read a keep-alive answer") {
    for (int attempt = 0; attempt < 3; ++attempt) {
        sessiond_process sd({"--development", "--drain-timeout", "20s", "--access-log", "false"});
        std::atomic<bool> signaling{false};
        std::vector<tally> tallies(16);
        std::vector<std::thread> clients;
        for (auto& t : tallies)
            clients.emplace_back(one_at_a_time, sd.port(), std::cref(signaling), std::ref(t));
        REQUIRE(eventually(
            [&] {
                for (const auto& t : tallies)
                    if (t.answered.load() < 20) return false;
                return true;
            },
            20s));
        signaling.store(true);
        sd.proc().signal(SIGTERM);
        for (auto& t : clients)
            t.join();
        CHECK(sd.proc().wait(20s) == std::optional<int>(0));
        long required = 0, lost = 0, answered = 0;
        for (const auto& t : tallies) {
            CHECK_FALSE(t.out_of_order.load());
            required += t.required.load();
            answered += t.answered.load();
            lost += std::max(0L, t.required.load() - t.answered.load());
        }
        INFO("attempt " << attempt << ": " << answered << " answered, " << required << " required");
        CHECK(required > 0);
        CHECK(lost == 0);
    }
}
