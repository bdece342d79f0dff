// Pipelined GET throughput of sessiond's Redis client: C connections, P
// commands in flight per connection, random keys among N, for a duration.
// Keys are named as redis-benchmark -r names them (key:%012d) so that both
// programs read the same data; --seed writes them first. With --threads T,
// each thread runs its own io_context and client (a client belongs to one
// thread, as in sessiond) with its share of the C connections.
//
//   redis_get_bench --port 6379 -c 50 -P 16 --duration 10 [--seed --value-size 208] [--threads 1]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "redis/client.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using sessiond::redis::command;

namespace {

struct options {
    std::string host = "127.0.0.1";
    unsigned short port = 6379;
    std::size_t connections = 50;
    std::size_t pipeline = 16;
    double duration = 10;
    double warmup = 1;
    int keys = 10000;
    std::size_t value_size = 208;
    bool seed = false;
    std::size_t threads = 1;
};

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: redis_get_bench [--host H] [--port N] [-c C] [-P P] [--duration S] [--warmup S]\n"
                 "                       [--keys N] [--seed] [--value-size B] [--threads T]\n");
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--host")
            o.host = value();
        else if (a == "--port")
            o.port = static_cast<unsigned short>(std::stoi(value()));
        else if (a == "-c")
            o.connections = std::stoul(value());
        else if (a == "-P")
            o.pipeline = std::stoul(value());
        else if (a == "--duration")
            o.duration = std::stod(value());
        else if (a == "--warmup")
            o.warmup = std::stod(value());
        else if (a == "--keys")
            o.keys = std::stoi(value());
        else if (a == "--value-size")
            o.value_size = std::stoul(value());
        else if (a == "--seed")
            o.seed = true;
        else if (a == "--threads")
            o.threads = std::stoul(value());
        else
            usage();
    }
    if (o.connections == 0 || o.pipeline == 0 || o.keys <= 0 || o.threads == 0 || o.threads > o.connections) usage();
    return o;
}

std::string key_name(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key:%012d", i);
    return buf;
}

// One of C·P request loops: GET a random key, on the reply count it and send the next.
struct loop {
    sessiond::redis::client& client;
    const std::vector<std::string>& keys;
    std::atomic<bool>& running;
    std::atomic<std::uint64_t>& done;
    std::atomic<std::uint64_t>& failed;
    std::atomic<std::uint64_t>& wrong_size;
    std::size_t value_size;
    std::uint64_t rng;

    void next() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        const auto& key = keys[rng % keys.size()];
        client.async_exec(command("GET", key), [this](boost::system::error_code ec, sessiond::redis::reply r) {
            if (ec)
                failed.fetch_add(1, std::memory_order_relaxed);
            else if (r.str().size() != value_size)
                wrong_size.fetch_add(1, std::memory_order_relaxed);
            done.fetch_add(1, std::memory_order_relaxed);
            if (running.load(std::memory_order_relaxed)) next();
        });
    }
};

// SETs every key, at most `window` in flight, on the client's own thread.
struct seeder {
    sessiond::redis::client& client;
    const std::vector<std::string>& keys;
    std::string value;
    std::atomic<int>& pending;
    std::atomic<int>& errors;
    std::size_t next_key = 0;

    void issue() {
        if (next_key >= keys.size()) return;
        client.async_exec(command("SET", keys[next_key++], value),
                          [this](boost::system::error_code ec, sessiond::redis::reply) {
                              if (ec) ++errors;
                              --pending;
                              issue();
                          });
    }
};

// One thread's io_context and client.
struct lane {
    asio::io_context ioc{1};
    std::unique_ptr<sessiond::redis::client> client;
    std::vector<std::unique_ptr<loop>> loops;
};

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);

    std::vector<std::unique_ptr<lane>> lanes;
    for (std::size_t t = 0; t < opt.threads; ++t) {
        auto l = std::make_unique<lane>();
        sessiond::redis::config cfg;
        cfg.host = opt.host;
        cfg.port = opt.port;
        cfg.connections = opt.connections / opt.threads + (t < opt.connections % opt.threads ? 1 : 0);
        cfg.command_timeout = 5s;
        l->client = std::make_unique<sessiond::redis::client>(l->ioc, cfg, 1);
        l->client->start();
        lanes.push_back(std::move(l));
    }

    std::vector<std::string> keys;
    for (int i = 0; i < opt.keys; ++i)
        keys.push_back(key_name(i));

    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
    for (auto& l : lanes) {
        work.push_back(asio::make_work_guard(l->ioc));
        threads.emplace_back([&ioc = l->ioc] { ioc.run(); });
    }
    const auto start_wait = std::chrono::steady_clock::now();
    for (auto& l : lanes)
        while (!l->client->ready()) {
            if (std::chrono::steady_clock::now() - start_wait > 5s) {
                std::fprintf(stderr, "redis_get_bench: cannot connect to %s:%u\n", opt.host.c_str(), opt.port);
                std::exit(1);
            }
            std::this_thread::sleep_for(10ms);
        }
    std::this_thread::sleep_for(100ms);  // let every connection come up

    if (opt.seed) {
        std::atomic<int> pending{opt.keys};
        std::atomic<int> errors{0};
        seeder s{*lanes[0]->client, keys, std::string(opt.value_size, 'v'), pending, errors};
        asio::post(lanes[0]->ioc, [&s] {
            for (int k = 0; k < 2000; ++k)
                s.issue();
        });
        while (pending.load() > 0)
            std::this_thread::sleep_for(1ms);
        if (errors) {
            std::fprintf(stderr, "redis_get_bench: %d SETs failed while seeding\n", errors.load());
            return 1;
        }
    }

    std::atomic<bool> running{true};
    std::atomic<std::uint64_t> done{0}, failed{0}, wrong_size{0};
    std::uint64_t seed = 0;
    for (auto& l : lanes) {
        const std::size_t n = l->client->connection_count() * opt.pipeline;
        for (std::size_t i = 0; i < n; ++i)
            l->loops.push_back(std::make_unique<loop>(loop{*l->client, keys, running, done, failed, wrong_size,
                                                           opt.value_size, 0x9E3779B97F4A7C15ULL * ++seed}));
        asio::post(l->ioc, [&l] {
            for (auto& lp : l->loops)
                lp->next();
        });
    }

    std::this_thread::sleep_for(std::chrono::duration<double>(opt.warmup));
    const auto d0 = done.load();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.duration));
    const auto d1 = done.load();
    const auto t1 = std::chrono::steady_clock::now();
    running = false;
    // Let the loops drain before the clients and the loops go away.
    const auto drain_until = std::chrono::steady_clock::now() + 10s;
    std::uint64_t last = done.load();
    while (std::chrono::steady_clock::now() < drain_until) {
        std::this_thread::sleep_for(50ms);
        const auto now_done = done.load();
        if (now_done == last) break;
        last = now_done;
    }
    for (auto& l : lanes)
        l->client->stop();
    work.clear();
    for (auto& l : lanes)
        l->ioc.stop();
    for (auto& t : threads)
        t.join();

    const double secs = std::chrono::duration<double>(t1 - t0).count();
    const double ops = static_cast<double>(d1 - d0) / secs;
    std::printf("connections=%zu pipeline=%zu threads=%zu duration=%.1fs requests=%llu failed=%llu wrong_size=%llu\n",
                opt.connections, opt.pipeline, opt.threads, secs, static_cast<unsigned long long>(d1 - d0),
                static_cast<unsigned long long>(failed.load()), static_cast<unsigned long long>(wrong_size.load()));
    std::printf("ops/s: %.0f\n", ops);
    return failed.load() == 0 && wrong_size.load() == 0 ? 0 : 1;
}
