// A command's completion handler that throws is contained by the client: the
// exception is logged through the injected logger, the replies after it are
// delivered and the connection keeps reading.

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace sessiond;
using namespace sessiond::test;
using redis::command;

TEST_CASE("a completion handler that throws is logged and the connection goes on", "[redis][client]") {
    redis_server srv;
    boost::asio::io_context ioc;
    std::vector<std::string> lines;
    auto cfg = test_config(srv);
    cfg.log = [&](redis::log_level level, std::string_view message, std::span<const redis::log_field> fields) {
        if (level != redis::log_level::error) return;
        std::string line(message);
        for (const auto& f : fields)
            if (const auto* text = std::get_if<std::string_view>(&f.value))
                line += " " + std::string(f.key) + "=" + std::string(*text);
        lines.push_back(line);
    };
    redis::client c(ioc, cfg, 1);
    c.start();
    REQUIRE(wait_ready(ioc, c, 5s));

    // Both go out in one write and their replies come back in one read: the
    // first handler throws while the second reply waits to be delivered.
    std::optional<std::string> second;
    c.async_exec(command("SET", "k", "v"), [](boost::system::error_code, redis::reply) {
        throw std::runtime_error("handler failed on purpose");
    });
    c.async_exec(command("GET", "k"),
                 [&](boost::system::error_code ec, redis::reply r) { second = ec ? "error" : std::string(r.str()); });
    REQUIRE(run_until(
        ioc, [&] { return second.has_value(); }, 5s));
    CHECK(*second == "v");
    // The connection still reads and answers.
    auto after = exec(ioc, c, command("GET", "k"));
    CHECK_FALSE(after.ec);
    CHECK(after.value.str() == "v");
    CHECK(c.ready());

    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::Contains("exception contained") && Catch::Contains("task=redis completion handler") &&
                             Catch::Contains("handler failed on purpose"));
    c.stop();
    run_for(ioc, 50ms);
}
