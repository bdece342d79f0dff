#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "support/process.hpp"

using namespace sessiond;
using namespace std::chrono_literals;

namespace {
load_result load(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<const char*> argv{"sessiond"};
    for (auto& a : args)
        argv.push_back(a.c_str());
    return load_config(static_cast<int>(argv.size()), argv.data(), env);
}
}  // namespace

TEST_CASE("defaults are documented values") {
    auto r = load({});
    CHECK(r.mode == run_mode::serve);
    CHECK(r.cfg.http.address == "127.0.0.1");
    CHECK(r.cfg.http.port == 8080);
    CHECK(r.cfg.http.max_header_bytes == 8192);
    CHECK(r.cfg.http.max_body_bytes == 65536);
    CHECK(r.cfg.log.format == log_format::json);
    CHECK(r.cfg.store.redis_url.empty());
    CHECK_FALSE(r.cfg.development);
}

TEST_CASE("precedence is flag over environment over file over default") {
    test::temp_dir dir;
    auto file = dir.file("sessiond.conf");
    test::write_file(file,
                     "# comment\n"
                     "port = 1111\n"
                     "io-threads = 3\n"
                     "read-timeout = 2s\n"
                     "log-format = text\n");

    auto only_file = load({"--config", file});
    CHECK(only_file.cfg.http.port == 1111);
    CHECK(only_file.cfg.http.io_threads == 3);
    CHECK(only_file.cfg.http.read_timeout == 2s);
    CHECK(only_file.cfg.log.format == log_format::text);
    CHECK(only_file.cfg.http.idle_timeout == 60s);  // default stays

    auto env_over_file = load({"--config", file}, {"SESSIOND_PORT=2222", "SESSIOND_READ_TIMEOUT=250ms"});
    CHECK(env_over_file.cfg.http.port == 2222);
    CHECK(env_over_file.cfg.http.read_timeout == 250ms);
    CHECK(env_over_file.cfg.http.io_threads == 3);

    auto flag_over_env = load({"--config", file, "--port", "3333"}, {"SESSIOND_PORT=2222"});
    CHECK(flag_over_env.cfg.http.port == 3333);
    CHECK(flag_over_env.cfg.http.read_timeout == 2s);

    // The config file itself may be named by the environment.
    auto file_from_env = load({}, {"SESSIOND_CONFIG=" + file, "PATH=/bin"});
    CHECK(file_from_env.cfg.http.port == 1111);
}

TEST_CASE("port 0 is accepted: the kernel picks a free port") {
    CHECK(load({"--port", "0"}).cfg.http.port == 0);
}

TEST_CASE("boolean flags work without a value") {
    CHECK(load({"--development"}).cfg.development);
    CHECK_FALSE(load({"--development=false"}).cfg.development);
    CHECK(load({}, {"SESSIOND_DEVELOPMENT=1"}).cfg.development);
}

TEST_CASE("invalid values name the option and the reason") {
    auto message = [](std::vector<std::string> args, std::vector<std::string> env = {}) {
        try {
            load(std::move(args), std::move(env));
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(message({"--port", "70000"}), Catch::Contains("'port'") && Catch::Contains("out of range"));
    CHECK_THAT(message({"--port", "abc"}), Catch::Contains("'port'"));
    CHECK_THAT(message({"--read-timeout", "10"}), Catch::Contains("'read-timeout'") && Catch::Contains("unit"));
    CHECK_THAT(message({"--read-timeout", "0s"}), Catch::Contains("'read-timeout'"));
    CHECK_THAT(message({"--address", "not-an-ip"}), Catch::Contains("'address'"));
    CHECK_THAT(message({"--log-format", "xml"}), Catch::Contains("'log-format'"));
    CHECK_THAT(message({"--log-level", "loud"}), Catch::Contains("'log-level'"));
    CHECK_THAT(message({"--redis-url", "http://x"}), Catch::Contains("'redis-url'"));
    CHECK_THAT(message({"--redis-url", "redis+sentinl://s/m"}), Catch::Contains("'redis-url'"));
    CHECK(message({"--redis-url", "redis+sentinel://s1,s2/m"}) == "no error");
    CHECK(message({"--redis-url", "rediss+cluster://n1,n2"}) == "no error");
    CHECK_THAT(message({"--redis-url", "redis+cluster://n1", "--redis-sentinel-user", "u"}),
               Catch::Contains("'redis-sentinel-password'") && Catch::Contains("redis+sentinel://"));
    // WAIT holds its connection: its timeout must end before the command's.
    CHECK_THAT(message({"--redis-wait-replicas", "1", "--redis-wait-timeout", "500ms"}),
               Catch::Contains("'redis-wait-timeout'"));
    CHECK(message({"--redis-wait-replicas", "1", "--redis-wait-timeout", "100ms"}) == "no error");
    CHECK_THAT(message({"--cookie-name", "sid", "--cookie-path", "/a;b"}), Catch::Contains("'cookie-path'"));
    CHECK_THAT(message({"--cookie-name", "sid", "--cookie-domain", "example.com;x"}),
               Catch::Contains("'cookie-domain'") && !Catch::Contains("'cookie-path'"));
    // Forward auth: metadata header names, the login URL and its host allow-list.
    CHECK(message({"--auth-metadata-headers", "tenant:X-Tenant, role:X-Role"}) == "no error");
    CHECK_THAT(message({"--auth-metadata-headers", "tenant:X Tenant"}), Catch::Contains("'auth-metadata-headers'"));
    CHECK_THAT(message({"--auth-metadata-headers", "tenant:X-Tenant\r\nX-Admin: 1"}),
               Catch::Contains("'auth-metadata-headers'"));
    CHECK_THAT(message({"--auth-metadata-headers", "tenant"}), Catch::Contains("'auth-metadata-headers'"));
    CHECK_THAT(message({"--auth-metadata-headers", "a:X-A,,b:X-B"}), Catch::Contains("'auth-metadata-headers'"));
    CHECK_THAT(message({"--auth-metadata-headers", "user:x-session-user"}),
               Catch::Contains("'auth-metadata-headers'") && Catch::Contains("already"));
    CHECK_THAT(message({"--auth-login-url", "https://login.example.com/"}), Catch::Contains("'auth-redirect-hosts'"));
    CHECK_THAT(message({"--auth-login-url", "/login", "--auth-redirect-hosts", "a.example"}),
               Catch::Contains("'auth-login-url'"));
    CHECK_THAT(message({"--auth-login-url", "https://l.example/a b", "--auth-redirect-hosts", "a.example"}),
               Catch::Contains("'auth-login-url'"));
    CHECK(message({"--auth-login-url", "https://l.example/?x=1", "--auth-redirect-hosts", "a.example,*.b.example"}) ==
          "no error");
    CHECK_THAT(message({"--auth-redirect-hosts", "https://a.example"}), Catch::Contains("'auth-redirect-hosts'"));
    CHECK_THAT(message({"--auth-redirect-hosts", "a.example:443"}), Catch::Contains("'auth-redirect-hosts'"));
    CHECK_THAT(message({"--auth-redirect-param", "r&d"}), Catch::Contains("'auth-redirect-param'"));
    CHECK_THAT(message({}, {"SESSIOND_PORTT=1"}), Catch::Contains("SESSIOND_PORTT"));
    CHECK_THAT(message({"--no-such-option"}), Catch::Contains("no-such-option"));
    // program_options' own message for these never finished (found by tests/fuzz/config_fuzz.cpp).
    CHECK_THAT(message({"--x%canonical_option%"}), Catch::Contains("'%'"));
    CHECK_THAT(message({"--%original_token%=1"}), Catch::Contains("'%'"));
    CHECK_THROWS_AS(parse_config_text("%canonical_option% = 1\n"), config_error);
    CHECK_THROWS_AS(parse_config_text("port = 1\nx%option% = 2\n"), config_error);
    CHECK_THROWS_AS(parse_config_text("%invalid_line%\n"), config_error);
    CHECK(parse_config_text("redis-url = redis://:p%40ss@h\n").at("redis-url") == "redis://:p%40ss@h");
    CHECK_THAT(message({}, {"SESSIOND_MAX_BODY_BYTES=12"}),
               Catch::Contains("'max-body-bytes'") && Catch::Contains("environment SESSIOND_MAX_BODY_BYTES"));
}

TEST_CASE("durations parse with units") {
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("10s") == 10s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("2d") == 48h);
    CHECK_THROWS_AS(parse_duration("10"), std::invalid_argument);
    CHECK_THROWS_AS(parse_duration("s"), std::invalid_argument);
    CHECK_THROWS_AS(parse_duration("-1s"), std::invalid_argument);
    CHECK_THROWS_AS(parse_duration("99999999999999999999d"), std::invalid_argument);
}

TEST_CASE("describe redacts secrets and round-trips through a file") {
    auto r = load({"--redis-url", "redis://app:hunter2@10.0.0.1:6379/2", "--port", "9000"});
    auto text = describe(r.cfg);
    CHECK_THAT(text, !Catch::Contains("hunter2"));
    CHECK_THAT(text, Catch::Contains("redis://<redacted>@10.0.0.1:6379/2"));
    // A lone userinfo is a password (Redis URI convention), never shown.
    auto lone = describe(load({"--redis-url", "rediss://s3cret@cache:6380"}).cfg);
    CHECK_THAT(lone, !Catch::Contains("s3cret"));
    CHECK_THAT(lone, Catch::Contains("redis-url = rediss://<redacted>@cache:6380\n"));
    CHECK_THAT(describe(load({"--redis-url", "redis://:pw@h"}).cfg), !Catch::Contains("pw@"));
    CHECK_THAT(describe(load({"--redis-url", "redis://cache:6379"}).cfg), Catch::Contains("redis://cache:6379\n"));
    auto sentinel = describe(
        load({"--redis-url", "redis+sentinel://u:hunter2@s1,s2/m", "--redis-sentinel-password", "hunter2"}).cfg);
    CHECK_THAT(sentinel, !Catch::Contains("hunter2"));
    CHECK_THAT(sentinel, Catch::Contains("redis-url = redis+sentinel://<redacted>@s1,s2/m\n"));
    // Key hashes of callers, token keys and the index key are secrets too.
    const std::string hash(64, 'a');
    auto keys = describe(
        load({"--api-keys", "gw=" + hash + ":auth", "--token-keys", "1:c2VjcmV0", "--user-index-key", "aW5kZXg="}).cfg);
    CHECK_THAT(keys, !Catch::Contains(hash) && !Catch::Contains("c2VjcmV0") && !Catch::Contains("aW5kZXg="));
    CHECK_THAT(keys, Catch::Contains("api-keys = <redacted>\n"));

    // The printed configuration is itself a valid config file.
    test::temp_dir dir;
    auto plain = load({"--port", "9000", "--read-timeout", "1500ms"});
    test::write_file(dir.file("c.conf"), describe(plain.cfg));
    auto again = load({"--config", dir.file("c.conf")});
    CHECK(again.cfg.http.port == 9000);
    CHECK(again.cfg.http.read_timeout == 1500ms);
}

TEST_CASE("auth-original-headers: known families, each once", "[config]") {
    CHECK(load({}).cfg.auth.original_headers.text() == "x-original,x-forwarded");
    CHECK(load({}).cfg.auth.original_headers.entries() ==
          std::vector<header_family>{header_family::x_original, header_family::x_forwarded});
    CHECK(load({"--auth-original-headers", "x-forwarded"}).cfg.auth.original_headers.entries() ==
          std::vector<header_family>{header_family::x_forwarded});
    CHECK(load({"--auth-original-headers", ""}).cfg.auth.original_headers.empty());
    for (std::string bad : {"x-forwarded-host", "x-original,x-original", "forwarded", "x-original,,x-forwarded"}) {
        INFO(bad);
        try {
            load({"--auth-original-headers", bad});
            FAIL("accepted");
        } catch (const config_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("'auth-original-headers'"));
        }
    }
}

TEST_CASE("metadata headers: no name that is unsafe to copy to an upstream or a client", "[config]") {
    auto message = [](std::vector<std::string> args) {
        try {
            load(std::move(args));
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    for (std::string header : {"Set-Cookie",
                               "set-cookie",
                               "Location",
                               "LOCATION",
                               "Host",
                               "Cache-Control",
                               "Content-Length",
                               "Content-Type",
                               "content-encoding",
                               "Transfer-Encoding",
                               "Connection",
                               "Keep-Alive",
                               "Proxy-Authorization",
                               "Proxy-Connection",
                               "TE",
                               "Trailer",
                               "Upgrade",
                               "Authorization",
                               "Cookie",
                               "WWW-Authenticate",
                               "X-Request-Id",
                               "x-request-id",
                               "X-Forwarded-Host",
                               "X-Forwarded-For",
                               "X-Original-URL",
                               "Forwarded",
                               "X-Real-IP",
                               "X-Accel-Redirect",
                               "X-Session-Assertion",
                               "X-Session-User",
                               "x-session-id",
                               "X-API-Key"}) {
        INFO(header);
        auto text = message({"--auth-metadata-headers", "tenant:" + header});
        CHECK_THAT(text, Catch::Contains("'auth-metadata-headers'") && Catch::Contains("header " + header));
    }
    // The configured names, whatever they are.
    CHECK_THAT(message({"--auth-assertion-header", "X-Jwt", "--auth-metadata-headers", "t:x-jwt"}),
               Catch::Contains("'auth-metadata-headers'") && Catch::Contains("auth-assertion-header"));
    CHECK_THAT(message({"--request-id-header", "X-Trace", "--auth-metadata-headers", "t:X-TRACE"}),
               Catch::Contains("'auth-metadata-headers'") && Catch::Contains("request-id-header"));
    CHECK_THAT(message({"--auth-user-header", "X-User", "--auth-metadata-headers", "t:x-user"}),
               Catch::Contains("'auth-metadata-headers'"));
    // The identity headers themselves.
    CHECK_THAT(message({"--auth-user-header", "Location"}), Catch::Contains("'auth-user-header'"));
    CHECK_THAT(message({"--auth-id-header", "Set-Cookie"}), Catch::Contains("'auth-id-header'"));
    CHECK_THAT(message({"--auth-assertion-header", "Authorization"}), Catch::Contains("'auth-assertion-header'"));
    CHECK_THAT(message({"--auth-id-header", "x-session-user"}), Catch::Contains("'auth-id-header'"));
    // Names that merely look alike are fine.
    CHECK(message({"--auth-metadata-headers", "a:X-Tenant,b:X-Location-Id,c:X-Content,d:X-Hostname,e:Tenant-Host"}) ==
          "no error");
    CHECK(reserved_header_reason("X-Tenant") == std::nullopt);
    CHECK(reserved_header_reason("Content-Security-Policy").has_value());
}

TEST_CASE("the sample config file holds every option") {
    auto sample = test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/config/sessiond.conf");
    REQUIRE_FALSE(sample.empty());
    auto described = describe(load({}).cfg);
    std::size_t pos = 0;
    while ((pos = described.find('\n', pos)) != std::string::npos) {
        auto start = pos + 1;
        auto eq = described.find(" = ", start);
        if (eq == std::string::npos) break;
        auto name = described.substr(start, eq - start);
        INFO(name);
        CHECK_THAT(sample, Catch::Contains("\n# " + name + " =") || Catch::Contains("\n" + name + " ="));
        pos = start;
    }
}

TEST_CASE("config and flag errors never echo a secret, and still say what is wrong") {
    const std::string key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXktMTIzNDU2Nzg=";
    const std::string bare = key.substr(0, key.size() - 1);  // without its '=' padding
    auto message = [](std::vector<std::string> args, std::vector<std::string> env = {}) {
        try {
            load(std::move(args), std::move(env));
        } catch (const config_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto secret_free = [&](const std::string& text) {
        return !Catch::Contains(key).match(text) && !Catch::Contains(bare).match(text) &&
               !Catch::Contains("c2VjcmV0").match(text) && !Catch::Contains("hunter2").match(text);
    };
    test::temp_dir dir;
    auto file_error = [&](const std::string& content) {
        test::write_file(dir.file("s.conf"), content);
        return message({"--config", dir.file("s.conf")});
    };
    struct row {
        std::string what, text, expected;
    };
    const row rows[] = {
        // A key pasted on a line of its own: its '=' padding makes it "name =".
        {"bare key line", file_error("port = 1\n" + key + "\n"), "line 2: unknown option"},
        {"bare key line, no padding", file_error("port = 1\n\n" + bare + "\n"), "line 3: expected 'name = value'"},
        {"bare password line", file_error("hunter2\n"), "line 1"},
        {"misspelt option", file_error("tokenkeys = 1:" + key + "\n"), "did you mean 'token-keys'"},
        {"section", file_error("[" + key + "]\n"), "line 1"},
        {"twice in the file", file_error("token-keys = 1:" + key + "\ntoken-keys = 2:" + key + "\n"),
         "'token-keys' is given more than once"},
        // Flags: program_options quotes the whole token of an ambiguous or unknown option.
        {"ambiguous flag", message({"--token-key=1:" + key}), "--token-keys"},
        {"unknown flag", message({"--tokn-keys=1:" + key}), "did you mean '--token-keys'"},
        {"flag named by the key", message({"--" + key}), "an option is not written as --name=value"},
        {"stray value", message({"--token-keys", "1:" + key, "hunter2"}), "not an option"},
        {"value for a boolean flag", message({"--development", "1:" + key}), "'development'"},
        {"flag twice", message({"--token-keys=1:" + key, "--token-keys=2:" + key}), "given more than once"},
        {"typo elsewhere", message({"--token-keys=1:" + key, "--prot", "1"}), "'--prot' (did you mean '--port'?)"},
        {"unknown variable", message({}, {"SESSIOND_TOKEN_KEY=1:" + key}), "SESSIOND_TOKEN_KEY"},
    };
    for (const auto& r : rows) {
        INFO(r.what << ": " << r.text);
        CHECK(secret_free(r.text));
        CHECK_THAT(r.text, Catch::Contains(r.expected));
    }
}

TEST_CASE("redis-tls-verify=false is refused outside development mode") {
    try {
        load({"--redis-url", "rediss://cache:6380", "--redis-tls-verify=false"});
        FAIL("accepted");
    } catch (const config_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("'redis-tls-verify'") && Catch::Contains("development mode"));
    }
    CHECK_THROWS_AS(load({}, {"SESSIOND_REDIS_TLS_VERIFY=false"}), config_error);
    CHECK_FALSE(load({"--development", "--redis-tls-verify=false"}).cfg.store.redis_tls_verify);
    CHECK(load({"--redis-tls-verify=true"}).cfg.store.redis_tls_verify);
}
