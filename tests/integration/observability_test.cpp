// The dashboard and the alert rules in deploy/ against a running sessiond:
// every metric they name is one sessiond exposes (a renamed metric would
// leave a panel empty and an alert silent), and the rules pass promtool's
// checks and their own unit tests.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <regex>
#include <set>
#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/redis_tls.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

const std::string deploy = std::string(SESSIOND_SOURCE_DIR) + "/deploy";

// Every sessiond_* and process_* name in a text (PromQL, annotations).
std::set<std::string> metric_names(const std::string& text) {
    static const std::regex name(R"(\b(sessiond_[a-z0-9_]+|process_[a-z0-9_]+)\b)");
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it)
        out.insert((*it)[1]);
    return out;
}

// The PromQL of every panel target in a Grafana dashboard.
std::string dashboard_queries(const boost::json::value& v) {
    std::string out;
    if (v.is_object()) {
        for (const auto& [key, member] : v.as_object()) {
            if (key == "expr" && member.is_string())
                out += std::string(member.as_string()) + "\n";
            else
                out += dashboard_queries(member);
        }
    } else if (v.is_array()) {
        for (const auto& e : v.as_array())
            out += dashboard_queries(e);
    }
    return out;
}

// promtool's exit status and output.
std::pair<int, std::string> promtool(const std::vector<std::string>& args) {
    temp_dir dir;
    process_options o;
    o.argv = {"promtool"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.log_path = dir.file("promtool.log");
    process p(o);
    const auto status = p.wait(120s);
    return {status.value_or(-1), p.log()};
}

}  // namespace

TEST_CASE("every metric the Grafana dashboard and the Prometheus rules use is exposed by sessiond", "[metrics]") {
    const auto dashboard = boost::json::parse(read_file(deploy + "/grafana/sessiond-dashboard.json"));
    const auto queries = dashboard_queries(dashboard);
    const auto rules = read_file(deploy + "/prometheus/sessiond-rules.yaml");
    auto used = metric_names(queries);
    REQUIRE(used.size() > 30);
    const auto in_rules = metric_names(rules);
    REQUIRE(in_rules.size() > 10);
    used.insert(in_rules.begin(), in_rules.end());

    // A deployment with every optional part whose metrics the files use:
    // Redis, HTTPS (the certificate's end), an operations listener, a
    // webhook (to a port nobody listens on: its metrics are there all the same).
    redis_server redis;
    const auto pki = make_test_pki();
    const auto ops_port = free_port();
    temp_dir dir;
    write_file(dir.file("hook.whsec"), "whsec_0zdLOtMsECXEvMM9Cdf9ETPD1smAmRQhRh5H449zARw=\n");
    const auto webhook = "probe=http://127.0.0.1:" + std::to_string(free_port()) + "/|" + dir.file("hook.whsec");
    sessiond_process sd({"--development", "--redis-url", redis.url(), "--tls-cert-file", pki->server_cert,
                         "--tls-key-file", pki->server_key, "--ops-port", std::to_string(ops_port), "--events",
                         "--webhooks", webhook});
    REQUIRE(eventually([&] { return http_connection(ops_port).request("GET", "/readyz")->status == 200; }, 20s));
    auto scraped = http_connection(ops_port).request("GET", "/metrics");
    REQUIRE(scraped);
    REQUIRE(scraped->status == 200);
    const std::string exposed = "\n" + scraped->body;
    for (const auto& name : used) {
        INFO("metric " << name);
        // A histogram's own name (in an annotation) is exposed as its _count.
        auto sampled = [&](const std::string& series) {
            return exposed.find("\n" + series + " ") != std::string::npos ||
                   exposed.find("\n" + series + "{") != std::string::npos;
        };
        const bool present = sampled(name) || sampled(name + "_count");
        CHECK(present);
    }
}

TEST_CASE("the Prometheus rules pass promtool check rules and their unit tests", "[metrics]") {
    const auto [checked, check_output] = promtool({"check", "rules", deploy + "/prometheus/sessiond-rules.yaml"});
    INFO(check_output);
    CHECK(checked == 0);
    CHECK_THAT(check_output, Catch::Contains("SUCCESS"));
    const auto [tested, test_output] = promtool({"test", "rules", deploy + "/prometheus/sessiond-rules.test.yaml"});
    INFO(test_output);
    CHECK(tested == 0);
    CHECK_THAT(test_output, Catch::Contains("SUCCESS"));
}
