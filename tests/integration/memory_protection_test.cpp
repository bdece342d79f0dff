// The running daemon is not dumpable, starts (with one warning) when the
// kernel refuses to lock its key pages, and no longer shows secret option
// values in /proc/<pid>/cmdline and environ once it has read them.

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "support/sanitizers.hpp"
#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

std::string proc_file(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The real uid of `pid` (first field of the "Uid:" line of its status).
long real_uid_of(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Uid:", 0) == 0) return std::stol(line.substr(4));
    return -1;
}

}  // namespace

TEST_CASE("sessiond is not dumpable: its /proc files belong to root, not to its own user") {
    // The kernel gives the /proc/<pid> files of a non-dumpable process to
    // root, those of a dumpable one to the process's user. So sessiond must
    // run as someone other than root for the owner to tell: as root, the
    // test starts it as nobody. `ulimit -l 0` (and, as nobody, no
    // CAP_IPC_LOCK) makes every mlock fail, which must not stop it.
    std::vector<std::string> launcher{"sh", "-c", "ulimit -l 0; exec \"$0\" \"$@\""};
    if (::geteuid() == 0)
        launcher = {"sh", "-c", "ulimit -l 0; exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" \"$@\""};
    sessiond_process sd({"--development"}, {}, launcher);

    const pid_t pid = sd.proc().pid();
    const long uid = real_uid_of(pid);
    REQUIRE(uid > 0);  // not root: the owner check below can fail
    struct stat st {};
    REQUIRE(::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);

    CHECK_THAT(sd.proc().log(), Catch::Contains(R"("dumpable":false)"));
    if (mlock_is_real) CHECK(sd.proc().wait_for_log("key material could not be locked in memory", 5s));
    CHECK(sd.request("POST", "/v1/sessions", R"({"user_id":"u"})").status == 201);
}

TEST_CASE("secret option values are wiped from the arguments and environment /proc shows") {
    const std::string token_key = "1:Y21kbGluZS10b2tlbi1rZXktY21kbGluZS10b2tlbi1rZXk=";
    const std::string index_key = "Y21kbGluZS1pbmRleC1rZXktY21kbGluZS1pbmRleC1rZXk=";
    // Overridden by the flag, but read (and so wiped) all the same.
    const std::string env_token_key = "1:ZW52aXJvbi10b2tlbi1rZXktZW52aXJvbi10b2tlbi1rZXk=";
    sessiond_process sd(
        {"--development", "--token-keys=" + token_key, "--user-index-key", index_key, "--log-level", "info"},
        {{"SESSIOND_TOKEN_KEYS", env_token_key}});
    const pid_t pid = sd.proc().pid();

    // cmdline: every user may read it (ps); the options stay, their values go.
    const std::string cmdline = proc_file(pid, "cmdline");
    CHECK_THAT(cmdline, Catch::Contains("--token-keys=") && Catch::Contains("--user-index-key"));
    CHECK(cmdline.find("Y21kbGluZS10b2tlbi1rZXkt") == std::string::npos);
    CHECK(cmdline.find("Y21kbGluZS1pbmRleC1rZXkt") == std::string::npos);
    CHECK_THAT(cmdline, Catch::Contains(std::string("--log-level\0info", 16)));  // not a secret: kept

    // environ: only root may read it of a non-dumpable process.
    const std::string environ_text = proc_file(pid, "environ");
    if (::geteuid() == 0) {
        CHECK_THAT(environ_text, Catch::Contains("SESSIOND_TOKEN_KEYS="));
        CHECK(environ_text.find("ZW52aXJvbi10b2tlbi1rZXkt") == std::string::npos);
    } else {
        CHECK(environ_text.empty());
    }
    // The keys were read before they were wiped: tokens are issued.
    CHECK(sd.request("POST", "/v1/sessions", R"({"user_id":"u"})").status == 201);
}
