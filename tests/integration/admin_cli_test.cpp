// `sessiond admin`: the real binary as the operator runs it, against a running
// sessiond with API keys of each scope. Each command's stdout, stderr and exit
// status; a wrong key, a key without the admin scope, an unreachable, silent
// or TLS-mismatched server, usage errors; and that the API key shows in no
// output.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/contract_target.hpp"
#include "support/oidc_idp.hpp"
#include "support/process.hpp"
#include "support/redis_tls.hpp"
#include "support/sessiond_process.hpp"

extern char** environ;

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

struct cli_result {
    int status = -1;
    std::string out;
    std::string err;
};

const std::string wrong_key = "sk_test_wrong_0123456789abcdef0123456789abcde";

std::size_t lines_of(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Key files for the CLI, and the CLI run with its stdout and stderr apart.
struct cli_runner {
    temp_dir dir;

    std::string key_file(const std::string& name, const std::string& key) const {
        auto path = dir.file(name);
        write_file(path, key + "\n");
        ::chmod(path.c_str(), 0600);
        return path;
    }
    std::string admin_key() const { return key_file("admin.key", test_keys::admin); }

    // `sessiond admin <args>` with `env` and none of the test's own SESSIOND_*.
    cli_result admin(std::vector<std::string> args, std::map<std::string, std::string> env = {}) const {
        static int runs = 0;
        auto err_path = dir.file("stderr-" + std::to_string(++runs));
        process_options opts;
        opts.argv = {"sh", "-c", "exec \"$0\" admin \"$@\" 2>\"$CLI_STDERR\"", SESSIOND_BINARY};
        opts.argv.insert(opts.argv.end(), args.begin(), args.end());
        for (char** e = ::environ; *e; ++e) {
            std::string kv = *e;
            if (kv.rfind("SESSIOND_", 0) == 0) opts.unset_env.push_back(kv.substr(0, kv.find('=')));
        }
        env["CLI_STDERR"] = err_path;
        opts.env = std::move(env);
        process p(opts);
        auto status = p.wait(30s);
        REQUIRE(status);
        cli_result r{*status, p.log(), read_file(err_path)};
        // Whatever happened, no key is ever printed.
        for (const char* key : {test_keys::admin, test_keys::read, test_keys::all})
            CHECK(r.out.find(key) == std::string::npos);
        for (const char* key : {test_keys::admin, test_keys::read, test_keys::all, wrong_key.c_str()})
            CHECK(r.err.find(key) == std::string::npos);
        CHECK(r.out.find(wrong_key) == std::string::npos);
        return r;
    }
};

// A sessiond on the embedded store with API keys of each scope, and the CLI.
struct cli_fixture : cli_runner {
    contract_target target{"memory"};

    cli_fixture() = default;
    // With more sessiond flags.
    explicit cli_fixture(std::vector<std::string> extra) : target("memory", std::move(extra)) {}

    std::string url() const { return "http://127.0.0.1:" + std::to_string(target.port()); }

    // With the URL and the admin key file.
    cli_result run(std::vector<std::string> args) const {
        args.insert(args.end(), {"--url", url(), "--api-key-file", admin_key()});
        return admin(std::move(args));
    }

    // A session of `user`; its token and public id.
    std::pair<std::string, std::string> create(const std::string& user, const std::string& metadata = "{}") {
        auto r = target.create(user, R"("metadata":)" + metadata);
        REQUIRE(r.status == 201);
        return {str(r.json, "token"), str(session_of(r), "id")};
    }
};

boost::json::object parse_object(const std::string& text) {
    auto v = boost::json::parse(text);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::set<std::string> ids_of(const boost::json::object& list) {
    std::set<std::string> ids;
    for (const auto& s : list.at("sessions").as_array())
        ids.insert(std::string(s.as_object().at("id").as_string()));
    return ids;
}

}  // namespace

TEST_CASE("admin CLI: list as a table and as JSON, one page or all of them", "[cli]") {
    cli_fixture f;
    // A user id a path cannot carry as it is.
    const std::string user = "ops/team a+b%";
    std::set<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.insert(f.create(user, R"({"device":"laptop-)" + std::to_string(i) + R"("})").second);
    f.create("someone else");

    auto table = f.run({"sessions", "list", user});
    REQUIRE(table.status == 0);
    CHECK(table.err.empty());
    CHECK(lines_of(table.out) == 6);  // the header and five sessions
    CHECK(table.out.rfind("ID", 0) == 0);
    for (const char* column : {"CREATED", "LAST SEEN", "IDLE EXPIRES", "EXPIRES", "METADATA"})
        CHECK_THAT(table.out, Catch::Contains(column));
    for (const auto& id : ids)
        CHECK_THAT(table.out, Catch::Contains(id));
    CHECK_THAT(table.out, Catch::Contains(R"({"device":"laptop-3"})"));

    auto as_json = f.run({"sessions", "list", user, "--json"});
    REQUIRE(as_json.status == 0);
    CHECK(ids_of(parse_object(as_json.out)) == ids);

    // One page of two: the rest is announced on stderr with its cursor.
    auto page = f.run({"sessions", "list", user, "--limit", "2"});
    REQUIRE(page.status == 0);
    CHECK(lines_of(page.out) <= 3);
    CHECK_THAT(page.err, Catch::Contains("more sessions follow: add --cursor "));
    auto page_json = parse_object(f.run({"sessions", "list", user, "--limit", "2", "--json"}).out);
    REQUIRE(page_json.contains("next_cursor"));
    auto second =
        f.run({"sessions", "list", user, "--limit", "2", "--cursor", str(page_json, "next_cursor"), "--json"});
    REQUIRE(second.status == 0);
    CHECK(!ids_of(parse_object(second.out)).empty());

    // --all follows the cursor to the end.
    auto all = f.run({"sessions", "list", user, "--limit", "2", "--all", "--json"});
    REQUIRE(all.status == 0);
    auto all_json = parse_object(all.out);
    CHECK(all_json.at("sessions").as_array().size() == 5);
    CHECK(ids_of(all_json) == ids);
    CHECK(!all_json.contains("next_cursor"));
    auto all_table = f.run({"sessions", "list", user, "--limit", "1", "--all"});
    REQUIRE(all_table.status == 0);
    CHECK(lines_of(all_table.out) == 6);
    CHECK(all_table.err.empty());

    // A user without sessions: nothing to list, said on stderr, still success.
    auto none = f.run({"sessions", "list", "nobody"});
    CHECK(none.status == 0);
    CHECK(none.out.empty());
    CHECK_THAT(none.err, Catch::Contains("'nobody' has no live sessions"));
    auto none_json = f.run({"sessions", "list", "nobody", "--json"});
    CHECK(none_json.status == 0);
    CHECK(parse_object(none_json.out).at("sessions").as_array().empty());
}

TEST_CASE("admin CLI: show, revoke by id, then show answers 404", "[cli]") {
    cli_fixture f;
    auto [token, id] = f.create("user-4711", R"({"ip":"192.0.2.7"})");

    auto shown = f.run({"sessions", "show", id});
    REQUIRE(shown.status == 0);
    CHECK(shown.err.empty());
    CHECK_THAT(shown.out, Catch::Contains("id             " + id));
    CHECK_THAT(shown.out, Catch::Contains("user           user-4711"));
    CHECK_THAT(shown.out, Catch::Contains("rotated        never"));
    CHECK_THAT(shown.out, Catch::Contains(R"(metadata       {"ip":"192.0.2.7"})"));
    auto shown_json = f.run({"sessions", "show", id, "--json"});
    REQUIRE(shown_json.status == 0);
    CHECK(str(parse_object(shown_json.out).at("session"), "user_id") == "user-4711");

    auto revoked = f.run({"sessions", "revoke", id});
    CHECK(revoked.status == 0);
    CHECK(revoked.out == "revoked session " + id + "\n");
    CHECK(f.target.validate(token).status == 401);

    auto gone = f.run({"sessions", "show", id});
    CHECK(gone.status == 1);
    CHECK(gone.out.empty());
    CHECK_THAT(gone.err, Catch::Contains("404") && Catch::Contains("not_found"));
    auto again = f.run({"sessions", "revoke", id});
    CHECK(again.status == 1);
    CHECK_THAT(again.err, Catch::Contains("404"));
}

TEST_CASE("admin CLI: users revoke, with --except keeping one session", "[cli]") {
    cli_fixture f;
    auto [kept_token, kept_id] = f.create("alice");
    std::vector<std::string> tokens;
    for (int i = 0; i < 3; ++i)
        tokens.push_back(f.create("alice").first);
    auto [other_token, other_id] = f.create("bob");

    auto r = f.run({"users", "revoke", "alice", "--except", kept_id});
    REQUIRE(r.status == 0);
    CHECK(r.out == "revoked 3 session(s) of user 'alice', except " + kept_id + "\n");
    CHECK(f.target.validate(kept_token).status == 200);
    for (const auto& t : tokens)
        CHECK(f.target.validate(t).status == 401);
    CHECK(f.target.validate(other_token).status == 200);

    auto rest = f.run({"users", "revoke", "alice", "--json"});
    REQUIRE(rest.status == 0);
    CHECK(parse_object(rest.out).at("revoked").as_int64() == 1);
    CHECK(f.target.validate(kept_token).status == 401);
    CHECK(f.run({"users", "revoke", "alice"}).out == "revoked 0 session(s) of user 'alice'\n");
}

TEST_CASE("admin CLI: users revoke-many, in requests of 100 users, each user once", "[cli]") {
    cli_fixture f;
    std::vector<std::string> tokens;
    for (int i = 0; i < 2; ++i)
        tokens.push_back(f.create("alice").first);
    tokens.push_back(f.create("user-150").first);
    auto [other_token, other_id] = f.create("bob");

    auto r = f.run({"users", "revoke-many", "alice", "nobody", "alice"});
    REQUIRE(r.status == 0);
    CHECK(r.out == "revoked 2 session(s) of user 'alice'\nrevoked 0 session(s) of user 'nobody'\n");
    // More users than one request takes: every one of them, in order.
    std::vector<std::string> args = {"users", "revoke-many", "--json"};
    for (int i = 0; i < 160; ++i)
        args.push_back("user-" + std::to_string(i));
    auto many = f.run(args);
    REQUIRE(many.status == 0);
    const auto results = parse_object(many.out).at("results").as_array();
    REQUIRE(results.size() == 160);
    CHECK(results[150].at("user_id") == "user-150");
    CHECK(results[150].at("revoked") == 1);
    for (const auto& t : tokens)
        CHECK(f.target.validate(t).status == 401);
    CHECK(f.target.validate(other_token).status == 200);
    CHECK(f.run({"users", "revoke-many"}).status == 2);
    CHECK(f.run({"users", "revoke-many", "alice", "--except", other_id}).status == 2);
}

TEST_CASE("admin CLI: a wrong key and a key without sessions:admin are refused with exit status 1", "[cli]") {
    cli_fixture f;
    f.create("carol");
    auto wrong =
        f.admin({"sessions", "list", "carol", "--url", f.url(), "--api-key-file", f.key_file("wrong.key", wrong_key)});
    CHECK(wrong.status == 1);
    CHECK(wrong.out.empty());
    CHECK_THAT(wrong.err, Catch::Contains("401") && Catch::Contains("unauthenticated"));

    auto reader = f.admin({"sessions", "list", "carol"},
                          {{"SESSIOND_ADMIN_URL", f.url()}, {"SESSIOND_ADMIN_API_KEY", test_keys::read}});
    CHECK(reader.status == 1);
    CHECK_THAT(reader.err, Catch::Contains("403") && Catch::Contains("sessions:admin"));
}

TEST_CASE("admin CLI: settings from the environment; flags win over it", "[cli]") {
    cli_fixture f;
    f.create("dave");
    auto from_env = f.admin({"sessions", "list", "dave"},
                            {{"SESSIOND_ADMIN_URL", f.url()}, {"SESSIOND_ADMIN_API_KEY_FILE", f.admin_key()}});
    CHECK(from_env.status == 0);
    CHECK(lines_of(from_env.out) == 2);

    // The environment names a dead port and a wrong key; the flags the right ones.
    auto flags_win = f.admin({"sessions", "list", "dave", "--url", f.url(), "--api-key-file", f.admin_key()},
                             {{"SESSIOND_ADMIN_URL", "http://127.0.0.1:" + std::to_string(free_port())},
                              {"SESSIOND_ADMIN_API_KEY", wrong_key}});
    CHECK(flags_win.status == 0);

    // A key file others may read works, with a warning.
    auto loose = f.key_file("loose.key", test_keys::admin);
    ::chmod(loose.c_str(), 0644);
    auto warned = f.admin({"sessions", "list", "dave", "--url", f.url(), "--api-key-file", loose});
    CHECK(warned.status == 0);
    CHECK_THAT(warned.err, Catch::Contains("readable by other users"));
}

TEST_CASE("admin CLI: an unreachable, silent or TLS-mismatched server is exit status 3", "[cli]") {
    cli_fixture f;
    auto key = f.admin_key();

    auto refused = f.admin(
        {"sessions", "list", "eve", "--url", "http://127.0.0.1:" + std::to_string(free_port()), "--api-key-file", key});
    CHECK(refused.status == 3);
    CHECK(refused.out.empty());
    CHECK_THAT(refused.err, Catch::Contains("cannot connect to 127.0.0.1:") && Catch::Contains("refused"));

    // A listener that accepts (in the kernel) and never answers.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    auto silent_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    auto started = std::chrono::steady_clock::now();
    auto silent = f.admin({"sessions", "show", "LVxpmTxbZBGuJ3d-Nz-hVi4v", "--url", silent_url, "--api-key-file", key,
                           "--timeout", "500ms"});
    ::close(fd);
    CHECK(silent.status == 3);
    CHECK_THAT(silent.err, Catch::Contains("no reply from") && Catch::Contains("within 500 ms"));
    CHECK(std::chrono::steady_clock::now() - started < 10s);

    // https:// to a plain HTTP listener: the handshake fails.
    auto https = f.admin({"sessions", "list", "eve", "--url", "https://127.0.0.1:" + std::to_string(f.target.port()),
                          "--api-key-file", key});
    CHECK(https.status == 3);
    CHECK_THAT(https.err, Catch::Contains("TLS handshake with 127.0.0.1:"));
}

TEST_CASE("admin CLI: over HTTPS, the certificate verified against --ca-file", "[cli][tls]") {
    static const auto pki = make_test_pki();
    // Not a contract target: that one checks readiness over plain HTTP.
    sessiond_process daemon({"--tls-cert-file", pki->server_cert, "--tls-key-file", pki->server_key},
                            {{"SESSIOND_API_KEYS", "admin=" + sha256_hex(test_keys::admin) + ":sessions:admin"},
                             {"SESSIOND_TOKEN_KEYS", "1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM="},
                             {"SESSIOND_USER_INDEX_KEY", "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg="}});
    cli_runner f;
    auto key = f.admin_key();
    auto url = "https://127.0.0.1:" + std::to_string(daemon.port());

    auto trusted =
        f.admin({"sessions", "list", "frank", "--url", url, "--api-key-file", key, "--ca-file", pki->ca_cert});
    CHECK(trusted.status == 0);
    CHECK_THAT(trusted.err, Catch::Contains("has no live sessions"));
    // The name in the URL must be one the certificate holds.
    auto by_name = f.admin({"sessions", "list", "frank", "--url", "https://localhost:" + std::to_string(daemon.port()),
                            "--api-key-file", key, "--ca-file", pki->ca_cert});
    CHECK(by_name.status == 0);

    // Not trusted: the system's store, or another CA.
    auto system_store = f.admin({"sessions", "list", "frank", "--url", url, "--api-key-file", key});
    CHECK(system_store.status == 3);
    CHECK_THAT(system_store.err, Catch::Contains("TLS handshake") && Catch::Contains("certificate"));
    auto other_ca =
        f.admin({"sessions", "list", "frank", "--url", url, "--api-key-file", key, "--ca-file", pki->other_ca_cert});
    CHECK(other_ca.status == 3);
}

TEST_CASE("admin CLI: usage errors are exit status 2 and say what is wrong", "[cli]") {
    cli_fixture f;
    auto key = f.admin_key();
    auto expect_usage = [&](std::vector<std::string> args, const std::string& message,
                            std::map<std::string, std::string> env = {}) {
        INFO(message);
        auto r = f.admin(std::move(args), std::move(env));
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::Contains(message));
    };
    expect_usage({}, "no command given");
    expect_usage({"sessions"}, "incomplete command");
    expect_usage({"sessions", "delete", "x"}, "unknown command 'sessions delete'");
    expect_usage({"sessions", "list"}, "'sessions list' takes one USER");
    expect_usage({"sessions", "show", "not-an-id", "--api-key-file", key}, "'not-an-id' is not a session id");
    expect_usage({"sessions", "list", "u", "--limit", "0", "--api-key-file", key}, "--limit must be a number");
    expect_usage({"sessions", "list", "u", "--all", "--cursor", "c", "--api-key-file", key},
                 "--cursor and --all exclude each other");
    expect_usage({"sessions", "revoke", "LVxpmTxbZBGuJ3d-Nz-hVi4v", "--json"}, "does not take --json");
    expect_usage({"users", "revoke", "u", "--except", "x", "--api-key-file", key}, "'x' is not a session id");
    expect_usage({"sessions", "list", "u", "--frobnicate"}, "unknown option --frobnicate");
    expect_usage({"sessions", "list", "u", "--url", "ftp://host", "--api-key-file", key},
                 "must start with http:// or https://");
    expect_usage({"sessions", "list", "u", "--timeout", "soon", "--api-key-file", key}, "not a duration");
    expect_usage({"sessions", "list", "u", "--url", f.url()}, "no API key");
    expect_usage({"sessions", "list", "u", "--api-key-file", f.dir.file("missing.key")},
                 "cannot read the API key file");
    // The key as a flag's value is refused, and not echoed.
    expect_usage({"sessions", "list", "u", "--api-key", test_keys::admin}, "--api-key is not accepted");
    expect_usage({"sessions", "list", "u", std::string("--api-key=") + test_keys::admin}, "--api-key is not accepted");

    auto help = f.admin({"--help"});
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("sessions list USER") && Catch::Contains("users revoke USER") &&
                             Catch::Contains("not-before show") && Catch::Contains("not-before set"));
    CHECK(help.err.empty());
}

TEST_CASE("admin CLI: a user id starting with '-' after --, and keygen as an alias", "[cli]") {
    cli_fixture f;
    f.create("-dash");
    auto r = f.run({"sessions", "list", "--", "-dash"});
    // run() appends the connection flags after "--": they are positional there.
    CHECK(r.status == 2);
    auto ok = f.admin({"--url", f.url(), "--api-key-file", f.admin_key(), "sessions", "list", "--", "-dash"});
    CHECK(ok.status == 0);
    CHECK(lines_of(ok.out) == 2);

    auto keygen = f.admin({"keygen", "--scopes", "sessions:admin", "--name", "ops"});
    CHECK(keygen.status == 0);
    CHECK_THAT(keygen.out, Catch::Contains("API key") && Catch::Contains("ops="));
}

TEST_CASE("admin CLI: an API key or CA file that is /dev/zero or a FIFO is refused at once", "[cli][files]") {
    cli_runner f;
    const std::string fifo = f.dir.file("key.fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const auto& path : {std::string("/dev/zero"), fifo}) {
        INFO(path);
        // admin() gives the CLI 30 s: the old reader never came back from either.
        auto r = f.admin({"sessions", "list", "u", "--url", "http://127.0.0.1:1", "--api-key-file", path});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err,
                   Catch::Contains("cannot read the API key file " + path) && Catch::Contains("not a regular file"));
    }
    auto ca = f.admin({"sessions", "list", "u", "--url", "https://127.0.0.1:1", "--api-key-file", f.admin_key(),
                       "--ca-file", "/dev/zero"});
    CHECK(ca.status == 2);
    CHECK_THAT(ca.err, Catch::Contains("--ca-file /dev/zero") && Catch::Contains("not a regular file"));
}

TEST_CASE("admin CLI: C1 and bidirectional controls in metadata are escaped in tables and in --json", "[cli]") {
    cli_fixture f;
    // CSI (U+009B), RLO (U+202E), LINE SEPARATOR (U+2028), as JSON escapes in the create body.
    auto [token, id] = f.create("c1-user", R"({"note":"a\u009b31mb\u202ec\u2028d"})");
    (void)token;
    auto raw_free = [](const std::string& text) {
        return text.find("\xc2\x9b") == std::string::npos && text.find("\xe2\x80\xae") == std::string::npos &&
               text.find("\xe2\x80\xa8") == std::string::npos;
    };
    const std::vector<std::vector<std::string>> commands = {{"sessions", "list", "c1-user"}, {"sessions", "show", id}};
    for (const auto& args : commands) {
        auto table = f.run(args);
        CHECK(table.status == 0);
        CHECK(raw_free(table.out));
        CHECK_THAT(table.out, Catch::Contains("a\\u009b31mb\\u202ec\\u2028d"));
        auto with_json = args;
        with_json.push_back("--json");
        auto json = f.run(with_json);
        CHECK(json.status == 0);
        CHECK(raw_free(json.out));
        CHECK_THAT(json.out, Catch::Contains(R"("a\u009b31mb\u202ec\u2028d")"));
        // Still JSON, with the same text.
        CHECK_THAT(json.out, Catch::Contains(id));
        CHECK(boost::json::parse(json.out).is_object());
    }
}

namespace {

// A loopback listener that answers each request with `reply` (a status line,
// headers and body): a server that is not sessiond, or a broken one.
class canned_server {
public:
    explicit canned_server(std::string body) : body_(std::move(body)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] {
            for (;;) {
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0) return;  // closed by the destructor
                std::string request;
                char buf[4096];
                while (request.find("\r\n\r\n") == std::string::npos) {
                    const ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    request.append(buf, static_cast<std::size_t>(n));
                }
                const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                          std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
                (void)::write(c, reply.data(), reply.size());
                ::close(c);
            }
        });
    }
    ~canned_server() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    std::string body_;
    int fd_ = -1;
    unsigned short port_ = 0;
    std::thread thread_;
};

}  // namespace

TEST_CASE("admin CLI: user ids '.' and '..' are sent as %2E segments, not as path steps", "[cli]") {
    cli_fixture f;
    f.create("..");
    f.create("..");
    f.create(".");
    auto dots = f.run({"sessions", "list", ".."});
    CHECK(dots.status == 0);
    CHECK(lines_of(dots.out) == 3);  // the header and the two sessions of ".."
    auto dot = f.run({"sessions", "list", "."});
    CHECK(dot.status == 0);
    CHECK(lines_of(dot.out) == 2);
    auto revoked = f.run({"users", "revoke", "..", "--json"});
    CHECK(revoked.status == 0);
    CHECK(parse_object(revoked.out).at("revoked").as_int64() == 2);
}

TEST_CASE("admin CLI: a reply that is not sessiond's is an error, not a row of dashes", "[cli]") {
    cli_runner f;
    auto key = f.admin_key();
    const std::string id = "LVxpmTxbZBGuJ3d-Nz-hVi4v";
    struct bad_reply {
        std::string body;
        std::vector<std::string> command;
    };
    const std::vector<bad_reply> cases = {
        {R"({"sessions":[{}]})", {"sessions", "list", "u"}},
        {R"({"sessions":[{}]})", {"sessions", "list", "u", "--json"}},
        {R"({"sessions":[1,2]})", {"sessions", "list", "u"}},
        {R"({"sessions":[{"id":"x","created_at":"2026-01-01T00:00:00Z"}]})", {"sessions", "list", "u"}},
        {R"({"session":{}})", {"sessions", "show", id}},
        {R"({"session":{"id":")" + id + R"("}})", {"sessions", "show", id, "--json"}},
        {R"({"nothing":true})", {"users", "revoke", "u", "--json"}},
    };
    for (const auto& c : cases) {
        INFO(c.body);
        canned_server server(c.body);
        auto args = c.command;
        args.insert(args.end(), {"--url", server.url(), "--api-key-file", key});
        auto r = f.admin(args);
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::Contains("the server's reply"));
    }
}

TEST_CASE("admin CLI: http:// to a host that is not loopback is refused before connecting", "[cli]") {
    cli_fixture f;
    auto key = f.admin_key();
    // TEST-NET-1 and a name: refused as a usage error (2), so never connected to
    // (an attempt would end in 3, unreachable).
    for (const std::string url : {"http://192.0.2.1:1", "http://sessiond.example:8080", "http://[2001:db8::1]:1"}) {
        INFO(url);
        auto r = f.admin({"sessions", "list", "u", "--url", url, "--api-key-file", key});
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("in clear") && Catch::Contains("--allow-insecure-http"));
        auto from_env = f.admin({"sessions", "list", "u", "--api-key-file", key}, {{"SESSIOND_ADMIN_URL", url}});
        CHECK(from_env.status == 2);
    }
    // Loopback, by address or by name, needs no flag.
    const auto port = std::to_string(f.target.port());
    for (const auto& url : std::vector<std::string>{"http://127.0.0.1:" + port, "http://localhost:" + port}) {
        INFO(url);
        CHECK(f.admin({"sessions", "list", "u", "--url", url, "--api-key-file", key}).status == 0);
    }
    // "127.1" is not an address literal of the URL's grammar: a name, so
    // refused; with the flag it is resolved (to loopback here) and used.
    auto name = f.admin({"sessions", "list", "u", "--url", "http://127.1:" + port, "--api-key-file", key});
    CHECK(name.status == 2);
    auto allowed = f.admin(
        {"sessions", "list", "u", "--url", "http://127.1:" + port, "--api-key-file", key, "--allow-insecure-http"});
    CHECK(allowed.status == 0);
    CHECK_THAT(allowed.err, Catch::Contains("has no live sessions"));
}

namespace {

// The text of `line` from the column where `header` names `column`.
std::string at_column(const std::string& header, const std::string& line, const std::string& column) {
    const auto at = header.find(column);
    REQUIRE(at != std::string::npos);
    REQUIRE(line.size() > at);
    CHECK(line[at - 1] == ' ');
    return line.substr(at);
}

// The line of `text` that holds `needle`.
std::string line_with(const std::string& text, const std::string& needle) {
    const auto at = text.find(needle);
    REQUIRE(at != std::string::npos);
    const auto start = text.rfind('\n', at);
    const auto from = start == std::string::npos ? 0 : start + 1;
    return text.substr(from, text.find('\n', at) - from);
}

}  // namespace

TEST_CASE("admin CLI: show and list a session's device, addresses, tenant, assurance and provider", "[cli]") {
    const oidc_idp idp("corp");
    auto flags = idp.flags();
    // The test's own requests come "through a proxy" on loopback, which
    // names the client; addresses kept whole.
    flags.insert(flags.end(), {"--trusted-proxies", "127.0.0.1", "--device-address", "full", "--touch-fraction", "0"});
    cli_fixture f(flags);
    const std::string agent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    auto created = f.target.call("POST", "/v1/sessions", test_keys::all,
                                 R"({"user_id":"grace","device":{"user_agent":")" + agent +
                                     R"(","label":"Firefox on Linux"},"aal":2,"amr":["pwd","otp"],"tenant":"acme",)"
                                     R"("provider":{"name":"corp","sid":"idp-session-1"}})",
                                 {{"X-Forwarded-For", "203.0.113.7"}});
    REQUIRE(created.status == 201);
    const auto token = str(created.json, "token");
    const auto id = str(session_of(created), "id");
    // Forward auth sees it from elsewhere (a touch records the address).
    REQUIRE(eventually(
        [&] {
            f.target.call("GET", "/v1/auth", test_keys::auth, "",
                          {{"Authorization", "Bearer " + token}, {"X-Forwarded-For", "198.51.100.9"}});
            auto now = f.target.call("GET", "/v1/sessions/" + id, test_keys::admin);
            return session_of(now).at("device").at("last_address") == "198.51.100.9";
        },
        std::chrono::seconds(5)));
    // A second one with a user agent alone, longer than the table shows.
    const std::string long_agent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile";
    auto phone = f.target.call("POST", "/v1/sessions", test_keys::all,
                               R"({"user_id":"grace","device":{"user_agent":")" + long_agent + R"("}})",
                               {{"X-Forwarded-For", "192.0.2.44"}});
    REQUIRE(phone.status == 201);
    const auto phone_id = str(session_of(phone), "id");

    auto shown = f.run({"sessions", "show", id});
    REQUIRE(shown.status == 0);
    CHECK(shown.err.empty());
    const std::vector<std::string> expected = {"user agent     " + agent,    "label          Firefox on Linux",
                                               "created from   203.0.113.7", "last seen from 198.51.100.9",
                                               "tenant         acme",        "aal            2",
                                               "amr            pwd, otp",    "provider       corp (sid idp-session-1)"};
    for (const auto& line : expected)
        CHECK_THAT(shown.out, Catch::Contains("\n" + line + "\n"));
    // What a session does not have is a dash, on a line of its own all the same.
    auto bare = f.run({"sessions", "show", phone_id});
    REQUIRE(bare.status == 0);
    for (const char* line : {"label          -\n", "created from   192.0.2.44\n", "last seen from 192.0.2.44\n",
                             "tenant         -\n", "aal            -\n", "amr            -\n", "provider       -\n"})
        CHECK_THAT(bare.out, Catch::Contains(line));
    CHECK_THAT(bare.out, Catch::Contains("user agent     " + long_agent + "\n"));

    // The table: the label, else the user agent cut with "..."; the last
    // address; each in its column.
    auto table = f.run({"sessions", "list", "grace"});
    REQUIRE(table.status == 0);
    REQUIRE(lines_of(table.out) == 3);
    const auto header = table.out.substr(0, table.out.find('\n'));
    CHECK_THAT(header, Catch::Contains("DEVICE") && Catch::Contains("LAST ADDRESS"));
    const auto laptop_row = line_with(table.out, id), phone_row = line_with(table.out, phone_id);
    CHECK(at_column(header, laptop_row, "DEVICE").rfind("Firefox on Linux  ", 0) == 0);
    CHECK(at_column(header, laptop_row, "LAST ADDRESS").rfind("198.51.100.9  ", 0) == 0);
    CHECK(at_column(header, phone_row, "DEVICE").rfind(long_agent.substr(0, 29) + "...  ", 0) == 0);
    CHECK(at_column(header, phone_row, "LAST ADDRESS").rfind("192.0.2.44  ", 0) == 0);
    CHECK(at_column(header, phone_row, "METADATA") == "-");
    CHECK_THAT(table.out, !Catch::Contains(long_agent));
    // The tokens are nowhere (admin() checks the API keys).
    for (const auto& t : {token, str(phone.json, "token")}) {
        CHECK_THAT(shown.out + bare.out + table.out, !Catch::Contains(t));
        CHECK_THAT(shown.err + bare.err + table.err, !Catch::Contains(t));
    }
}

TEST_CASE("admin CLI: not-before set --tenant signs a tenant out; everyone only with --yes", "[cli]") {
    cli_fixture f;
    const auto alice = f.create("alice").first;
    auto acme = f.target.create("alice", R"("tenant":"acme")");
    auto other = f.target.create("bob", R"("tenant":"other")");
    REQUIRE(acme.status == 201);
    REQUIRE(other.status == 201);
    const auto acme_token = str(acme.json, "token"), other_token = str(other.json, "token");

    auto none = f.run({"not-before", "show"});
    REQUIRE(none.status == 0);
    CHECK(none.out == "everyone  never\n");
    CHECK(parse_object(f.run({"not-before", "show", "--json"}).out) ==
          boost::json::parse(R"({"all":null,"tenants":{}})"));

    // Without --tenant, --user or --yes nothing is sent, and every session lives.
    auto unconfirmed = f.run({"not-before", "set"});
    CHECK(unconfirmed.status == 2);
    CHECK(unconfirmed.out.empty());
    CHECK_THAT(unconfirmed.err, Catch::Contains("signs everyone out") && Catch::Contains("give --yes"));
    for (const auto& t : {alice, acme_token, other_token})
        CHECK(f.target.validate(t).status == 200);
    CHECK(parse_object(f.run({"not-before", "show", "--json"}).out).at("all").is_null());

    auto set = f.run({"not-before", "set", "--tenant", "acme"});
    REQUIRE(set.status == 0);
    CHECK(set.err.empty());
    const auto shown_json = parse_object(f.run({"not-before", "show", "--json"}).out);
    CHECK(shown_json.at("all").is_null());
    const auto acme_at = str(shown_json.at("tenants"), "acme");
    CHECK(acme_at.size() == 24);
    CHECK(set.out == "signed tenant 'acme' out: its sessions created before " + acme_at + " are ended\n");
    auto shown = f.run({"not-before", "show"});
    REQUIRE(shown.status == 0);
    CHECK(shown.out == "everyone     never\ntenant acme  " + acme_at + "\n");
    // The session of acme opened before is refused; the others live.
    CHECK(f.target.validate(acme_token).status == 401);
    CHECK(f.target.validate(other_token).status == 200);
    CHECK(f.target.validate(alice).status == 200);

    // One tenant's instant only, as text and as JSON.
    CHECK(f.run({"not-before", "show", "--tenant", "other"}).out == "everyone      never\ntenant other  never\n");
    CHECK(parse_object(f.run({"not-before", "show", "--tenant", "acme", "--json"}).out) ==
          boost::json::parse(R"({"all":null,"tenants":{"acme":")" + acme_at + R"("}})"));

    auto other_json = f.run({"not-before", "set", "--tenant", "other", "--json"});
    REQUIRE(other_json.status == 0);
    const auto other_reply = parse_object(other_json.out);
    CHECK(other_reply.at("tenant") == "other");
    CHECK(str(other_reply, "not_before").size() == 24);
    CHECK(f.target.validate(other_token).status == 401);
    CHECK(f.target.validate(alice).status == 200);

    auto everyone = f.run({"not-before", "set", "--yes"});
    REQUIRE(everyone.status == 0);
    const auto all_at = str(parse_object(f.run({"not-before", "show", "--json"}).out), "all");
    CHECK(everyone.out == "signed everyone out: every session created before " + all_at + " is ended\n");
    CHECK(f.target.validate(alice).status == 401);
    CHECK(f.run({"not-before", "show"}).out.rfind("everyone      " + all_at + "\n", 0) == 0);

    // Refused before anything is sent (2), or by the server (1).
    auto expect_usage = [&](std::vector<std::string> args, const std::string& message) {
        INFO(message);
        auto r = f.run(std::move(args));
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK_THAT(r.err, Catch::Contains(message));
    };
    expect_usage({"not-before", "set", "--tenant", ""}, "--tenant is empty");
    expect_usage({"not-before", "set", "--user=", "--yes"}, "--user is empty");
    expect_usage({"not-before", "set", "--tenant", "acme", "--user", "alice"},
                 "--tenant and --user exclude each other");
    expect_usage({"not-before", "set", "acme"}, "'not-before set' takes no argument");
    expect_usage({"not-before", "show", "--yes"}, "'not-before show' does not take --yes");
    auto bad_tenant = f.run({"not-before", "set", "--tenant", "a/b"});
    CHECK(bad_tenant.status == 1);
    CHECK_THAT(bad_tenant.err, Catch::Contains("400") && Catch::Contains("malformed_request"));
    auto reader = f.admin({"not-before", "set", "--tenant", "acme"},
                          {{"SESSIOND_ADMIN_URL", f.url()}, {"SESSIOND_ADMIN_API_KEY", test_keys::read}});
    CHECK(reader.status == 1);
    CHECK_THAT(reader.err, Catch::Contains("403"));
}

TEST_CASE("admin CLI: not-before set --user ends a user's sessions and show --user shows when", "[cli]") {
    cli_fixture f;
    const auto first = f.create("carol").first;
    const auto second = f.create("carol").first;
    const auto other = f.create("dan").first;

    auto none = f.run({"not-before", "show", "--user", "carol"});
    REQUIRE(none.status == 0);
    CHECK(none.out == "everyone    never\nuser carol  never\n");

    auto set = f.run({"not-before", "set", "--user", "carol"});
    REQUIRE(set.status == 0);
    const auto shown = parse_object(f.run({"not-before", "show", "--user", "carol", "--json"}).out);
    const auto at = str(shown.at("user"), "not_before");
    CHECK(at.size() == 24);
    CHECK(set.out == "signed user 'carol' out: sessions created before " + at + " are ended (2 revoked)\n");
    CHECK(f.run({"not-before", "show", "--user", "carol"}).out == "everyone    never\nuser carol  " + at + "\n");
    CHECK(f.target.validate(first).status == 401);
    CHECK(f.target.validate(second).status == 401);
    CHECK(f.target.validate(other).status == 200);
}
