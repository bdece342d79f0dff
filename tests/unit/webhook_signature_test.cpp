// Webhooks' pure parts (service/webhooks.hpp): Standard Webhooks secrets
// and signatures against vectors computed with Python's hmac (the
// specification's own example among them), the retry delays' bounds, and
// the batches' body and ids.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "service/webhooks.hpp"
#include "session/event_json.hpp"

using namespace sessiond;
using namespace std::chrono_literals;
using service::make_batch;
using service::parse_webhook_secret;
using service::retry_ceiling;
using service::retry_delay;
using service::webhook_signature;
using service::webhook_signatures;

namespace {

const std::string spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const std::string spec_body = R"({"test": 2432232314})";

}  // namespace

TEST_CASE("webhook secrets: whsec_ and 24 to 64 bytes of base64, nothing else") {
    auto key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    REQUIRE(key);
    CHECK(key->size() == 24);
    CHECK(parse_webhook_secret("whsec_0zdLOtMsECXEvMM9Cdf9ETPD1smAmRQhRh5H449zARw=")->size() == 32);
    CHECK_FALSE(parse_webhook_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));        // no prefix
    CHECK_FALSE(parse_webhook_secret("whsec_c2hvcnQ="));                          // 5 bytes
    CHECK_FALSE(parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w"));  // not base64
    CHECK_FALSE(parse_webhook_secret("whsec_" + std::string(100, 'A')));          // 75 bytes
    CHECK_FALSE(parse_webhook_secret(""));
}

TEST_CASE("webhook signatures: HMAC-SHA256 of id.timestamp.body, as Python's hmac computes it") {
    // The Standard Webhooks specification's example, checked with Python:
    //   base64.b64encode(hmac.new(base64.b64decode(secret), b"msg_….1614265330.{…}", hashlib.sha256).digest())
    const auto spec_key = parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    REQUIRE(spec_key);
    CHECK(webhook_signature(spec_key->view(), spec_id, 1614265330, spec_body) ==
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    const auto other = parse_webhook_secret("whsec_0zdLOtMsECXEvMM9Cdf9ETPD1smAmRQhRh5H449zARw=");
    REQUIRE(other);
    CHECK(webhook_signature(other->view(), spec_id, 1614265330, spec_body) ==
          "v1,eFAa97BoIJGUJbpcyyRkKaBLqnZ9Cd+CKcUWK04V+Zg=");
    // Any change to what is signed changes the signature.
    CHECK(webhook_signature(spec_key->view(), spec_id, 1614265331, spec_body) !=
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

    // Two secrets (a rotation): both signatures, space-separated, in order.
    std::vector<secret_bytes> keys;
    keys.push_back(*spec_key);
    keys.push_back(*other);
    CHECK(webhook_signatures(keys, spec_id, 1614265330, spec_body) ==
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,eFAa97BoIJGUJbpcyyRkKaBLqnZ9Cd+CKcUWK04V+Zg=");
}

TEST_CASE("webhook retries: full jitter under a ceiling that doubles up to its cap") {
    CHECK(retry_ceiling(1s, 300s, 0) == 1s);
    CHECK(retry_ceiling(1s, 300s, 1) == 2s);
    CHECK(retry_ceiling(1s, 300s, 8) == 256s);
    CHECK(retry_ceiling(1s, 300s, 9) == 300s);
    CHECK(retry_ceiling(1s, 300s, 63) == 300s);  // no overflow
    CHECK(retry_ceiling(1s, 300s, 1000) == 300s);
    CHECK(retry_ceiling(200ms, 2s, 3) == 1600ms);
    for (unsigned n = 0; n < 70; ++n) {
        const auto ceiling = retry_ceiling(100ms, 60s, n);
        CHECK(retry_delay(100ms, 60s, n, 0.0) == 0ms);
        CHECK(retry_delay(100ms, 60s, n, 0.999999) <= ceiling);
        CHECK(retry_delay(100ms, 60s, n, 1.0) == ceiling);
        CHECK(retry_delay(100ms, 60s, n, 0.5) == ceiling / 2);
    }
}

TEST_CASE("webhook batches: the events' JSON in order, and an id of the events alone") {
    session::event a;
    a.id = "1765119999123-0";
    a.stream = 5321;
    a.type = session::event_type::session_created;
    a.at = session::timestamp(1765119999123ms);
    a.session_id = "AAAAAAAAAAAAAAAAAAAAAAAA";
    a.user_id = "alice";
    a.instance = "i1";
    session::event b = a;
    b.id = "1765119999200-1";
    b.type = session::event_type::session_revoked;
    b.reason = "caller";
    b.at = session::timestamp(1765119999200ms);
    const std::vector<session::event> events{a, b};

    const auto now = session::timestamp(1765120000000ms);
    const auto batch = make_batch(events, now);
    CHECK(batch.events == 2);
    CHECK(batch.oldest == a.at);
    const auto body = boost::json::parse(batch.body).as_object();
    CHECK(body.at("type") == "sessiond.events");
    CHECK(body.at("timestamp") == "2025-12-07T15:06:40.000Z");
    const auto& list = body.at("data").at("events").as_array();
    REQUIRE(list.size() == 2);
    CHECK(boost::json::serialize(list[0]) == session::event_json(a));
    CHECK(boost::json::serialize(list[1]) == session::event_json(b));

    // The id: "msg_" and 22 base64url characters; the same for the same
    // events (any time, any instance), another for others.
    CHECK(batch.id.size() == 26);
    CHECK(batch.id.starts_with("msg_"));
    CHECK(make_batch(events, now + 5s).id == batch.id);
    CHECK(make_batch(std::vector<session::event>{a}, now).id != batch.id);
    CHECK(make_batch(std::vector<session::event>{b, a}, now).id != batch.id);
}
