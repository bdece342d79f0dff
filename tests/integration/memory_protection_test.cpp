// The running daemon is not dumpable, and starts (with one warning) when the
// kernel refuses to lock its key pages.

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "support/sessiond_process.hpp"

using namespace sessiond::test;
using namespace std::chrono_literals;

namespace {

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
    CHECK(sd.proc().wait_for_log("key material could not be locked in memory", 5s));
    CHECK(sd.request("POST", "/v1/sessions", R"({"user_id":"u"})").status == 201);
}
