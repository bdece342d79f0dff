// An exception that escapes work nobody awaits (here the accept loop, made to
// throw through its accept hook) is logged with its text and contained: the
// loop restarts after a pause and the server goes on serving.

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "api/health.hpp"
#include "common/metrics.hpp"
#include "http/client_counts.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

using namespace sessiond;
using namespace std::chrono_literals;

namespace {

// Sends what the logger writes to fd 1 (stdout) to a file while it lives.
class captured_stdout {
public:
    explicit captured_stdout(const std::string& path) {
        std::cout.flush();
        std::fflush(stdout);
        saved_ = ::dup(1);
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::dup2(fd, 1) == 1);
        ::close(fd);
    }
    ~captured_stdout() { restore(); }
    captured_stdout(const captured_stdout&) = delete;
    captured_stdout& operator=(const captured_stdout&) = delete;
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stdout);
        ::dup2(saved_, 1);
        ::close(saved_);
        saved_ = -1;
    }

private:
    int saved_ = -1;
};

std::uint64_t contained_count() {
    const auto text = metrics::render();
    const std::string series = "\nsessiond_exceptions_contained_total ";
    const auto at = text.find(series);
    REQUIRE(at != std::string::npos);
    return std::stoull(text.substr(at + series.size()));
}

}  // namespace

TEST_CASE("an exception that escapes the accept loop is logged, and the loop restarts") {
    test::temp_dir dir;
    const auto log_path = dir.file("log");
    const auto contained_before = contained_count();
    std::atomic<int> accepted{0};
    bool first_answered = true;
    std::optional<test::http_response> later;
    std::chrono::steady_clock::duration restart_took{};
    {
        captured_stdout capture(log_path);
        log_config lc;
        log::init(lc);
        boost::asio::io_context ioc{1};
        http::router routes;
        api::add_ops_routes(routes, {[] { return true; }});
        http_config cfg;
        cfg.port = 0;
        std::atomic<std::size_t> open_connections{0};
        http::client_counts per_client(0);
        http::server server(ioc, cfg, routes, false, open_connections, per_client);
        server.on_accept([&](const boost::asio::ip::address&) {
            if (accepted.fetch_add(1) == 0) throw std::runtime_error("accept hook failed on purpose");
        });
        server.start();
        std::thread io([&] { ioc.run(); });

        // The first connection is dropped with the loop that accepted it ...
        const auto started = std::chrono::steady_clock::now();
        {
            test::http_connection first(server.port());
            first_answered = first.request("GET", "/healthz").has_value();
        }
        // ... and once the loop is back, connections are served again.
        test::eventually(
            [&] {
                test::http_connection next(server.port());
                later = next.request("GET", "/healthz");
                return later.has_value();
            },
            10s, 20ms);
        restart_took = std::chrono::steady_clock::now() - started;

        std::atomic<bool> drained{false};
        server.shutdown([&] { drained = true; });
        test::eventually([&] { return drained.load(); }, 10s);
        ioc.stop();
        io.join();
        log::shutdown();
        capture.restore();
    }
    const auto log = test::read_file(log_path);
    INFO(log);
    CHECK_FALSE(first_answered);
    REQUIRE(later);
    CHECK(later->status == 200);
    // Not at once: the restart waits, so a failure that repeats cannot spin.
    CHECK(restart_took >= http::server::restart_pause);
    CHECK_THAT(log, Catch::Contains("exception contained") && Catch::Contains("http accept loop") &&
                        Catch::Contains("accept hook failed on purpose"));
    CHECK_THAT(log, Catch::Contains("restarting after an exception"));
    CHECK(contained_count() == contained_before + 1);
}
