// loadgen: an open-loop HTTP/1.1 load generator for the fixed-rate runs of bench/run.
//
// wrk is closed-loop, and its timers tick in whole milliseconds, so a fixed rate driven
// through wrk's delay() leaves in bursts of rate/1000 requests per tick. This program keeps
// one global schedule instead: request k is due at t0 + k / rate (uniform spacing, or
// exponential gaps with --poisson), is sent on any idle keep-alive connection, and its
// latency is measured from the time it was *due*, not from when a connection became free
// (no coordinated omission). Timing uses epoll_pwait2's nanosecond timeout and a 1 ns timer
// slack. A request due while every connection is busy waits in a queue; sends more than
// 1 ms behind schedule are counted as "late".
//
//   loadgen --url http://127.0.0.1:PORT --connections 64 --rate 40000 --duration 10
//           --scenario validate|auth --tokens FILE --api-key KEY [--poisson] [--seed N]
//
// Output: wrk-compatible summary lines (so bench/lib/measure.py reads it like wrk) and a
// "BENCHJSON {...}" line with the percentiles. Responses must carry Content-Length (every
// target of bench/run does); any status >= 400 is an error, as with wrk.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ns = std::int64_t;

ns now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "loadgen: %s\n", what.c_str());
    std::exit(2);
}

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    int connections = 64;
    double rate = 0;
    double duration_s = 10;
    std::string scenario;
    std::string tokens_file;
    std::string api_key = "bench-api-key-not-secret";
    bool poisson = false;
    unsigned seed = 1;
};

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + std::string(a));
            return argv[++i];
        };
        if (a == "--url") {
            std::string url = value();
            constexpr std::string_view scheme = "http://";
            if (url.rfind(scheme, 0) != 0) die("--url must be http://HOST:PORT");
            std::string rest = url.substr(scheme.size());
            if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
            auto colon = rest.rfind(':');
            if (colon == std::string::npos) die("--url needs a port");
            o.host = rest.substr(0, colon);
            o.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
        } else if (a == "--connections") {
            o.connections = std::stoi(value());
        } else if (a == "--rate") {
            o.rate = std::stod(value());
        } else if (a == "--duration") {
            o.duration_s = std::stod(value());
        } else if (a == "--scenario") {
            o.scenario = value();
        } else if (a == "--tokens") {
            o.tokens_file = value();
        } else if (a == "--api-key") {
            o.api_key = value();
        } else if (a == "--poisson") {
            o.poisson = true;
        } else if (a == "--seed") {
            o.seed = static_cast<unsigned>(std::stoul(value()));
        } else {
            die("unknown argument " + std::string(a));
        }
    }
    if (o.port == 0 || o.rate <= 0 || o.connections <= 0 || o.duration_s <= 0)
        die("--url, --rate > 0, --connections > 0 and --duration > 0 are required");
    if (o.scenario != "validate" && o.scenario != "auth") die("--scenario must be validate or auth");
    if (o.tokens_file.empty()) die("--tokens is required");
    return o;
}

// The requests bench/lib/validate.lua and auth.lua send, byte for byte in substance.
std::vector<std::string> build_requests(const options& o) {
    std::ifstream in(o.tokens_file);
    if (!in) die("cannot read " + o.tokens_file);
    const std::string host = o.host + ":" + std::to_string(o.port);
    std::vector<std::string> out;
    for (std::string t; std::getline(in, t);) {
        if (t.empty()) continue;
        std::string r;
        if (o.scenario == "validate") {
            std::string body = "{\"token\":\"" + t + "\"}";
            r = "POST /v1/sessions/validate HTTP/1.1\r\nHost: " + host +
                "\r\nContent-Type: application/json\r\nX-API-Key: " + o.api_key +
                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        } else {
            r = "GET /v1/auth HTTP/1.1\r\nHost: " + host + "\r\nX-API-Key: " + o.api_key +
                "\r\nAuthorization: Bearer " + t + "\r\n\r\n";
        }
        out.push_back(std::move(r));
    }
    if (out.empty()) die("no tokens in " + o.tokens_file);
    return out;
}

struct connection {
    int fd = -1;
    bool busy = false;
    ns due = 0;            // schedule time of the request in flight
    std::string out;       // unsent part of the request
    std::string in;        // received bytes of the response
    std::size_t need = 0;  // total bytes of the response once its head is parsed
    int status = 0;
};

// Parses the response head once it is complete; false if it is not yet.
bool parse_head(connection& c) {
    auto end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string_view head(c.in.data(), end);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") die("malformed response");
    std::from_chars(head.data() + 9, head.data() + 12, c.status);
    std::size_t length = 0;
    bool found = false;
    for (std::size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
        auto next = head.find("\r\n", pos + 2);
        std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
        constexpr std::string_view cl = "content-length:";
        if (line.size() > cl.size() && std::equal(cl.begin(), cl.end(), line.begin(), [](char a, char b) {
                return a == (b >= 'A' && b <= 'Z' ? b - 'A' + 'a' : b);
            })) {
            auto v = line.substr(cl.size());
            while (!v.empty() && v.front() == ' ')
                v.remove_prefix(1);
            std::from_chars(v.data(), v.data() + v.size(), length);
            found = true;
        }
        pos = next;
    }
    if (!found) die("response without Content-Length (chunked replies are not supported)");
    c.need = end + 4 + length;
    return true;
}

int connect_to(const options& o) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket: " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o.port);
    if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) die("--url host must be an IPv4 address");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        die("connect: " + std::string(std::strerror(errno)));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_args(argc, argv);
    const std::vector<std::string> requests = build_requests(o);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    const int ep = epoll_create1(0);
    std::vector<connection> conns(static_cast<std::size_t>(o.connections));
    std::vector<std::size_t> idle;
    for (std::size_t i = 0; i < conns.size(); ++i) {
        conns[i].fd = connect_to(o);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        idle.push_back(i);
    }

    std::mt19937_64 rng(o.seed);
    std::exponential_distribution<double> gap(1.0);
    const double interval_ns = 1e9 / o.rate;
    std::size_t next_request = 0;
    std::deque<ns> backlog;  // due times of requests waiting for an idle connection
    std::vector<ns> latencies;
    latencies.reserve(static_cast<std::size_t>(o.rate * o.duration_s * 1.1) + 16);
    // A socket error ends the run (die): the summary's read and write errors are always 0.
    std::uint64_t errors_status = 0, late = 0, slots = 0;
    std::size_t in_flight = 0;

    const ns t0 = now_ns() + 1'000'000;  // first request 1 ms from now
    const ns t_end = t0 + static_cast<ns>(o.duration_s * 1e9);
    double next_due = static_cast<double>(t0);

    auto send_on = [&](std::size_t i, ns due, ns now) {
        connection& c = conns[i];
        c.busy = true;
        c.due = due;
        c.in.clear();
        c.need = 0;
        if (now - due > 1'000'000) ++late;
        const std::string& r = requests[next_request];
        next_request = (next_request + 1) % requests.size();
        ssize_t n = ::send(c.fd, r.data(), r.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) die("write failed: " + std::string(std::strerror(errno)));
        std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
        if (sent < r.size()) {
            c.out.assign(r, sent);
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
            ev.data.u64 = i;
            epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
        ++in_flight;
    };

    std::vector<epoll_event> events(conns.size());
    std::vector<char> buf(64 * 1024);
    ns now = now_ns();
    ns drain_deadline = 0;
    for (;;) {
        // Every request due by now goes out on an idle connection, oldest first.
        while (now < t_end && next_due <= static_cast<double>(now)) {
            backlog.push_back(static_cast<ns>(next_due));
            ++slots;
            next_due += o.poisson ? gap(rng) * interval_ns : interval_ns;
        }
        while (!backlog.empty() && !idle.empty()) {
            std::size_t i = idle.back();
            idle.pop_back();
            send_on(i, backlog.front(), now);
            backlog.pop_front();
        }
        if (now >= t_end) {
            if (in_flight == 0) break;
            if (drain_deadline == 0) drain_deadline = now + 2'000'000'000LL;
            if (now >= drain_deadline) break;
        }
        timespec timeout{};
        ns wake = now >= t_end ? drain_deadline : static_cast<ns>(next_due);
        if (!backlog.empty() && now < t_end) wake = t_end;  // waiting for a reply, not the clock
        ns wait = std::max<ns>(0, wake - now);
        timeout.tv_sec = wait / 1'000'000'000LL;
        timeout.tv_nsec = wait % 1'000'000'000LL;
        int n = epoll_pwait2(ep, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
        if (n < 0 && errno != EINTR) die("epoll_pwait2: " + std::string(std::strerror(errno)));
        now = now_ns();
        for (int k = 0; k < n; ++k) {
            std::size_t i = events[static_cast<std::size_t>(k)].data.u64;
            connection& c = conns[i];
            if ((events[static_cast<std::size_t>(k)].events & EPOLLOUT) && !c.out.empty()) {
                ssize_t w = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
                if (w > 0) c.out.erase(0, static_cast<std::size_t>(w));
                if (c.out.empty()) {
                    epoll_event ev{};
                    ev.events = EPOLLIN | EPOLLRDHUP;
                    ev.data.u64 = i;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
                }
            }
            // Level-triggered: whatever one read leaves is reported again.
            ssize_t r = ::recv(c.fd, buf.data(), buf.size(), 0);
            if (r > 0) {
                c.in.append(buf.data(), static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                die("connection closed by the server");
            }
            if (!c.busy) continue;
            if (c.need == 0 && !parse_head(c)) continue;
            if (c.in.size() < c.need) continue;
            if (c.in.size() > c.need) die("bytes after a response: pipelining is not used here");
            latencies.push_back(now - c.due);
            if (c.status >= 400) ++errors_status;
            c.busy = false;
            --in_flight;
            idle.push_back(i);
        }
    }
    const ns elapsed = std::max<ns>(1, now - t0);
    const std::uint64_t unsent = backlog.size();

    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) -> long long {
        if (latencies.empty()) return 0;
        auto idx = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(latencies.size()))) - 1;
        return latencies[std::min(idx, latencies.size() - 1)] / 1000;
    };
    double mean = 0;
    for (ns l : latencies)
        mean += static_cast<double>(l);
    mean = latencies.empty() ? 0 : mean / static_cast<double>(latencies.size()) / 1000.0;

    const double secs = static_cast<double>(elapsed) / 1e9;
    std::printf("Open-loop %s at %.0f req/s offered (%s arrivals), %d connections\n", o.scenario.c_str(), o.rate,
                o.poisson ? "Poisson" : "uniform", o.connections);
    std::printf("  %zu requests in %.2fs\n", latencies.size(), secs);
    if (errors_status)
        std::printf("  Non-2xx or 3xx responses: %llu\n", static_cast<unsigned long long>(errors_status));
    std::printf("  Socket errors: connect 0, read 0, write 0, timeout %llu\n",
                static_cast<unsigned long long>(in_flight + unsent));
    std::printf("Requests/sec: %.2f\n", static_cast<double>(latencies.size()) / secs);
    std::printf(
        "BENCHJSON {\"requests\":%zu,\"duration_us\":%lld,\"err_connect\":0,\"err_read\":0,\"err_write\":0,"
        "\"err_status\":%llu,\"err_timeout\":%llu,\"lat_mean_us\":%.1f,\"lat_max_us\":%lld,\"p50_us\":%lld,"
        "\"p90_us\":%lld,\"p99_us\":%lld,\"p999_us\":%lld,\"p9999_us\":%lld,\"late\":%llu,\"slots\":%llu,"
        "\"generator\":\"loadgen\",\"arrivals\":\"%s\"}\n",
        latencies.size(), static_cast<long long>(elapsed / 1000), static_cast<unsigned long long>(errors_status),
        static_cast<unsigned long long>(in_flight + unsent), mean, latencies.empty() ? 0LL : latencies.back() / 1000,
        pct(50), pct(90), pct(99), pct(99.9), pct(99.99), static_cast<unsigned long long>(late),
        static_cast<unsigned long long>(slots), o.poisson ? "poisson" : "uniform");
    return 0;
}
