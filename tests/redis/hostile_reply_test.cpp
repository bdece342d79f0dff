// A Redis that lies: a server speaking RESP that answers a GET with a reply
// header announcing 50 million elements. The client must treat it as a
// protocol error (no huge allocation), fail that command, and reconnect.

#include <catch2/catch.hpp>

#include <string>

#include "helpers.hpp"
#include "support/lying_redis.hpp"

using namespace sessiond;
using namespace sessiond::test;

TEST_CASE("a reply header announcing 50 million elements is a protocol error; the client reconnects",
          "[redis][client][hostile]") {
    lying_redis srv("GET", "*50000000\r\n");
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
