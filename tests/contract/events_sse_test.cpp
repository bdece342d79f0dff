// GET /v1/events, the session events as Server-Sent Events, against the
// real daemon on the embedded store and on a real Redis: what a subscriber
// receives for the API's changes, the filters, a resume on another
// instance, the heartbeat, the cap, the scope, a client that stops reading,
// and the drain.

#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <string>
#include <vector>

#include "session/event_json.hpp"
#include "support/contract_target.hpp"
#include "support/process.hpp"
#include "support/sse_client.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// The key of the caller with the scope events:read (contract_target.cpp).
constexpr const char* events_key = "sk_test_events_0123456789abcdef0123456789abcd";

const std::vector<std::string> events_on = {"--events", "true"};

std::vector<std::string> with(std::vector<std::string> more) {
    auto args = events_on;
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::unique_ptr<sse_stream> subscribe(contract_target& t, const std::string& query = "",
                                      std::map<std::string, std::string> headers = {}, int receive_buffer = 0) {
    headers["X-API-Key"] = events_key;
    return std::make_unique<sse_stream>(t.port(), "/v1/events" + query, headers, receive_buffer);
}

struct opened {
    std::string token, id;
};

opened open_session(contract_target& t, const std::string& user) {
    auto r = t.create(user);
    REQUIRE(r.status == 201);
    return {str(r.json, "token"), std::string(session_of(r).at("id").as_string())};
}

json::object data_of(const sse_event& e) {
    return json::parse(e.data).as_object();
}

// Up to `n` events of `s` for which `keep` holds, others skipped.
template <class Keep>
std::vector<sse_event> events_where(sse_stream& s, std::size_t n, Keep keep, std::chrono::milliseconds timeout = 10s) {
    std::vector<sse_event> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        auto e = s.next(left);
        if (!e) break;
        if (keep(*e)) out.push_back(std::move(*e));
    }
    return out;
}

}  // namespace

TEST_CASE("events: a subscriber receives the API's changes, in order, with their fields and no token") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store, events_on);
    auto s = subscribe(t);
    REQUIRE(s->head().status == 200);
    CHECK(s->head().header("content-type") == "text/event-stream");
    CHECK(s->head().header("cache-control") == "no-store");
    CHECK(s->head().header("transfer-encoding") == "chunked");
    CHECK(s->head().header("connection") == "close");

    const auto a = open_session(t, "sse-alice");
    auto rotated = t.rotate(a.token);
    REQUIRE(rotated.status == 200);
    const auto new_token = str(rotated.json, "token");
    REQUIRE(t.revoke(new_token).status == 204);

    const auto got = s->take(3);
    REQUIRE(got.size() == 3);
    const std::vector<std::string> types = {"session.created", "session.rotated", "session.revoked"};
    std::set<std::string> ids;
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO(got[i].data);
        CHECK(got[i].type == types[i]);
        const auto d = data_of(got[i]);
        CHECK(d.at("id") == got[i].id.c_str());
        CHECK(d.at("type") == types[i].c_str());
        CHECK(d.at("session_id") == a.id.c_str());
        CHECK(d.at("user_id") == "sse-alice");
        CHECK(d.at("caller") == "all");
        CHECK(d.contains("time"));
        CHECK(d.contains("instance"));
        CHECK(sessiond::session::event_ref::parse(got[i].id));
        ids.insert(got[i].id);
        // Never a token, nor a part of one.
        CHECK(got[i].data.find(a.token) == std::string::npos);
        CHECK(got[i].data.find(new_token) == std::string::npos);
        CHECK(got[i].data.find("sid_") == std::string::npos);
    }
    CHECK(ids.size() == 3);
    CHECK(data_of(got[2]).at("reason") == "caller");
    CHECK_FALSE(s->next(300ms));  // nothing else
    CHECK(metric(t, "sessiond_event_streams_open") == 1);
    // Counted once the write completed, which may be after the client read it.
    CHECK(eventually([&] { return metric(t, "sessiond_events_sent_total") >= 3; }, 5s));
}

TEST_CASE("events: filters by type and user; strict input") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store, events_on);
    auto bobs_revocations = subscribe(t, "?types=session.revoked&user=sse-bob");
    auto created_or_revoked = subscribe(t, "?types=session.revoked,session.created");
    REQUIRE(bobs_revocations->head().status == 200);
    REQUIRE(created_or_revoked->head().status == 200);

    const auto a = open_session(t, "sse-alice");
    const auto b = open_session(t, "sse-bob");
    REQUIRE(t.rotate(b.token).status == 200);
    REQUIRE(t.call("DELETE", "/v1/sessions/" + a.id, test_keys::admin).status == 204);
    REQUIRE(t.call("DELETE", "/v1/sessions/" + b.id, test_keys::admin).status == 204);

    auto only_bob = bobs_revocations->take(1);
    REQUIRE(only_bob.size() == 1);
    CHECK(only_bob[0].type == "session.revoked");
    CHECK(data_of(only_bob[0]).at("session_id") == b.id.c_str());
    CHECK_FALSE(bobs_revocations->next(300ms));

    auto four = created_or_revoked->take(4);
    REQUIRE(four.size() == 4);
    for (const auto& e : four)
        CHECK((e.type == "session.created" || e.type == "session.revoked"));
    CHECK_FALSE(created_or_revoked->next(300ms));

    for (const std::string query : {"?types=session.bogus", "?types=", "?types=session.created,", "?user=",
                                    "?user=a%01", "?other=1", "?types=session.created&types=session.revoked"}) {
        INFO(query);
        auto r = t.call("GET", "/v1/events" + query, events_key);
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
    for (const std::string id : {"nonsense", "16385:1-0", "1:1", "-1:1-0"}) {
        INFO(id);
        auto r = t.call("GET", "/v1/events", events_key, "", {{"Last-Event-ID", id}});
        CHECK(r.status == 400);
        CHECK(r.code() == "malformed_request");
    }
}

TEST_CASE("events: the scope events:read; events off is 404") {
    contract_target t("memory", events_on);
    auto none = t.call("GET", "/v1/events", "");
    CHECK(none.status == 401);
    CHECK(none.code() == "unauthenticated");
    auto all = t.call("GET", "/v1/events", test_keys::all);  // every other scope
    CHECK(all.status == 403);
    CHECK(all.code() == "forbidden");
    CHECK(t.call("GET", "/v1/events", test_keys::admin).status == 403);

    contract_target off("memory");
    auto r = off.call("GET", "/v1/events", events_key);
    CHECK(r.status == 404);
    CHECK(r.code() == "not_found");
    CHECK(r.json.at("detail").as_string().find("events = false") != std::string::npos);
}

TEST_CASE("events: a heartbeat comment on an idle stream") {
    contract_target t("memory", with({"--events-heartbeat", "200ms"}));
    auto s = subscribe(t);
    REQUIRE(s->head().status == 200);
    CHECK(s->read_until(
        [&] { return std::count(s->comments().begin(), s->comments().end(), std::string("keep-alive")) >= 2; }, 5s));
}

TEST_CASE("events: beyond events-max-streams, 503 with Retry-After; a slot frees as a stream ends") {
    contract_target t("memory", with({"--events-max-streams", "2", "--events-heartbeat", "200ms"}));
    auto first = subscribe(t);
    auto second = subscribe(t);
    REQUIRE(first->head().status == 200);
    REQUIRE(second->head().status == 200);
    auto third = t.call("GET", "/v1/events", events_key);
    CHECK(third.status == 503);
    CHECK(third.header("retry-after") == "5");
    CHECK(third.header("content-type") == "application/problem+json");
    CHECK(metric(t, "sessiond_event_streams_ended_total{reason=\"refused\"}") == 1);
    // A client's close is seen when a write fails: the heartbeats', at the latest.
    first.reset();
    CHECK(eventually(
        [&] {
            auto again = subscribe(t);
            return again->head().status == 200;
        },
        10s, 100ms));
}

TEST_CASE("events: a resume with Last-Event-ID on another instance loses nothing, repeats only the margin") {
    contract_target a("redis", with({"--events-resume-margin", "2s"}));
    contract_target b(a, with({"--events-resume-margin", "2s"}));
    std::vector<opened> sessions;
    auto s = subscribe(a);
    REQUIRE(s->head().status == 200);
    for (int i = 0; i < 4; ++i)
        sessions.push_back(open_session(a, "sse-user-" + std::to_string(i)));
    auto before = s->take(4);
    REQUIRE(before.size() == 4);
    const auto last = before.back();
    s.reset();  // the client goes away

    // Meanwhile, through either instance.
    std::set<std::string> missed;
    for (int i = 4; i < 8; ++i) {
        auto& via = i % 2 ? a : b;
        missed.insert(open_session(via, "sse-user-" + std::to_string(i)).id);
    }
    auto resumed = subscribe(b, "", {{"Last-Event-ID", last.id}});
    REQUIRE(resumed->head().status == 200);
    const auto last_ms = sessiond::session::event_ref::parse(last.id)->at.ms;
    std::set<std::string> seen_ids;
    std::set<std::string> got;
    const auto events = events_where(*resumed, 4, [&](const sse_event& e) {
        const auto ref = sessiond::session::event_ref::parse(e.id);
        REQUIRE(ref);
        CHECK(seen_ids.insert(e.id).second);  // no event twice in one stream
        const auto id = std::string(data_of(e).at("session_id").as_string());
        if (missed.count(id)) return got.insert(id).second;
        // A repeat: from before the resume point, within the margin.
        CHECK(e.id != last.id);
        CHECK(ref->at.ms + 2000 >= last_ms);
        return false;
    });
    CHECK(events.size() == 4);
    CHECK(got == missed);
}

TEST_CASE("events: a client that stops reading is cut, counted, closed; other streams flow on") {
    auto store = GENERATE(as<std::string>{}, "memory", "redis");
    INFO("store: " << store);
    contract_target t(store, with({"--events-stream-queue", "50"}));
    auto stuck = subscribe(t, "", {}, 4096);
    auto fine = subscribe(t);
    REQUIRE(stuck->head().status == 200);
    REQUIRE(fine->head().status == 200);
    // Events until the stuck client's socket buffers are full and its queue
    // overflows; the fine one reads all along.
    int created = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (metric(t, "sessiond_event_streams_ended_total{reason=\"overflow\"}") < 1) {
        INFO("events created: " << created << ", streams ended as gone: "
                                << metric(t, "sessiond_event_streams_ended_total{reason=\"client_gone\"}"));
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        for (int i = 0; i < 20; ++i, ++created)
            open_session(t, "sse-burst-" + std::to_string(created) + "-" + std::string(230, 'x'));
        fine->take(20, 10s);
    }
    // The stuck stream ends (its last word is an overflow event, if it got
    // that far before the write deadline).
    CHECK(stuck->wait_ended(20s));
    // The other goes on.
    const auto after = open_session(t, "sse-after");
    const auto e =
        events_where(*fine, 1, [&](const sse_event& x) { return data_of(x).at("session_id") == after.id.c_str(); });
    CHECK(e.size() == 1);
    CHECK(eventually([&] { return metric(t, "sessiond_event_streams_open") == 1; }, 5s));
}

TEST_CASE("events: SIGTERM ends an open stream at once, and the process exits promptly") {
    contract_target t("memory", with({"--drain-timeout", "30s"}));
    auto s = subscribe(t);
    REQUIRE(s->head().status == 200);
    const auto started = std::chrono::steady_clock::now();
    t.daemon().proc().signal(SIGTERM);
    CHECK(s->wait_ended(5s));
    CHECK(s->finished_cleanly());
    CHECK(std::count(s->comments().begin(), s->comments().end(), std::string("the server is shutting down")) == 1);
    const auto status = t.daemon().proc().wait(10s);
    REQUIRE(status);
    CHECK(*status == 0);
    CHECK(std::chrono::steady_clock::now() - started < 10s);  // far within the 30 s drain deadline
}

TEST_CASE("events: on a Redis Cluster, a subscriber receives the API's changes") {
    // A pass over every stream is one XRANGE per stream there: a slow poll.
    contract_target t("cluster", with({"--events-poll-interval", "1s"}));
    auto s = subscribe(t, "?user=sse-cluster");
    REQUIRE(s->head().status == 200);
    const auto a = open_session(t, "sse-cluster");
    REQUIRE(t.revoke(a.token).status == 204);
    const auto got = s->take(2, 30s);
    REQUIRE(got.size() == 2);
    CHECK(got[0].type == "session.created");
    CHECK(got[1].type == "session.revoked");
    CHECK(data_of(got[1]).at("session_id") == a.id.c_str());
}
