#include "support/steady_load.hpp"

#include <catch2/catch.hpp>

namespace sessiond::test {

using namespace std::chrono_literals;

steady_load::steady_load(contract_target& t) : t_(t) {
    refill();
}

steady_load::~steady_load() {
    stop();
}

void steady_load::start() {
    stop_ = false;
    for (int i = 0; i < 2; ++i)
        threads_.emplace_back([this, i] { run(i); });
}

void steady_load::stop() {
    stop_ = true;
    for (auto& th : threads_)
        th.join();
    threads_.clear();
}

void steady_load::refill() {
    std::vector<std::string> fresh;
    for (int i = 0; i < 20; ++i) {
        // Each I/O thread has its own Redis connection, and one may still
        // be reconnecting after a fault.
        api_reply c;
        REQUIRE(eventually(
            [&] {
                c = t_.create("load-" + std::to_string(i));
                return c.status == 201;
            },
            10s, 20ms));
        fresh.push_back(str(c.json, "token"));
    }
    std::lock_guard lock(mutex_);
    tokens_ = std::move(fresh);
}

std::vector<std::string> steady_load::tokens() {
    std::lock_guard lock(mutex_);
    return tokens_;
}

std::map<int, int> steady_load::statuses() {
    std::lock_guard lock(mutex_);
    return statuses_;
}

bool steady_load::served(int n, std::chrono::milliseconds timeout) {
    auto successes = [this] {
        std::lock_guard lock(mutex_);
        long long all = 0;
        for (const auto& [status, count] : statuses_)
            if (status == 200 || status == 201) all += count;
        return all;
    };
    const auto target = successes() + n;
    return eventually([&] { return successes() >= target; }, timeout);
}

steady_load::clock::duration steady_load::failure_span() {
    std::lock_guard lock(mutex_);
    return last_failure_ - first_failure_;
}

void steady_load::clear() {
    std::lock_guard lock(mutex_);
    statuses_.clear();
    first_failure_ = last_failure_ = {};
}

void steady_load::run(int which) {
    std::size_t n = 0;
    while (!stop_) {
        int status = 0;
        try {
            if (which == 0) {
                std::string token;
                {
                    std::lock_guard lock(mutex_);
                    token = tokens_[n++ % tokens_.size()];
                }
                status = t_.validate(token).status;
            } else {
                status = t_.create("steady").status;
            }
        } catch (const std::exception&) {
            status = -1;  // no answer within the deadline, or the connection failed
        }
        const auto now = clock::now();
        std::lock_guard lock(mutex_);
        ++statuses_[status];
        if (status != 200 && status != 201) {
            if (first_failure_ == clock::time_point{}) first_failure_ = now;
            last_failure_ = now;
        }
    }
}

}  // namespace sessiond::test
