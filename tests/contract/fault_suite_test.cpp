// The fault suite: under a steady load of validations and creates, Redis is
// killed and restarted, frozen and resumed, its clients killed, its scripts
// flushed, its data flushed and put to sleep. While a fault lasts the only
// errors are 503; afterwards sessiond recovers by itself; it never crashes or
// hangs, and its memory stays bounded. Recovery times are printed (measured,
// not asserted beyond a generous deadline).

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/steady_load.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

// Room for buffers and pools; a sanitizer's sessiond also holds freed memory
// in quarantine (ASan: 256 MiB by default) and shadow memory.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t rss_slack_kib = 512 * 1024;
#else
constexpr std::size_t rss_slack_kib = 32 * 1024;
#endif

std::size_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    return 0;
}

}  // namespace

TEST_CASE("faults under a steady load: only 503s while they last, recovery after, no crash, bounded memory",
          "[redis][fault]") {
    contract_target t("redis", {"--redis-command-timeout", "250ms", "--redis-connect-timeout", "250ms"});
    steady_load load(t);
    const pid_t pid = t.daemon().proc().pid();

    // Warm up (a number of requests, however long they take), then take the
    // memory baseline.
    load.start();
    REQUIRE(load.served(300, 30s));
    load.stop();
    const auto rss_before = rss_kib(pid);
    load.clear();

    struct fault {
        const char* name;
        std::function<void()> apply;
        std::function<void()> undo;
        bool drops_data = false;
    };
    auto cli = [&](std::vector<std::string> args) { return [&t, args] { t.redis()->cli(args); }; };
    const std::vector<fault> faults = {
        {"redis killed and restarted", [&] { t.redis()->stop(); }, [&] { t.redis()->start(); }, true},
        {"redis frozen and resumed", [&] { t.redis()->freeze(); }, [&] { t.redis()->thaw(); }},
        {"CLIENT KILL", cli({"CLIENT", "KILL", "TYPE", "normal"}), [] {}},
        {"SCRIPT FLUSH", cli({"SCRIPT", "FLUSH"}), [] {}},
        {"FLUSHALL", cli({"FLUSHALL"}), [] {}, true},
        {"DEBUG SLEEP", cli({"DEBUG", "SLEEP", "1"}), [] {}},
    };
    for (const auto& f : faults) {
        INFO(f.name);
        load.start();
        REQUIRE(load.served(20, 10s));  // served before the fault
        f.apply();
        std::this_thread::sleep_for(800ms);  // the fault lasts a while (real time) under the load
        f.undo();
        const auto undone = std::chrono::steady_clock::now();
        // Recovered: a create and a validation of its token succeed.
        const bool recovered = eventually(
            [&] {
                auto c = t.create("probe");
                return c.status == 201 && t.validate(str(c.json, "token")).status == 200;
            },
            15s, 20ms);
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - undone);
        load.stop();
        CHECK(recovered);
        if (f.drops_data) load.refill();  // a restart without persistence, or FLUSHALL, forgets every session

        auto seen = load.statuses();
        load.clear();
        int ok = 0, unavailable = 0, other = 0;
        for (const auto& [status, count] : seen) {
            if (status == 200 || status == 201)
                ok += count;
            else if (status == 503)
                unavailable += count;
            else if (!(f.drops_data && status == 401))  // tokens of sessions the fault deleted
                other += count;
        }
        std::printf("fault %-28s recovered in %5lld ms; answers: %d ok, %d 503, %d other\n", f.name,
                    static_cast<long long>(took.count()), ok, unavailable, other);
        CHECK(other == 0);
        CHECK(ok > 0);
        CHECK(t.daemon().proc().running());
    }
    // Memory stays bounded: no growth beyond slack for buffers and pools.
    const auto rss_after = rss_kib(pid);
    std::printf("sessiond RSS: %zu KiB before the faults, %zu KiB after\n", rss_before, rss_after);
    CHECK(rss_after < rss_before * 2 + rss_slack_kib);
}
