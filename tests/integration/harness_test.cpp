// The test harness itself: servers it starts survive a port taken by
// another process on this shared machine.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/redis_server.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;

namespace {
// A socket listening on a port of 127.0.0.1 the kernel picks: a port some
// other process holds.
struct held_port {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    unsigned short port = 0;
    held_port() {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd, 1) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    }
    ~held_port() { ::close(fd); }
    held_port(const held_port&) = delete;
    held_port& operator=(const held_port&) = delete;
};

}  // namespace

TEST_CASE("redis-server moves to another port when its port is taken") {
    held_port taken;
    temp_dir dir;
    int attempts = 0;
    unsigned short port = 0;
    // The first attempt gets the taken port, as if another process had
    // bound it between free_port() and redis-server's bind.
    auto proc = start_redis(
        [&](unsigned short offered) { return redis_argv(attempts++ == 0 ? taken.port : offered, dir); }, dir, port);
    CHECK(attempts == 2);
    CHECK(port != taken.port);
    CHECK(proc->running());
    int fd = connect_loopback(port);
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);

    // A restart on a fixed port that is taken fails with redis-server's reason.
    unsigned short fixed = taken.port;
    CHECK_THROWS_WITH(start_redis([&](unsigned short p) { return redis_argv(p, dir); }, dir, fixed, true),
                      Catch::Contains("Address already in use"));
}

TEST_CASE("sessiond listens on the port the kernel picked and says which") {
    sessiond_process a;
    sessiond_process b;
    CHECK(a.port() != 0);
    CHECK(a.port() != b.port());
    CHECK(a.request("GET", "/healthz").status == 200);
    CHECK(b.request("GET", "/healthz").status == 200);
    CHECK_THAT(a.proc().log(), Catch::Contains("\"port\":" + std::to_string(a.port())));
}
