#pragma once
// A steady load for the fault and failover tests: validations of a pool of
// live tokens and creates, from two threads, each request on its own
// connection with a 10 s read deadline (a hang shows as status -1). Every
// answer is counted by status, and the span of the failed ones is kept, so a
// test can report how long an outage lasted as callers saw it.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"

namespace sessiond::test {

class steady_load {
public:
    using clock = std::chrono::steady_clock;

    explicit steady_load(contract_target& t);
    ~steady_load();

    void start();
    void stop();
    // Fresh tokens (after FLUSHALL the old ones are rightly unknown).
    void refill();
    // The tokens validated; every one was created (201) by refill().
    std::vector<std::string> tokens();

    std::map<int, int> statuses();
    // Waits until `n` more requests than when called have succeeded (200 or
    // 201): the load is running and being served. False on timeout.
    bool served(int n, std::chrono::milliseconds timeout);
    // From the first to the last answer that was neither 200 nor 201 since
    // clear() (zero if there was none): the unavailability callers saw.
    clock::duration failure_span();
    void clear();

private:
    void run(int which);

    contract_target& t_;
    std::mutex mutex_;
    std::vector<std::string> tokens_;
    std::map<int, int> statuses_;
    clock::time_point first_failure_{};
    clock::time_point last_failure_{};
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
};

}  // namespace sessiond::test
