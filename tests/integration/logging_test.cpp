// Logging never stops serving: a reader of stdout that goes away, a slow
// log consumer under a flood of requests, and signals a daemon gets from its
// supervisor. sessiond's stdout is a FIFO the test reads (or does not).

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

// sessiond in development mode with its stdout and stderr on a FIFO.
struct fifo_daemon {
    temp_dir dir;
    std::string path = dir.file("stdout");
    int reader = -1;
    unsigned short port = 0;
    std::unique_ptr<process> proc;

    std::string output;  // what drain() read so far

    explicit fifo_daemon(std::vector<std::string> args) {
        REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
        // Non-blocking, so that the daemon's open does not wait; not inherited,
        // so that closing it leaves the FIFO without a reader.
        reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        REQUIRE(reader >= 0);
        process_options opts;
        opts.argv = {SESSIOND_BINARY, "--development", "--address", "127.0.0.1", "--port", "0"};
        opts.argv.insert(opts.argv.end(), args.begin(), args.end());
        opts.log_path = path;
        proc = std::make_unique<process>(opts);
        REQUIRE(eventually(
            [&] {
                drain(50ms);
                return listening_port(output).has_value();
            },
            20s));
        port = *listening_port(output);
    }
    ~fifo_daemon() {
        proc.reset();
        if (reader >= 0) ::close(reader);
    }

    // What the daemon wrote, read until it has been quiet for `quiet`; also
    // appended to `output`.
    std::string drain(std::chrono::milliseconds quiet = 500ms) {
        std::string out;
        char buf[65536];
        for (;;) {
            pollfd p{reader, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
            const ssize_t n = ::read(reader, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        output += out;
        return out;
    }

    http_response request(const std::string& method, const std::string& target, const std::string& body = "") {
        http_connection c(port);
        auto r = c.request(method, target, body);
        REQUIRE(r);
        return *r;
    }
};

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("a reader of stdout that goes away does not stop sessiond; the lost lines are counted") {
    fifo_daemon d({});
    auto created = d.request("POST", "/v1/sessions", R"({"user_id":"alice"})");
    REQUIRE(created.status == 201);
    const auto token = std::string(boost::json::parse(created.body).at("token").as_string());
    d.drain();
    CHECK_THAT(d.output, Catch::Contains("listening"));
    ::close(d.reader);  // the log consumer dies
    d.reader = -1;

    for (int i = 0; i < 20; ++i)
        CHECK(d.request("GET", "/healthz").status == 200);
    CHECK(d.proc->running());
    // The embedded store's sessions survived.
    CHECK(d.request("POST", "/v1/sessions/validate", R"({"token":")" + token + R"("})").status == 200);
    // The log thread writes (and fails) on its own time, after the requests
    // that queued the lines: a loaded machine may not have run it yet.
    std::string metrics;
    CHECK(eventually(
        [&] {
            metrics = d.request("GET", "/metrics").body;
            return !Catch::Contains(R"(reason="write_failed"} 0)").match(metrics);
        },
        20s, 50ms));
    CHECK_THAT(metrics, Catch::Contains(R"(sessiond_log_lines_dropped_total{queue="any",reason="write_failed"})"));
    CHECK_FALSE(Catch::Contains(R"(reason="write_failed"} 0)").match(metrics));
}

TEST_CASE("audit events survive a flood of access lines that a slow log consumer cannot keep up with") {
    fifo_daemon d({"--log-queue-size", "64"});
    // Nobody reads the log while the flood runs: the pipe fills, its writer
    // blocks, and both queues stop draining.
    http_connection flood(d.port);
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 300; ++i) {
            auto r = flood.request("GET", "/no/such/path");
            REQUIRE(r);
            CHECK(r->status == 404);
        }
        CHECK(d.request("POST", "/v1/sessions", R"({"user_id":"u)" + std::to_string(round) + "\"}").status == 201);
    }
    auto metrics = d.request("GET", "/metrics").body;
    CHECK_FALSE(Catch::Contains(R"({queue="access",reason="queue_full"} 0)").match(metrics));
    CHECK_THAT(metrics, Catch::Contains(R"({queue="events",reason="queue_full"} 0)"));

    const auto out = d.drain(1s);
    CHECK(count(out, R"("event":"session.created")") == 20);
    CHECK(count(out, R"("msg":"request")") < 6000);  // access lines went first
}

TEST_CASE("SIGHUP reloads the configuration; the daemon keeps serving") {
    sessiond_process sd;
    sd.proc().signal(SIGHUP);
    CHECK(sd.proc().wait_for_log("configuration reloaded", 20s));
    CHECK(sd.proc().running());
    CHECK(sd.request("GET", "/healthz").status == 200);
    sd.proc().signal(SIGHUP);
    CHECK(sd.request("GET", "/healthz").status == 200);
    CHECK(sd.proc().running());
}

TEST_CASE("SIGUSR1 and SIGUSR2 are logged and ignored; the daemon keeps serving") {
    sessiond_process sd;
    for (const int sig : {SIGUSR1, SIGUSR2, SIGUSR1}) {
        const auto before = sd.proc().log();
        sd.proc().signal(sig);
        CHECK(eventually(
            [&] {
                const auto log = sd.proc().log();
                return log.size() > before.size() && log.find("signal ignored", before.size()) != std::string::npos;
            },
            20s));
        CHECK(sd.proc().running());
        CHECK(sd.request("GET", "/healthz").status == 200);
    }
}

TEST_CASE("C1 and bidirectional controls reach no log line raw, JSON or text; a create refuses a C1 user id",
          "[logging]") {
    for (const std::string format : {"json", "text"}) {
        INFO(format);
        fifo_daemon d({"--log-format", format});
        // A create with CSI (U+009B) in the user id: refused, with a detail that says why.
        auto created = d.request("POST", "/v1/sessions", R"({"user_id":"evil\u009b31m"})");
        CHECK(created.status == 400);
        CHECK_THAT(created.body, Catch::Contains("C1"));
        // A lookup by such a user id is still served (sessions created before the rule), and its
        // audit event names the user id escaped.
        auto revoked = d.request("DELETE", "/v1/users/evil%C2%9B31m%E2%80%AEx%E2%80%A8y/sessions");
        CHECK(revoked.status == 200);
        REQUIRE(eventually(
            [&] {
                d.drain(50ms);
                return d.output.find("user.sessions_revoked") != std::string::npos;
            },
            20s));
        const std::string& log = d.output;
        CHECK(log.find("\xc2\x9b") == std::string::npos);
        CHECK(log.find("\xe2\x80\xae") == std::string::npos);
        CHECK(log.find("\xe2\x80\xa8") == std::string::npos);
        CHECK_THAT(log, Catch::Contains("evil\\u009b31m\\u202ex\\u2028y"));
    }
}
