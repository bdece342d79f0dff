// A Redis that lies: a server speaking RESP that answers a GET with a reply
// header announcing 50 million elements. The client must treat it as a
// protocol error (no huge allocation), fail that command, and reconnect.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "helpers.hpp"

using namespace sessiond;
using namespace sessiond::test;

namespace {

// Answers every command with +OK, except GET: its first GET ever gets
// `lie`, later ones "$2\r\nok\r\n". Serves one connection at a time, each
// until the peer closes it.
class lying_server {
public:
    explicit lying_server(std::string lie) : lie_(std::move(lie)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 8) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~lying_server() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    unsigned short port() const { return port_; }
    int connections() const { return connections_; }

private:
    // Whole commands at the front of `in` ("*N\r\n" then N bulk strings):
    // the first argument of each, removed from `in`.
    static std::vector<std::string> take_commands(std::string& in) {
        std::vector<std::string> names;
        for (;;) {
            std::size_t at = 0;
            auto line = [&](std::size_t& pos) -> std::optional<std::string> {
                auto end = in.find("\r\n", pos);
                if (end == std::string::npos) return std::nullopt;
                auto s = in.substr(pos, end - pos);
                pos = end + 2;
                return s;
            };
            auto head = line(at);
            if (!head || head->empty() || (*head)[0] != '*') return names;
            const int n = std::stoi(head->substr(1));
            std::string first;
            for (int i = 0; i < n; ++i) {
                auto len = line(at);
                if (!len) return names;
                const auto size = static_cast<std::size_t>(std::stoul(len->substr(1)));
                if (in.size() < at + size + 2) return names;
                if (i == 0) first = in.substr(at, size);
                at += size + 2;
            }
            in.erase(0, at);
            names.push_back(first);
        }
    }

    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            ++connections_;
            std::string in;
            char buf[4096];
            while (!stop_) {
                pollfd q{c, POLLIN, 0};
                if (::poll(&q, 1, 50) <= 0) continue;
                const ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) break;
                in.append(buf, static_cast<std::size_t>(n));
                std::string out;
                for (const auto& name : take_commands(in))
                    out += name != "GET" ? "+OK\r\n" : lied_++ == 0 ? lie_ : "$2\r\nok\r\n";
                if (!out.empty() && ::write(c, out.data(), out.size()) < 0) break;
            }
            ::close(c);
        }
    }

    std::string lie_;
    int fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    int lied_ = 0;
    std::thread thread_;
};

}  // namespace

TEST_CASE("a reply header announcing 50 million elements is a protocol error; the client reconnects",
          "[redis][client][hostile]") {
    lying_server srv("*50000000\r\n");
    boost::asio::io_context ioc;
    redis::config cfg = redis::parse_url("redis://127.0.0.1:" + std::to_string(srv.port())).value();
    cfg.connections = 1;
    cfg.command_timeout = 2000ms;
    cfg.reconnect_min = 10ms;
    cfg.reconnect_max = 100ms;
    redis::client client(ioc, cfg, 1);
    client.start();
    REQUIRE(wait_ready(ioc, client, 10s));

    auto lied = exec(ioc, client, redis::command("GET", "k"));
    CHECK(lied.ec == redis::error::protocol_error);  // not a timeout: refused as it arrived

    // The connection was dropped and a new one made; it serves the truth.
    REQUIRE(run_until(
        ioc,
        [&] {
            if (!client.ready()) return false;
            auto r = exec(ioc, client, redis::command("GET", "k"));
            return !r.ec && r.value.str() == "ok";
        },
        10s));
    CHECK(srv.connections() == 2);
    client.stop();
}
