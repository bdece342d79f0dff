// Webhooks for the session events (docs/webhooks.md), against a receiver
// written in Python (tests/support/webhook_receiver.py) that verifies each
// signature with Python's own hmac, hashlib and base64: events arrive
// signed and in order per user; two secrets during a rotation both sign;
// a refusing receiver gets retries, then the batch's events are counted
// dead and delivery moves on; a second instance takes over from the saved
// progress when the lease holder is killed; HTTPS verifies the receiver's
// certificate; and configurations that would run insecurely are refused.

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/contract_target.hpp"
#include "support/redis_tls.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// Made with Python's os.urandom and base64 (32 bytes each).
const std::string secret_a = "whsec_0zdLOtMsECXEvMM9Cdf9ETPD1smAmRQhRh5H449zARw=";
const std::string secret_b = "whsec_Z3Bo3OWJ7vBO5wznEUweM7YJgrUEF8ANE6+f2aE5My0=";

// The Python receiver on a loopback port of the kernel's choosing.
class receiver {
public:
    struct options {
        std::vector<std::string> secrets = {secret_a};  // what it verifies with
        int fail_first = 0;                             // < 0: every request
        const test_pki* pki = nullptr;                  // HTTPS with the PKI's server certificate
    };
    explicit receiver(const options& o) {
        std::string secrets;
        for (const auto& s : o.secrets)
            secrets += s + "\n";
        write_file(secret_path(), secrets);
        process_options p;
        p.argv = {"/usr/bin/python3",
                  std::string(SESSIOND_SOURCE_DIR) + "/tests/support/webhook_receiver.py",
                  "--log",
                  dir_.file("requests.jsonl"),
                  "--secret-file",
                  secret_path(),
                  "--fail",
                  std::to_string(o.fail_first)};
        if (o.pki) p.argv.insert(p.argv.end(), {"--cert", o.pki->server_cert, "--key", o.pki->server_key});
        proc_ = std::make_unique<process>(p);
        REQUIRE(proc_->wait_for_log("port ", 10s));
        REQUIRE(eventually([&] { return proc_->log().find('\n') != std::string::npos; }, 5s));
        const auto log = proc_->log();
        port_ = std::stoi(log.substr(log.find("port ") + 5));
        scheme_ = o.pki ? "https" : "http";
    }

    std::string secret_path() const { return dir_.file("secret"); }
    std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_) + "/hooks/sessiond"; }
    // The webhooks entry for sessiond, with a secret file of these secrets.
    std::string entry(const std::string& name, const std::vector<std::string>& secrets, const std::string& types = "") {
        const auto file = dir_.file(name + ".whsec");
        std::string text;
        for (const auto& s : secrets)
            text += s + "\n";
        write_file(file, text);
        return name + "=" + url() + "|" + file + (types.empty() ? "" : "|" + types);
    }

    std::vector<json::object> requests() const {
        std::vector<json::object> out;
        std::ifstream in(dir_.file("requests.jsonl"));
        std::string line;
        while (std::getline(in, line))
            if (!line.empty()) out.push_back(json::parse(line).as_object());
        return out;
    }

    // Every event of the accepted (2xx) requests, in the order received.
    std::vector<json::object> delivered_events() const {
        std::vector<json::object> out;
        for (const auto& r : requests()) {
            if (r.at("status").as_int64() >= 300) continue;
            for (const auto& e : r.at("body").at("data").at("events").as_array())
                out.push_back(e.as_object());
        }
        return out;
    }

private:
    temp_dir dir_;
    std::unique_ptr<process> proc_;
    int port_ = 0;
    std::string scheme_;
};

// One sample of a labelled family in /metrics, or -1.
double sample(contract_target& t, const std::string& series) {
    const auto body = t.call("GET", "/metrics", "").body;
    const auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
}

std::string ep(const std::string& name) {
    return "{endpoint=\"" + name + "\"}";
}

bool lease_held(contract_target& t, const std::string& name) {
    return sample(t, "sessiond_webhook_lease_held" + ep(name)) == 1;
}

std::vector<std::string> hook_flags(const std::string& entry, std::vector<std::string> more = {}) {
    std::vector<std::string> flags{"--development",
                                   "--events",
                                   "--webhooks",
                                   entry,
                                   "--webhook-poll-interval",
                                   "100ms",
                                   "--webhook-retry-delay",
                                   "200ms",
                                   "--webhook-retry-max-delay",
                                   "2s"};
    flags.insert(flags.end(), more.begin(), more.end());
    return flags;
}

std::string str_or(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The events of `user`, as "type" or "type:reason", in the order delivered.
std::vector<std::string> user_events(const std::vector<json::object>& events, const std::string& user) {
    std::vector<std::string> out;
    for (const auto& e : events)
        if (str_or(e, "user_id") == user) {
            auto t = str_or(e, "type");
            if (!str_or(e, "reason").empty()) t += ":" + str_or(e, "reason");
            out.push_back(t);
        }
    return out;
}

}  // namespace

TEST_CASE("webhooks: events arrive signed, in order per user, as their JSON") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    receiver rx({});
    contract_target t(store, hook_flags(rx.entry("audit", {secret_a})));
    REQUIRE(eventually([&] { return lease_held(t, "audit"); }, 10s));

    auto alice = t.create("alice");
    REQUIRE(alice.status == 201);
    auto bob = t.create("bob");
    REQUIRE(bob.status == 201);
    auto rotated = t.rotate(str(alice.json, "token"));
    REQUIRE(rotated.status == 200);
    REQUIRE(t.revoke(str(rotated.json, "token")).status < 300);

    REQUIRE(eventually(
        [&] {
            const auto got = rx.delivered_events();
            return user_events(got, "alice").size() >= 3 && !user_events(got, "bob").empty();
        },
        15s));
    const auto events = rx.delivered_events();
    CHECK(user_events(events, "alice") ==
          std::vector<std::string>{"session.created", "session.rotated", "session.revoked:caller"});
    CHECK(user_events(events, "bob") == std::vector<std::string>{"session.created"});

    // Every request signed with the secret, fresh, JSON, and a batch.
    const auto requests = rx.requests();
    REQUIRE(!requests.empty());
    std::set<std::string> ids;
    for (const auto& r : requests) {
        CHECK(r.at("signatures").as_int64() == 1);
        CHECK(r.at("verified").as_array() == json::array{0});
        CHECK(r.at("fresh").as_bool());
        CHECK(str_or(r, "content_type") == "application/json");
        CHECK(str_or(r, "id").starts_with("msg_"));
        ids.insert(str_or(r, "id"));
        const auto& body = r.at("body").as_object();
        CHECK(str_or(body, "type") == "sessiond.events");
        CHECK(str_or(body, "timestamp").ends_with("Z"));
    }
    CHECK(ids.size() == requests.size());  // nothing failed: every batch once

    // The event's public JSON: its id names its stream and position, and a
    // session's id is its public id (never a token).
    const auto session = session_of(alice);
    std::set<std::string> event_ids;
    for (const auto& e : events) {
        const auto id = str_or(e, "id");
        CHECK(id.find(':') != std::string::npos);
        CHECK(id.find('-') != std::string::npos);
        CHECK(!str_or(e, "time").empty());
        CHECK(event_ids.insert(id).second);
        CHECK(json::serialize(e).find(str(alice.json, "token")) == std::string::npos);
    }
    for (const auto& e : events)
        if (str_or(e, "user_id") == "alice" && str_or(e, "type") == "session.created")
            CHECK(str_or(e, "session_id") == std::string(session.at("id").as_string()));
    // Counted once the receiver's 2xx is read, which is after it has the events.
    CHECK(eventually(
        [&] {
            return sample(t, "sessiond_webhook_delivered_events_total" + ep("audit")) ==
                   static_cast<double>(events.size());
        },
        5s));
    CHECK(sample(t, "sessiond_webhook_lag_seconds" + ep("audit")) >= 0);
}

TEST_CASE("webhooks: a type filter, and two secrets during a rotation that both sign") {
    receiver rx({{secret_a, secret_b}});
    contract_target t("redis", hook_flags(rx.entry("rotating", {secret_a, secret_b}, "session.created")));
    REQUIRE(eventually([&] { return lease_held(t, "rotating"); }, 10s));
    auto carol = t.create("carol");
    REQUIRE(carol.status == 201);
    REQUIRE(t.revoke(str(carol.json, "token")).status < 300);
    auto dave = t.create("dave");
    REQUIRE(dave.status == 201);
    REQUIRE(eventually([&] { return user_events(rx.delivered_events(), "dave").size() == 1; }, 15s));
    // Only the type asked for: carol's revocation is not sent.
    CHECK(user_events(rx.delivered_events(), "carol") == std::vector<std::string>{"session.created"});
    for (const auto& r : rx.requests()) {
        CHECK(r.at("signatures").as_int64() == 2);
        // Each secret alone verifies one of the signatures.
        CHECK(r.at("verified").as_array() == json::array{0, 1});
    }
}

TEST_CASE("webhooks: a refused batch is retried with backoff under its ceiling, the same id, then delivered") {
    receiver rx({{secret_a}, 3});
    contract_target t("redis", hook_flags(rx.entry("flaky", {secret_a})));
    REQUIRE(eventually([&] { return lease_held(t, "flaky"); }, 10s));
    REQUIRE(t.create("erin").status == 201);
    REQUIRE(eventually([&] { return !rx.delivered_events().empty(); }, 20s));
    const auto requests = rx.requests();
    REQUIRE(requests.size() >= 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(str_or(requests[i], "id") == str_or(requests[0], "id"));   // one batch, one id
        CHECK(requests[i].at("verified").as_array() == json::array{0});  // signed again each time
    }
    CHECK(requests[3].at("status").as_int64() == 204);
    // Full jitter: the n-th retry waits at most 200ms * 2^n (plus the time
    // to send, with room for a stalled, loaded machine).
    for (std::size_t i = 1; i < 4; ++i) {
        const double gap = requests[i].at("t").as_double() - requests[i - 1].at("t").as_double();
        CHECK(gap >= 0);
        CHECK(gap <= 0.2 * static_cast<double>(1U << (i - 1)) + 3.0);
    }
    CHECK(eventually(
        [&] {
            return sample(t, "sessiond_webhook_retries_total" + ep("flaky")) == 3 &&
                   sample(t, R"(sessiond_webhook_deliveries_total{endpoint="flaky",outcome="failed"})") == 3 &&
                   sample(t, R"(sessiond_webhook_deliveries_total{endpoint="flaky",outcome="delivered"})") == 1;
        },
        5s));
}

TEST_CASE("webhooks: a batch refused for the retry window is counted dead, and delivery moves on") {
    receiver rx({{secret_a}, -1});
    contract_target t(
        "redis", hook_flags(rx.entry("down", {secret_a}), {"--webhook-retry-for", "1s", "--webhook-batch-size", "1"}));
    REQUIRE(eventually([&] { return lease_held(t, "down"); }, 10s));
    REQUIRE(t.create("frank").status == 201);
    REQUIRE(eventually([&] { return sample(t, "sessiond_webhook_dead_events_total" + ep("down")) == 1; }, 15s));
    CHECK(eventually(
        [&] { return sample(t, R"(sessiond_webhook_deliveries_total{endpoint="down",outcome="dead"})") == 1; }, 5s));
    CHECK(t.daemon().proc().wait_for_log("webhook batch given up", 5s));  // the log thread writes it after

    // The next event is tried: another batch, another id.
    REQUIRE(t.create("grace").status == 201);
    auto tried_grace = [&] {
        for (const auto& r : rx.requests())
            for (const auto& e : r.at("body").at("data").at("events").as_array())
                if (str_or(e.as_object(), "user_id") == "grace") return true;
        return false;
    };
    REQUIRE(eventually(tried_grace, 10s));
    std::set<std::string> ids;
    for (const auto& r : rx.requests())
        ids.insert(str_or(r, "id"));
    CHECK(ids.size() >= 2);
    REQUIRE(eventually([&] { return sample(t, "sessiond_webhook_dead_events_total" + ep("down")) == 2; }, 15s));
}

TEST_CASE("webhooks: another instance takes over from the saved progress when the lease holder dies") {
    receiver rx({});
    const auto entry = rx.entry("shared", {secret_a});
    // A short lease, yet long enough that a loaded machine renews it in time.
    const std::vector<std::string> more{"--webhook-lease-ttl", "4s", "--webhook-batch-size", "5"};
    auto first = std::make_unique<contract_target>("redis", hook_flags(entry, more));
    contract_target second(*first, hook_flags(entry, more));
    REQUIRE(eventually([&] { return lease_held(*first, "shared") || lease_held(second, "shared"); }, 10s));
    // One holder at a time.
    const bool first_holds = lease_held(*first, "shared");
    CHECK(first_holds != lease_held(second, "shared"));
    contract_target& holder = first_holds ? *first : second;
    contract_target& other = first_holds ? second : *first;

    std::set<std::string> created;
    for (int i = 0; i < 20; ++i) {
        auto r = other.create("user-" + std::to_string(i));
        REQUIRE(r.status == 201);
        created.insert(std::string(session_of(r).at("id").as_string()));
    }
    auto delivered_sessions = [&] {
        std::multiset<std::string> out;
        for (const auto& e : rx.delivered_events())
            if (str_or(e, "type") == "session.created") out.insert(str_or(e, "session_id"));
        return out;
    };
    REQUIRE(eventually([&] { return delivered_sessions().size() >= 20; }, 15s));
    const auto before_kill = rx.delivered_events().size();

    holder.daemon().proc().signal(SIGKILL);
    REQUIRE(holder.daemon().proc().wait(5s));
    for (int i = 20; i < 30; ++i) {
        auto r = other.create("user-" + std::to_string(i));
        REQUIRE(r.status == 201);
        created.insert(std::string(session_of(r).at("id").as_string()));
    }
    // The lease expires (4s), the survivor takes it and goes on.
    REQUIRE(eventually([&] { return lease_held(other, "shared"); }, 20s));
    REQUIRE(eventually(
        [&] {
            const auto got = delivered_sessions();
            return std::all_of(created.begin(), created.end(), [&](const auto& id) { return got.count(id) > 0; });
        },
        15s));
    // Every event at least once; resumed from the saved position, so at
    // most the batch in flight when the holder died comes again.
    const auto all = rx.delivered_events();
    std::set<std::string> unique;
    for (const auto& e : all)
        unique.insert(str_or(e, "id"));
    CHECK(all.size() - unique.size() <= 5);
    CHECK(all.size() >= before_kill + 10);
    for (const auto& r : rx.requests())
        CHECK(r.at("verified").as_array() == json::array{0});
}

TEST_CASE("webhooks: HTTPS verifies the receiver's certificate with webhook-ca-file") {
    const auto pki = make_test_pki();
    receiver rx({{secret_a}, 0, pki.get()});
    SECTION("trusted through the CA file: delivered") {
        contract_target t("redis", {"--events", "--webhooks", rx.entry("tls", {secret_a}), "--webhook-ca-file",
                                    pki->ca_cert, "--webhook-poll-interval", "100ms"});
        REQUIRE(eventually([&] { return lease_held(t, "tls"); }, 10s));
        REQUIRE(t.create("heidi").status == 201);
        REQUIRE(eventually([&] { return user_events(rx.delivered_events(), "heidi").size() == 1; }, 15s));
    }
    SECTION("the system's CAs do not know the test CA: refused, nothing sent") {
        contract_target t("redis", {"--events", "--webhooks", rx.entry("tls", {secret_a}), "--webhook-poll-interval",
                                    "100ms", "--webhook-retry-delay", "100ms"});
        REQUIRE(eventually([&] { return lease_held(t, "tls"); }, 10s));
        REQUIRE(t.create("ivan").status == 201);
        REQUIRE(eventually(
            [&] { return sample(t, R"(sessiond_webhook_deliveries_total{endpoint="tls",outcome="failed"})") >= 1; },
            15s));
        CHECK(rx.requests().empty());
        CHECK(t.daemon().proc().log().find("certificate verify failed") != std::string::npos);
    }
}

TEST_CASE("webhooks: configurations that would deliver insecurely, or cannot, refuse to start") {
    temp_dir dir;
    const auto good = dir.file("good.whsec");
    write_file(good, secret_a + "\n");
    const auto bad = dir.file("bad.whsec");
    write_file(bad, "not-a-secret\n");
    const auto three = dir.file("three.whsec");
    write_file(three, secret_a + "\n" + secret_b + "\n" + secret_a + "\n");
    const auto short_key = dir.file("short.whsec");
    write_file(short_key, "whsec_c2hvcnQ=\n");
    struct refusal {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<refusal> cases = {
        {{"--development", "--events", "--webhooks", "x=http://192.0.2.1/hook|" + good}, "loopback address only"},
        {{"--development", "--events", "--webhooks", "x=http://example.com/hook|" + good}, "loopback address only"},
        {{"--events", "--webhooks", "x=http://127.0.0.1:9/hook|" + good, "--token-keys",
          "1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "--user-index-key",
          "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},
         "development mode only"},
        {{"--development", "--webhooks", "x=https://hooks.example.com/|" + good}, "needs events = true"},
        {{"--development", "--events", "--webhooks", "x=https://hooks.example.com/|" + bad}, "not a whsec_ secret"},
        {{"--development", "--events", "--webhooks", "x=https://hooks.example.com/|" + short_key},
         "not a whsec_ secret"},
        {{"--development", "--events", "--webhooks", "x=https://hooks.example.com/|" + three}, "or two during"},
        {{"--development", "--events", "--webhooks", "x=https://hooks.example.com/|" + dir.file("missing")},
         "cannot read"},
        {{"--development", "--events", "--webhooks", "x=ftp://hooks.example.com/|" + good}, "https://"},
        {{"--development", "--events", "--webhooks", "x=https://hooks.example.com/|" + good + "|session.nope"},
         "not an event type"},
    };
    for (const auto& c : cases) {
        std::string line;
        for (const auto& a : c.args)
            line += a + " ";
        INFO(line);
        const auto r = run_sessiond(c.args);
        CHECK(r.status == 2);
        CHECK(r.output.find(c.says) != std::string::npos);
        CHECK(r.output.find(secret_a.substr(6)) == std::string::npos);
    }
}
