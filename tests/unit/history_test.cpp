// The history checker of the topology tests (support/history.hpp) on
// histories made by hand: it finds what it is there to find.

#include <catch2/catch.hpp>

#include "support/history.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;
using kind = history::kind;

namespace {

history::op at(kind what, int instance, int session, int sent_ms, int answered_ms, int status, bool probe = false) {
    const auto t0 = history::clock::time_point{} + 1h;
    history::op o{
        what,   instance, session, t0 + std::chrono::milliseconds(sent_ms), t0 + std::chrono::milliseconds(answered_ms),
        status, {}};
    o.probe = probe;
    return o;
}

}  // namespace

TEST_CASE("history: a clean history has no violation and reports the revoke-to-refusal delay", "[history]") {
    history h;
    h.record(at(kind::create, 0, 1, 0, 1, 201));
    h.record(at(kind::validate, 1, 1, 2, 3, 200));
    h.record(at(kind::rotate, 0, 1, 4, 5, 200));
    h.record(at(kind::revoke, 1, 1, 10, 12, 204));
    // Sent before the revocation was acknowledged: either answer is right.
    h.record(at(kind::validate, 0, 1, 11, 13, 200));
    h.record(at(kind::validate, 0, 1, 13, 15, 401, true));
    const auto v = h.check();
    CHECK(v.violations.empty());
    CHECK(v.revocations == 1);
    CHECK(v.probes == 1);
    CHECK(v.max_revoke_to_refusal == 3ms);
    CHECK(v.statuses.at(200) == 3);
}

TEST_CASE("history: a 200 sent after a revocation was acknowledged is a violation, on any instance", "[history]") {
    history h;
    h.record(at(kind::revoke, 0, 7, 10, 12, 204));
    h.record(at(kind::validate, 1, 7, 13, 14, 200, true));
    const auto v = h.check();
    REQUIRE(v.violations.size() == 1);
    CHECK(v.violations[0].find("session 7 on instance 1 answered 200") != std::string::npos);
}

TEST_CASE("history: a refusal the client's revocations do not explain is a violation", "[history]") {
    history h;
    h.record(at(kind::create, 0, 3, 0, 1, 201));
    h.record(at(kind::validate, 1, 3, 2, 3, 401));  // never revoked
    h.record(at(kind::rotate, 0, 3, 4, 5, 409));    // nor this
    h.record(at(kind::validate, 0, 4, 2, 3, 503));  // unavailable is no refusal
    h.record(at(kind::revoke, 0, 5, 20, 22, 204));
    h.record(at(kind::validate, 0, 5, 10, 11, 401));  // answered before the revocation was sent
    auto v = h.check();
    CHECK(v.violations.size() == 3);

    // A session whose fate the client could not learn is held to nothing.
    h.uncertain(3);
    h.uncertain(5);
    v = h.check();
    CHECK(v.violations.empty());
}
