// The API-key set: what its per-thread cache keeps (never a key) and that a
// replaced set never authenticates through an entry of the one before.

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "api/callers.hpp"
#include "common/text.hpp"
#include "session/crypto.hpp"

using namespace sessiond;

namespace {

const std::string key_a = "sk_first-key-of-the-test-0123456789abcdefghijk";
const std::string key_b = "sk_other-key-of-the-test-0123456789abcdefghijk";

std::string entry(const std::string& name, const std::string& key, const std::string& scopes) {
    return name + "=" + to_hex(session::sha256(session::as_bytes(key))) + ":" + scopes;
}

std::string digest_bytes(const std::string& key) {
    const auto d = session::sha256(session::as_bytes(key));
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

TEST_CASE("the recent-keys cache holds a digest of the key, never the key") {
    api::callers::clear_recent_keys();
    const auto keys = api::callers::parse(entry("gateway", key_a, "auth"));
    REQUIRE(keys.authenticate(key_a) != nullptr);
    REQUIRE(keys.authenticate(key_a) != nullptr);  // the second from the cache

    const std::string cache = api::callers::recent_keys_for_testing();
    // The entry is there (its digest), so the search below is not vacuous.
    CHECK(cache.find(digest_bytes(key_a)) != std::string::npos);
    CHECK(cache.find(key_a) == std::string::npos);
    CHECK(cache.find(key_a.substr(3, 16)) == std::string::npos);  // not even part of it
    // A key that did not match is not kept at all.
    CHECK(keys.authenticate(key_b) == nullptr);
    CHECK(api::callers::recent_keys_for_testing().find(digest_bytes(key_b)) == std::string::npos);
}

TEST_CASE("a replaced key set never authenticates through a cached entry of the old one") {
    api::callers::clear_recent_keys();
    // One object, so the new set has the old one's address: only the
    // generation tells the cache's entries apart.
    auto keys = api::callers::parse(entry("old", key_a, "auth"));
    const auto old_generation = keys.generation();
    const api::caller* who = keys.authenticate(key_a);
    REQUIRE(who != nullptr);
    CHECK(who->name == "old");
    REQUIRE(keys.authenticate(key_a) != nullptr);  // cached now

    keys = api::callers::parse(entry("other", key_b, "auth"));
    CHECK(keys.generation() != old_generation);
    CHECK(keys.authenticate(key_a) == nullptr);
    REQUIRE(keys.authenticate(key_b) != nullptr);

    // The same key again, for another caller with other scopes: the new
    // entry answers, not the cached one.
    keys = api::callers::parse(entry("renamed", key_a, "sessions:read"));
    who = keys.authenticate(key_a);
    REQUIRE(who != nullptr);
    CHECK(who->name == "renamed");
    CHECK(who->scopes == api::scope_read);
}

TEST_CASE("callers shared as shared_callers can be swapped; copies keep their generation, parses do not") {
    api::callers::clear_recent_keys();
    api::shared_callers current = std::make_shared<const api::callers>(api::callers::parse(entry("a", key_a, "auth")));
    REQUIRE(current->authenticate(key_a) != nullptr);
    const api::callers copy = *current;
    CHECK(copy.generation() == current->generation());
    CHECK(copy.authenticate(key_a) != nullptr);

    const auto same_text = api::callers::parse(entry("a", key_a, "auth"));
    CHECK(same_text.generation() != current->generation());
    CHECK(api::callers::allow_all().generation() != current->generation());

    current = std::make_shared<const api::callers>(api::callers::parse(entry("b", key_b, "auth")));
    CHECK(current->authenticate(key_a) == nullptr);
    CHECK(current->authenticate(key_b) != nullptr);
}
