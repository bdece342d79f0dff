#pragma once
// A sessiond configured as in production (token keys, API keys with scopes,
// no development mode) on one of its stores, for the contract suite.

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.hpp"
#include "support/redis_topology.hpp"
#include "support/sessiond_process.hpp"

namespace sessiond::test {

// API keys the target accepts, one per scope set.
struct test_keys {
    static constexpr const char* read = "sk_test_read_0123456789abcdef0123456789abcdef";
    static constexpr const char* write = "sk_test_write_0123456789abcdef0123456789abcde";
    static constexpr const char* admin = "sk_test_admin_0123456789abcdef0123456789abcde";
    static constexpr const char* auth = "sk_test_auth_0123456789abcdef0123456789abcdef";
    static constexpr const char* mint = "sk_test_mint_0123456789abcdef0123456789abcdef";
    static constexpr const char* redeem = "sk_test_redeem_0123456789abcdef0123456789abcd";
    static constexpr const char* self = "sk_test_self_0123456789abcdef0123456789abcdef";
    static constexpr const char* all = "sk_test_all_0123456789abcdef0123456789abcdef0";
};

struct api_reply {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    boost::json::value json;  // parsed body, null when empty or not JSON

    std::string header(const std::string& lower) const {
        auto it = headers.find(lower);
        return it == headers.end() ? std::string() : it->second;
    }
    // problem+json "code", or "".
    std::string code() const;
};

class contract_target {
public:
    // store: "memory", "redis", "redis-nocache" (the validation cache off),
    // "sentinel" or "cluster". extra: more sessiond flags. A "redis" target
    // has a Redis of its own; "sentinel"
    // and "cluster" targets share their topology under a key prefix of their
    // own, or use the one a --redis-url in `extra` names.
    contract_target(const std::string& store, std::vector<std::string> extra = {});
    // Another sessiond on the Redis of `other` (a Redis target), as a second
    // instance of one deployment; `extra` may give its own --redis-url.
    contract_target(contract_target& other, std::vector<std::string> extra);

    const std::string& store() const { return store_; }
    sessiond_process& daemon() { return *daemon_; }
    // The target's own Redis ("redis" targets and their second instances), or null.
    redis_server* redis() { return redis_ ? redis_.get() : shared_redis_; }
    unsigned short port() const { return daemon_->port(); }

    // A request with the given API key (empty = none).
    api_reply call(const std::string& method, const std::string& target, const std::string& key,
                   const std::string& body = "", std::map<std::string, std::string> headers = {});

    // Shorthands with the all-scopes key.
    api_reply create(const std::string& user_id, const std::string& extra_json = "");
    api_reply validate(const std::string& token, const std::string& extra_json = "");
    api_reply rotate(const std::string& token, const std::string& extra_json = "");
    api_reply revoke(const std::string& token);

    // Every token this target issued (for the log and at-rest checks).
    const std::vector<std::string>& issued_tokens() const { return issued_; }

private:
    void remember(const api_reply& r);
    void start(std::vector<std::string> args);
    std::string store_;
    std::unique_ptr<redis_server> redis_;
    redis_server* shared_redis_ = nullptr;
    std::vector<std::string> store_args_;  // --redis-url and --redis-key-prefix, if any
    std::unique_ptr<sessiond_process> daemon_;
    std::vector<std::string> issued_;
};

std::string sha256_hex(const std::string& s);

// The bucket a public session id carries (its first 16 bits, base64url),
// in decimal: the hash tag of every key of its user.
std::string bucket_of(const std::string& public_id);

// One unlabelled counter or gauge of the target's /metrics, or -1.
long long metric(contract_target& t, const std::string& name);

// Reading replies: a string field, and the session object of a reply.
inline std::string str(const boost::json::value& v, std::string_view key) {
    return std::string(v.as_object().at(key).as_string());
}
inline const boost::json::object& session_of(const api_reply& r) {
    return r.json.as_object().at("session").as_object();
}

// The stores the contract suite runs against: the embedded one, Redis (with
// the validation cache, and without), Redis behind Sentinel (a primary, a replica, three sentinels) and a Redis
// Cluster (three primaries, three replicas).
std::vector<std::string> contract_stores();

// The Sentinel and Cluster setups the "sentinel" and "cluster" targets use:
// one of each per test process, started on first use.
sentinel_setup& shared_sentinel();
cluster_setup& shared_cluster();

}  // namespace sessiond::test
