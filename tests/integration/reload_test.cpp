// SIGHUP: token keys, callers and the log level change without a restart,
// after the new configuration is checked in full; a bad one changes
// nothing; requests keep being served throughout.

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <csignal>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "support/contract_target.hpp"
#include "support/http_client.hpp"
#include "support/https_client.hpp"
#include "support/process.hpp"
#include "support/redis_tls.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

const std::string key_1 = "1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM=";
const std::string key_2 = "2:Y3VycmVudC1rZXktY3VycmVudC1rZXktY3VycmVudC0xMjM0NQ==";
const std::string index_key = "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg=";
const std::string other_index_key = "YW5vdGhlci1pbmRleC1rZXktYW5vdGhlci1pbmRleC1rZXkh";
const std::string key_a = "sk_reload_a_0123456789abcdef0123456789abcdef0";
const std::string key_b = "sk_reload_b_0123456789abcdef0123456789abcdef0";

std::string caller(const std::string& name, const std::string& key) {
    return name + "=" + sha256_hex(key) + ":sessions:read,sessions:write,sessions:admin,auth\n";
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

// A sessiond whose keys, callers and log level come from files named in a
// config file, as a deployment that rotates them would run it.
struct reloading_daemon {
    temp_dir dir;
    std::string config = dir.file("sessiond.conf");
    std::string token_keys = dir.file("token-keys");
    std::string index = dir.file("index-key");
    std::string api_keys = dir.file("api-keys");
    std::unique_ptr<sessiond_process> sd;

    reloading_daemon() {
        write_file(token_keys, key_1 + "\n");
        write_file(index, index_key + "\n");
        write_file(api_keys, caller("a", key_a));
        write_config("info", "65536");
        sd = std::make_unique<sessiond_process>(std::vector<std::string>{"--config", config, "--log-format", "json"});
    }
    void write_config(const std::string& level, const std::string& max_body) {
        write_file(config, "token-keys-file = " + token_keys + "\nuser-index-key-file = " + index +
                               "\napi-keys-file = " + api_keys + "\nlog-level = " + level +
                               "\nmax-body-bytes = " + max_body + "\n");
    }
    // Sends SIGHUP and waits for the outcome's log line (the n-th of its kind).
    void reload(const std::string& outcome = "configuration reloaded") {
        const auto before = count(sd->proc().log(), outcome);
        sd->proc().signal(SIGHUP);
        REQUIRE(eventually([&] { return count(sd->proc().log(), outcome) > before; }, 20s));
    }
    http_response call(const std::string& method, const std::string& target, const std::string& key,
                       const std::string& body = "") {
        return sd->request(method, target, body, {{"X-API-Key", key}, {"Content-Type", "application/json"}});
    }
    std::string create(const std::string& key = key_a) {
        auto r = call("POST", "/v1/sessions", key, R"({"user_id":"reload-user"})");
        REQUIRE(r.status == 201);
        return std::string(boost::json::parse(r.body).as_object().at("token").as_string());
    }
    int validate(const std::string& token, const std::string& key = key_a) {
        return call("POST", "/v1/sessions/validate", key, R"({"token":")" + token + "\"}").status;
    }
    std::string metrics() { return sd->request("GET", "/metrics").body; }
};

}  // namespace

TEST_CASE("SIGHUP: a token key added, made the signing key, then retired", "[reload]") {
    reloading_daemon d;
    const auto old_token = d.create();

    // Add key 2: the highest kid signs from now on; key 1 is accepted only.
    write_file(d.token_keys, key_1 + "," + key_2 + "\n");
    d.reload();
    CHECK(d.validate(old_token) == 200);
    const auto new_token = d.create();
    CHECK(d.validate(new_token) == 200);

    // Retire key 1: its tokens are refused, key 2's are not.
    write_file(d.token_keys, key_2 + "\n");
    d.reload();
    CHECK(d.validate(old_token) == 401);
    CHECK(d.validate(new_token) == 200);
    CHECK_THAT(d.sd->proc().log(), Catch::Contains(R"("signing_kid":2)"));
    CHECK_THAT(d.metrics(), Catch::Contains(R"(sessiond_config_reloads_total{result="ok"} 2)"));
}

TEST_CASE("SIGHUP: a bad configuration is refused, logged and counted; the one in use stays", "[reload]") {
    reloading_daemon d;
    const auto token = d.create();

    SECTION("token keys that do not parse") {
        write_file(d.token_keys, "not a key\n");
        d.reload("reload failed");
        CHECK_THAT(d.sd->proc().log(), Catch::Contains("token-keys"));
    }
    SECTION("another user index key") {
        write_file(d.index, other_index_key + "\n");
        d.reload("reload failed");
        CHECK_THAT(d.sd->proc().log(), Catch::Contains("user-index-key differs"));
    }
    SECTION("a config file with an unknown option") {
        write_file(d.config, "no-such-option = 1\n");
        d.reload("reload failed");
    }
    SECTION("an API keys file that does not parse, with new token keys") {
        write_file(d.token_keys, key_2 + "\n");
        write_file(d.api_keys, "no-hash-here\n");
        d.reload("reload failed");
    }
    // Nothing changed: the token and the caller's key still work.
    CHECK(d.validate(token) == 200);
    CHECK_THAT(d.metrics(), Catch::Contains(R"(sessiond_config_reloads_total{result="failed"} 1)"));
    // The secrets were not logged.
    CHECK_THAT(d.sd->proc().log(), !Catch::Contains("b2xkLWtleS1vbGQta2V5") && !Catch::Contains(other_index_key));
}

TEST_CASE("SIGHUP: callers added and removed, the log level changed, restart-only options named", "[reload]") {
    reloading_daemon d;
    CHECK(d.call("GET", "/v1/sessions/AAAAAAAAAAAAAAAAAAAAAAAA", key_b).status == 401);
    write_file(d.api_keys, caller("a", key_a) + caller("b", key_b));
    d.reload();
    const auto token = d.create(key_b);
    CHECK(d.validate(token, key_b) == 200);
    // The audit event names the new caller.
    CHECK(d.sd->proc().wait_for_log(R"("caller":"b")", 5s));

    write_file(d.api_keys, caller("b", key_b));
    d.write_config("warn", "1024");
    d.reload();
    CHECK(d.validate(token, key_a) == 401);
    CHECK(d.validate(token, key_b) == 200);
    // At warn, audit events (info) are no longer written.
    const auto created_before = count(d.sd->proc().log(), "session.created");
    d.create(key_b);
    CHECK(eventually([&] { return count(d.sd->proc().log(), "\"warn\"") > 0; }, 5s));
    // A warning written after the create (another reload's, of the
    // restart-only option): an audit line of the create would precede it.
    d.reload("only a restart applies");
    CHECK(count(d.sd->proc().log(), "session.created") == created_before);
    // max-body-bytes is read at start only: named, not applied.
    CHECK_THAT(d.sd->proc().log(), Catch::Contains("only a restart applies") && Catch::Contains("max-body-bytes"));
}

TEST_CASE("SIGHUP under load: no request fails while the configuration is reloaded", "[reload]") {
    reloading_daemon d;
    const auto token = d.create();
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::thread load([&] {
        http_connection conn(d.sd->port());
        const std::string body = R"({"token":")" + token + "\"}";
        while (!stop) {
            auto r = conn.request("POST", "/v1/sessions/validate", body,
                                  {{"X-API-Key", key_a}, {"Content-Type", "application/json"}});
            if (r && r->status == 200)
                ++ok;
            else
                ++failed;
        }
    });
    for (int i = 0; i < 10; ++i) {
        write_file(d.token_keys, (i % 2 ? key_1 + "," + key_2 : key_1 + "," + key_2 + " ") + "\n");
        d.reload();
    }
    stop = true;
    load.join();
    CHECK(failed == 0);
    CHECK(ok > 10);
}

TEST_CASE("SIGHUP: a key file swapped for /dev/zero or a FIFO fails the reload; the keys in use stay", "[reload]") {
    reloading_daemon d;
    const auto token = d.create();
    std::string swapped;
    SECTION("the token keys file becomes /dev/zero") {
        swapped = d.token_keys;
        REQUIRE(::unlink(d.token_keys.c_str()) == 0);
        REQUIRE(::symlink("/dev/zero", d.token_keys.c_str()) == 0);
    }
    SECTION("the API keys file becomes /dev/zero") {
        swapped = d.api_keys;
        REQUIRE(::unlink(d.api_keys.c_str()) == 0);
        REQUIRE(::symlink("/dev/zero", d.api_keys.c_str()) == 0);
    }
    SECTION("the config file becomes a FIFO") {
        swapped = d.config;
        REQUIRE(::unlink(d.config.c_str()) == 0);
        REQUIRE(::mkfifo(d.config.c_str(), 0600) == 0);
    }
    d.reload("reload failed");
    CHECK_THAT(d.sd->proc().log(), Catch::Contains(swapped) && Catch::Contains("not a regular file"));
    // Still serving, with the old keys and callers.
    CHECK(d.sd->request("GET", "/healthz").status == 200);
    CHECK(d.validate(token) == 200);
    CHECK(d.validate(d.create()) == 200);
    CHECK_THAT(d.metrics(), Catch::Contains(R"(sessiond_config_reloads_total{result="failed"} 1)"));
}

TEST_CASE("SIGHUP: a reload that fails after loading a new certificate leaves the old one served", "[reload][tls]") {
    static const auto pki = make_test_pki();
    temp_dir dir;
    const std::string cert = dir.file("server.crt"), key = dir.file("server.key"), signing = dir.file("a1.pem");
    const std::string config = dir.file("sessiond.conf");
    write_file(cert, read_file(pki->server_cert));
    write_file(key, read_file(pki->server_key));
    {
        // An Ed25519 key for the signed assertions.
        EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        REQUIRE(pkey);
        BIO* bio = BIO_new(BIO_s_mem());
        REQUIRE(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        write_file(signing, std::string(data, static_cast<std::size_t>(n)));
        BIO_free(bio);
        EVP_PKEY_free(pkey);
    }
    const std::string tls_lines = "development = true\ntls-cert-file = " + cert + "\ntls-key-file = " + key + "\n";
    // auth-assertion-audience is read at start only; the keys it needs must stay.
    const std::string assertion_lines = "assertion-keys = a1:" + signing +
                                        "\nassertion-issuer = https://sessiond.test\nassertion-audiences = svc\n"
                                        "auth-assertion-audience = svc\n";
    write_file(config, tls_lines + assertion_lines);
    sessiond_process sd({"--config", config, "--log-format", "json"});
    tls_client_options client;
    client.ca_file = pki->ca_cert;
    const auto subject = [&] { return https_connection(sd.port(), client).server_subject(); };
    REQUIRE_THAT(subject(), Catch::Contains("CN = localhost") || Catch::Contains("CN=localhost"));
    const auto reload = [&](const std::string& outcome) {
        const auto before = count(sd.proc().log(), outcome);
        sd.proc().signal(SIGHUP);
        REQUIRE(eventually([&] { return count(sd.proc().log(), outcome) > before; }, 20s));
    };

    // A renewed certificate that loads, and a later check that fails: the
    // assertion keys emptied while the auth-assertion-audience in use (a
    // restart-only option) needs them.
    auto renewed = issue_certificate(*pki, "renewed", "renewed.localhost",
                                     "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    write_file(cert, read_file(renewed.cert));
    write_file(key, read_file(renewed.key));
    write_file(config, tls_lines);
    reload("reload failed");
    CHECK_THAT(sd.proc().log(), Catch::Contains("assertion-keys cannot be emptied"));
    CHECK_THAT(subject(), !Catch::Contains("renewed.localhost"));
    CHECK_THAT(subject(), Catch::Contains("CN = localhost") || Catch::Contains("CN=localhost"));

    // With the assertion keys back, the same files reload, certificate included.
    write_file(config, tls_lines + assertion_lines);
    reload("TLS certificate reloaded");
    CHECK_THAT(subject(), Catch::Contains("renewed.localhost"));
}
