// Safe defaults: sessiond refuses to run insecurely unless told it is
// development; keygen makes keys that work. (The descriptor limit:
// connection_limits_test.cpp.)

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "support/contract_target.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {
std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}
const std::string token_keys = "1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM=";
const std::string index_key = "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg=";
}  // namespace

TEST_CASE("without keys sessiond refuses to start outside development mode") {
    auto no_api_keys = run_sessiond({"--token-keys", token_keys, "--user-index-key", index_key});
    CHECK(no_api_keys.status == 2);
    CHECK_THAT(no_api_keys.output, Catch::Contains("'api-keys'"));

    auto no_token_keys = run_sessiond({"--api-keys", "a=" + sha256_hex("k") + ":auth"});
    CHECK(no_token_keys.status == 2);
    CHECK_THAT(no_token_keys.output, Catch::Contains("'token-keys'"));

    auto half = run_sessiond({"--api-keys", "a=" + sha256_hex("k") + ":auth", "--token-keys", token_keys});
    CHECK(half.status == 2);
    CHECK_THAT(half.output, Catch::Contains("user-index-key"));

    auto short_key = run_sessiond(
        {"--api-keys", "a=" + sha256_hex("k") + ":auth", "--token-keys", "1:c2hvcnQ=", "--user-index-key", index_key});
    CHECK(short_key.status == 2);
    CHECK_THAT(short_key.output, Catch::Contains("'token-keys'") && !Catch::Contains("c2hvcnQ"));

    auto bad_scope = run_sessiond({"--api-keys", "a=" + sha256_hex("k") + ":sessions:everything", "--token-keys",
                                   token_keys, "--user-index-key", index_key});
    CHECK(bad_scope.status == 2);
    CHECK_THAT(bad_scope.output, Catch::Contains("sessions:everything"));

    auto public_dev = run_sessiond({"--development", "--address", "0.0.0.0"});
    CHECK(public_dev.status == 2);
    CHECK_THAT(public_dev.output, Catch::Contains("'development'") && Catch::Contains("loopback"));
}

TEST_CASE("sessiond refuses to start with a metadata header that is unsafe to copy") {
    const std::string api_keys = "a=" + sha256_hex("k") + ":auth";
    // One of each class: browser state, redirect, routing, caching, framing,
    // hop-by-hop, credentials, sessiond's own, the original request, and the
    // names sessiond already sends.
    for (std::string header :
         {"Set-Cookie", "location", "Host", "Cache-Control", "Content-Length", "Transfer-Encoding", "Connection",
          "Proxy-Authenticate", "Upgrade", "Authorization", "Cookie", "WWW-Authenticate", "X-Request-Id",
          "X-Forwarded-Host", "X-Original-URL", "X-Session-Assertion", "X-Session-User", "X-Session-Id"}) {
        INFO(header);
        auto r = run_sessiond({"--api-keys", api_keys, "--token-keys", token_keys, "--user-index-key", index_key,
                               "--auth-metadata-headers", "tenant:" + header});
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Catch::Contains("'auth-metadata-headers'") && Catch::Contains(header));
    }
    auto fine = run_sessiond({"--check-config", "--api-keys", api_keys, "--token-keys", token_keys, "--user-index-key",
                              index_key, "--auth-metadata-headers", "tenant:X-Tenant"});
    CHECK(fine.status == 0);
}

TEST_CASE("--check-config never prints a secret, and still names what is wrong") {
    const std::string key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXktMTIzNDU2Nzg=";
    const std::string api_keys = "a=" + sha256_hex("k") + ":auth";
    auto secret_free = [&](const std::string& output) {
        return output.find(key) == std::string::npos && output.find(key.substr(0, 40)) == std::string::npos &&
               output.find("s3cret") == std::string::npos && output.find(sha256_hex("k")) == std::string::npos;
    };

    // A typo in the flag that carries the key.
    auto typo = run_sessiond({"--check-config", "--token-key=1:" + key, "--user-index-key", index_key});
    CHECK(typo.status == 2);
    CHECK(secret_free(typo.output));
    CHECK_THAT(typo.output, Catch::Contains("--token-keys"));

    // A key pasted on a line of its own in the config file.
    temp_dir dir;
    write_file(dir.file("s.conf"), "port = 9000\n" + key + "\n");
    auto pasted = run_sessiond({"--check-config", "--config", dir.file("s.conf")});
    CHECK(pasted.status == 2);
    CHECK(secret_free(pasted.output));
    CHECK_THAT(pasted.output, Catch::Contains("line 2"));

    // A lone userinfo is the Redis password: redacted in the printed
    // configuration, like a user and password.
    for (std::string url : {"redis://s3cret@127.0.0.1:6379", "redis://app:s3cret@127.0.0.1:6379/1"}) {
        auto printed = run_sessiond({"--check-config", "--redis-url", url, "--token-keys", token_keys,
                                     "--user-index-key", index_key, "--api-keys", api_keys});
        INFO(printed.output);
        CHECK(printed.status == 0);
        CHECK(secret_free(printed.output));
        CHECK_THAT(printed.output, Catch::Contains("redis-url = redis://<redacted>@127.0.0.1:6379"));
        CHECK_THAT(printed.output, Catch::Contains("api-keys = <redacted>"));
    }

    // An API key pasted where the scopes go is not echoed as an unknown scope.
    auto pasted_key = run_sessiond({"--check-config", "--token-keys", token_keys, "--user-index-key", index_key,
                                    "--api-keys", "a=" + sha256_hex("k") + ":" + key});
    CHECK(pasted_key.status == 2);
    CHECK(secret_free(pasted_key.output));
    CHECK_THAT(pasted_key.output, Catch::Contains("'api-keys'") && Catch::Contains("unknown scope"));

    // A key file's content is a secret too: a malformed entry is named by its place.
    write_file(dir.file("keys"), "1:" + key + ",x" + key);
    auto file = run_sessiond({"--check-config", "--token-keys-file", dir.file("keys"), "--user-index-key", index_key,
                              "--api-keys", api_keys});
    CHECK(file.status == 2);
    CHECK(secret_free(file.output));
    CHECK_THAT(file.output, Catch::Contains("'token-keys'") && Catch::Contains("entry 2"));
}

TEST_CASE("a secret file readable by group or others is named in a warning at start, never its content") {
    temp_dir dir;
    const std::string keys_file = dir.file("token-keys"), index_file = dir.file("index-key");
    write_file(keys_file, token_keys + "\n");
    write_file(index_file, index_key + "\n");
    REQUIRE(::chmod(keys_file.c_str(), 0644) == 0);
    REQUIRE(::chmod(index_file.c_str(), 0600) == 0);
    {
        sessiond_process sd({"--development", "--token-keys-file", keys_file, "--user-index-key-file", index_file});
        auto log = sd.proc().log();
        INFO(log);
        CHECK(count_of(log, "readable by group or others") == 1);
        CHECK_THAT(log, Catch::Contains(keys_file) && Catch::Contains("token-keys-file"));
        CHECK_THAT(log, !Catch::Contains(index_file));
        CHECK_THAT(log, !Catch::Contains(token_keys.substr(2)) && !Catch::Contains(index_key));
        CHECK(sd.request("GET", "/healthz").status == 200);  // a warning, not a refusal
    }
    auto checked = run_sessiond({"--check-config", "--token-keys-file", keys_file, "--user-index-key-file", index_file,
                                 "--api-keys", "a=" + sha256_hex("k") + ":auth"});
    CHECK(checked.status == 0);
    CHECK_THAT(checked.output, Catch::Contains("readable by group or others") && Catch::Contains(keys_file));
    REQUIRE(::chmod(keys_file.c_str(), 0400) == 0);
    auto quiet = run_sessiond({"--check-config", "--token-keys-file", keys_file, "--user-index-key-file", index_file,
                               "--api-keys", "a=" + sha256_hex("k") + ":auth"});
    CHECK(quiet.status == 0);
    CHECK_THAT(quiet.output, !Catch::Contains("readable by group or others"));
}

TEST_CASE("redis-tls-verify=false refuses to start outside development mode") {
    auto refused =
        run_sessiond({"--redis-url", "rediss://127.0.0.1:6380", "--redis-tls-verify=false", "--token-keys", token_keys,
                      "--user-index-key", index_key, "--api-keys", "a=" + sha256_hex("k") + ":auth"});
    CHECK(refused.status == 2);
    CHECK_THAT(refused.output, Catch::Contains("'redis-tls-verify'") && Catch::Contains("development mode"));
}

TEST_CASE("development mode starts without keys, and warns") {
    sessiond_process sd({"--development"});
    CHECK(sd.proc().wait_for_log("ephemeral", 5s));
    CHECK(sd.proc().wait_for_log("no API keys configured", 5s));
    auto r = sd.request("POST", "/v1/sessions", R"({"user_id":"dev"})");
    CHECK(r.status == 201);
}

TEST_CASE("keygen prints a key and the config entry that accepts it with its scopes") {
    auto out = run_sessiond({"keygen", "--scopes", "sessions:read,auth", "--name", "gateway"});
    REQUIRE(out.status == 0);
    auto key_at = out.output.find("sk_");
    REQUIRE(key_at != std::string::npos);
    auto key = out.output.substr(key_at, out.output.find('\n', key_at) - key_at);
    auto entry_at = out.output.find("gateway=");
    REQUIRE(entry_at != std::string::npos);
    auto entry = out.output.substr(entry_at, out.output.find('\n', entry_at) - entry_at);
    CHECK(entry == "gateway=" + sha256_hex(key) + ":sessions:read,auth");

    sessiond_process sd({"--api-keys", entry},
                        {{"SESSIOND_TOKEN_KEYS", token_keys}, {"SESSIOND_USER_INDEX_KEY", index_key}});
    auto read = sd.request("POST", "/v1/sessions/validate", R"({"token":"sid_x"})", {{"X-API-Key", key}});
    CHECK(read.status == 401);  // authorized caller, unknown token
    CHECK_THAT(read.body, Catch::Contains("invalid_session"));
    auto write = sd.request("POST", "/v1/sessions", R"({"user_id":"u"})", {{"X-API-Key", key}});
    CHECK(write.status == 403);
    auto wrong = sd.request("POST", "/v1/sessions/validate", R"({"token":"sid_x"})", {{"X-API-Key", key + "x"}});
    CHECK(wrong.status == 401);
    CHECK_THAT(wrong.body, Catch::Contains("unauthenticated"));
    CHECK(sd.proc().log().find(key) == std::string::npos);

    CHECK(run_sessiond({"keygen", "--scopes", "root"}).status == 2);
    CHECK(run_sessiond({"keygen"}).status == 2);
}

TEST_CASE("the embedded store is bounded, and says when it is full") {
    sessiond_process sd({"--development", "--memory-max-sessions", "3"});
    std::vector<std::string> tokens;
    for (int i = 0; i < 3; ++i) {
        auto created = sd.request("POST", "/v1/sessions", R"({"user_id":"u)" + std::to_string(i) + "\"}");
        REQUIRE(created.status == 201);
        tokens.push_back(std::string(boost::json::parse(created.body).at("token").as_string()));
    }
    for (int i = 0; i < 2; ++i) {
        auto full = sd.request("POST", "/v1/sessions", R"({"user_id":"u9"})");
        CHECK(full.status == 503);
        CHECK_THAT(full.body, Catch::Contains(R"("code":"store_full")") && Catch::Contains("memory-max-sessions"));
    }
    CHECK_THAT(sd.request("GET", "/metrics").body, Catch::Contains("sessiond_store_full_total 2"));
    CHECK(sd.proc().wait_for_log("embedded store full", 5s));
    // Room comes back when a session goes.
    CHECK(sd.request("POST", "/v1/sessions/revoke", R"({"token":")" + tokens[0] + R"("})").status == 204);
    CHECK(sd.request("POST", "/v1/sessions", R"({"user_id":"u9"})").status == 201);
}

TEST_CASE("session policy and token prefix are checked once, by the domain, and named by their option") {
    auto fraction = run_sessiond({"--development", "--check-config", "--touch-fraction", "1"});
    CHECK(fraction.status == 2);
    CHECK_THAT(fraction.output, Catch::Contains("'touch-fraction'") && Catch::Contains("[0, 1)"));

    auto idle = run_sessiond({"--development", "--session-idle-timeout", "2d", "--session-max-idle-timeout", "1d"});
    CHECK(idle.status == 2);
    CHECK_THAT(idle.output, Catch::Contains("'session-idle-timeout'"));

    auto grace = run_sessiond({"--development", "--check-config", "--rotation-grace", "4000d"});
    CHECK(grace.status == 2);
    CHECK_THAT(grace.output, Catch::Contains("'rotation-grace'"));

    auto prefix = run_sessiond({"--development", "--check-config", "--token-prefix", "bad prefix"});
    CHECK(prefix.status == 2);
    CHECK_THAT(prefix.output, Catch::Contains("'token-prefix'"));

    CHECK(run_sessiond({"--development", "--check-config", "--touch-fraction", "0.25"}).status == 0);
}

TEST_CASE("a key or secret file that is /dev/zero, a FIFO or too large stops start-up at once, named", "[files]") {
    temp_dir dir;
    const std::string api_keys = "a=" + sha256_hex("k") + ":auth";
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string big = dir.file("big");
    write_file(big, std::string((1 << 20) + 1, 'k'));
    write_file(dir.file("index"), index_key + "\n");
    const std::vector<std::string> keys = {"--token-keys", token_keys, "--user-index-key", index_key};
    auto with_keys = [&](std::vector<std::string> args) {
        args.insert(args.end(), keys.begin(), keys.end());
        return args;
    };
    struct refusal {
        std::vector<std::string> args;
        std::string option, path, why;
    };
    const std::vector<refusal> cases = {
        {{"--token-keys-file", "/dev/zero", "--user-index-key", index_key, "--api-keys", api_keys},
         "token-keys-file",
         "/dev/zero",
         "not a regular file"},
        {{"--token-keys-file", fifo, "--user-index-key", index_key, "--api-keys", api_keys},
         "token-keys-file",
         fifo,
         "not a regular file"},
        {{"--token-keys-file", big, "--user-index-key", index_key, "--api-keys", api_keys},
         "token-keys-file",
         big,
         "larger than the limit"},
        {{"--token-keys", token_keys, "--user-index-key-file", "/dev/zero", "--api-keys", api_keys},
         "user-index-key-file",
         "/dev/zero",
         "not a regular file"},
        {with_keys({"--api-keys-file", "/dev/zero"}), "api-keys-file", "/dev/zero", "not a regular file"},
        {with_keys(
             {"--api-keys", api_keys, "--redis-url", "redis://127.0.0.1:1", "--redis-password-file", "/dev/zero"}),
         "redis-password-file", "/dev/zero", "not a regular file"},
        {with_keys({"--api-keys", api_keys, "--assertion-keys", "a1:/dev/zero", "--assertion-issuer",
                    "https://sessiond.test", "--assertion-audiences", "svc"}),
         "assertion-keys", "/dev/zero", "not a regular file"},
        {with_keys({"--api-keys", api_keys, "--tls-cert-file", "/dev/zero", "--tls-key-file", "/dev/zero"}),
         "tls-cert-file", "/dev/zero", "not a regular file"},
    };
    for (const auto& c : cases) {
        INFO(c.option);
        for (const bool check : {false, true}) {
            auto args = c.args;
            if (check) args.insert(args.begin(), "--check-config");
            auto r = run_sessiond(args);  // throws if sessiond does not exit within 20 s
            CHECK(r.status == 2);
            CHECK_THAT(r.output,
                       Catch::Contains("'" + c.option + "'") && Catch::Contains(c.path) && Catch::Contains(c.why));
        }
    }
}

TEST_CASE("a config file that is a FIFO, /dev/zero or too large is refused at once by --check-config", "[files]") {
    temp_dir dir;
    const std::string fifo = dir.file("sessiond.conf");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string big = dir.file("big.conf");
    write_file(big, std::string((4 << 20) + 1, '#'));
    for (const auto& [path, why] : std::vector<std::pair<std::string, std::string>>{
             {fifo, "not a regular file"}, {"/dev/zero", "not a regular file"}, {big, "larger than the limit"}}) {
        INFO(path);
        auto r = run_sessiond({"--check-config", "--config", path});  // throws if it hangs for 20 s
        CHECK(r.status == 2);
        CHECK_THAT(r.output, Catch::Contains("cannot read config file '" + path + "'") && Catch::Contains(why));
    }
}
