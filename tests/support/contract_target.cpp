#include "support/contract_target.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>

namespace sessiond::test {

std::string sha256_hex(const std::string& s) {
    unsigned char d[32];
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (auto b : d) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string bucket_of(const std::string& public_id) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned bits = 0;
    for (int i = 0; i < 3; ++i)
        bits = bits << 6 | static_cast<unsigned>(alphabet.find(public_id.at(static_cast<std::size_t>(i))));
    return std::to_string(bits >> 2);
}

long long metric(contract_target& t, const std::string& name) {
    auto body = t.call("GET", "/metrics", "").body;
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + name.size() + 2));
}

std::vector<std::string> contract_stores() {
    return {"memory", "redis", "redis-nocache", "sentinel", "cluster"};
}

// One topology of each kind per test process, started when first needed:
// each takes seconds to form. Targets share it under key prefixes of their own.
sentinel_setup& shared_sentinel() {
    static sentinel_setup setup({"--enable-debug-command", "yes"});
    return setup;
}
cluster_setup& shared_cluster() {
    static cluster_setup setup;
    return setup;
}

std::string api_reply::code() const {
    if (json.is_object()) {
        if (auto* c = json.as_object().if_contains("code"); c && c->is_string()) return std::string(c->as_string());
    }
    return {};
}

namespace {

// What every target runs with: API keys of each scope, token keys and an
// index key (environment), two I/O threads, JSON logs.
std::map<std::string, std::string> target_env() {
    std::string keys =
        "reader=" + sha256_hex(test_keys::read) + ":sessions:read;" + "writer=" + sha256_hex(test_keys::write) +
        ":sessions:write;" + "admin=" + sha256_hex(test_keys::admin) + ":sessions:admin;" +
        "proxy=" + sha256_hex(test_keys::auth) + ":auth;" + "minter=" + sha256_hex(test_keys::mint) +
        ":assertions:mint;" + "redeemer=" + sha256_hex(test_keys::redeem) + ":assertions:redeem;" +
        "accounts=" + sha256_hex(test_keys::self) + ":sessions:self;" + "all=" + sha256_hex(test_keys::all) +
        ":sessions:read,sessions:write,sessions:admin,auth,assertions:mint,assertions:redeem,"
        "sessions:self;" +
        "watcher=" + sha256_hex("sk_test_events_0123456789abcdef0123456789abcd") +
        ":events:read";  // events_sse_test.cpp's key
    return {
        {"SESSIOND_API_KEYS", keys},
        {"SESSIOND_TOKEN_KEYS",
         "1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM=,"
         "2:Y3VycmVudC1rZXktY3VycmVudC1rZXktY3VycmVudC0xMjM0NQ=="},
        {"SESSIOND_USER_INDEX_KEY", "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg="},
    };
}

std::vector<std::string> redis_args(const redis_server& redis) {
    return {"--redis-url", redis.url(), "--redis-key-prefix", "contract:"};
}

}  // namespace

contract_target::contract_target(const std::string& store, std::vector<std::string> extra) : store_(store) {
    std::vector<std::string> args;
    static std::atomic<int> targets{0};
    const std::string shared_prefix = "contract-" + std::to_string(targets++) + ":";
    if (store == "redis" || store == "redis-nocache") {
        // DEBUG SLEEP stalls Redis for the fault tests.
        redis_ = std::make_unique<redis_server>(std::vector<std::string>{"--enable-debug-command", "yes"});
        args = redis_args(*redis_);
        // The validation cache is on by default; the suite runs without it too.
        if (store == "redis-nocache") args.insert(args.end(), {"--cache", "false"});
    } else if (store == "sentinel" || store == "cluster") {
        // The shared topology, unless the caller names its own (--redis-url in extra).
        std::string url;
        if (auto it = std::find(extra.begin(), extra.end(), "--redis-url");
            it != extra.end() && it + 1 != extra.end()) {
            url = *(it + 1);
            extra.erase(it, it + 2);
        } else {
            url = store == "sentinel" ? shared_sentinel().url() : shared_cluster().url();
        }
        args = {"--redis-url", url, "--redis-key-prefix", shared_prefix};
    } else if (store != "memory") {
        throw std::invalid_argument("unknown store " + store);
    }
    store_args_ = args;
    args.insert(args.end(), extra.begin(), extra.end());
    start(std::move(args));
}

contract_target::contract_target(contract_target& other, std::vector<std::string> extra)
    : store_(other.store_), shared_redis_(other.redis()), store_args_(other.store_args_) {
    if (store_args_.empty()) throw std::invalid_argument("a second instance needs a Redis target");
    auto args = store_args_;
    if (std::find(extra.begin(), extra.end(), "--redis-url") != extra.end())
        args.erase(args.begin(), args.begin() + 2);  // the caller's URL (another Redis user) instead
    args.insert(args.end(), extra.begin(), extra.end());
    start(std::move(args));
}

void contract_target::start(std::vector<std::string> args) {
    // Two I/O threads unless the test asks for its own number.
    if (std::find(args.begin(), args.end(), "--io-threads") == args.end())
        args.insert(args.begin(), {"--io-threads", "2"});
    args.insert(args.begin(), {"--log-format", "json"});
    daemon_ = std::make_unique<sessiond_process>(args, target_env());
    // Ready means the store answers.
    if (!eventually([this] { return daemon_->request("GET", "/readyz").status == 200; }, std::chrono::seconds(20),
                    std::chrono::milliseconds(25)))
        throw std::runtime_error("sessiond did not become ready: " + daemon_->proc().log());
}

api_reply contract_target::call(const std::string& method, const std::string& target, const std::string& key,
                                const std::string& body, std::map<std::string, std::string> headers) {
    if (!key.empty()) headers["X-API-Key"] = key;
    http_connection conn(daemon_->port());
    auto r = conn.request(method, target, body, headers);
    if (!r) throw std::runtime_error("no response to " + method + " " + target);
    api_reply out{r->status, r->headers, r->body, nullptr};
    if (!r->body.empty()) {
        boost::system::error_code ec;
        out.json = boost::json::parse(r->body, ec);
        if (ec) out.json = nullptr;
    }
    remember(out);
    return out;
}

void contract_target::remember(const api_reply& r) {
    if (r.json.is_object())
        if (auto* t = r.json.as_object().if_contains("token"); t && t->is_string()) {
            static std::mutex m;
            std::lock_guard lock(m);
            issued_.emplace_back(t->as_string());
        }
}

api_reply contract_target::create(const std::string& user_id, const std::string& extra_json) {
    std::string body = R"({"user_id":)" + boost::json::serialize(boost::json::value(user_id)) +
                       (extra_json.empty() ? "" : "," + extra_json) + "}";
    return call("POST", "/v1/sessions", test_keys::all, body);
}

api_reply contract_target::validate(const std::string& token, const std::string& extra_json) {
    return call("POST", "/v1/sessions/validate", test_keys::all,
                R"({"token":")" + token + "\"" + (extra_json.empty() ? "" : "," + extra_json) + "}");
}

api_reply contract_target::rotate(const std::string& token, const std::string& extra_json) {
    return call("POST", "/v1/sessions/rotate", test_keys::all,
                R"({"token":")" + token + "\"" + (extra_json.empty() ? "" : "," + extra_json) + "}");
}

api_reply contract_target::revoke(const std::string& token) {
    return call("POST", "/v1/sessions/revoke", test_keys::all, R"({"token":")" + token + "\"}");
}

}  // namespace sessiond::test
