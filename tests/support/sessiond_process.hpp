#pragma once
// The real sessiond binary on a loopback port of the kernel's choosing, for
// integration tests.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace sessiond::test {

class sessiond_process {
public:
    // Starts `sessiond --address 127.0.0.1 --port 0 <args...>` and waits until
    // it logs the port it listens on (so args must keep the log level at info
    // or below). Default args run in development mode. `launcher` goes
    // before the binary, e.g. {"sh", "-c", "ulimit -n 64; exec \"$0\" \"$@\""}.
    explicit sessiond_process(std::vector<std::string> args = {"--development"},
                              std::map<std::string, std::string> env = {}, std::vector<std::string> launcher = {});

    unsigned short port() const { return port_; }
    process& proc() { return *proc_; }

    // One request on a fresh connection.
    http_response request(const std::string& method, const std::string& target, const std::string& body = "",
                          const std::map<std::string, std::string>& headers = {});

private:
    unsigned short port_ = 0;
    std::unique_ptr<process> proc_;
};

// The port of sessiond's "listening" log line (JSON or text), once logged.
std::optional<unsigned short> listening_port(const std::string& log);

// Runs sessiond to completion with the given args; returns exit status and output.
struct run_result {
    int status;
    std::string output;
};
run_result run_sessiond(std::vector<std::string> args, std::map<std::string, std::string> env = {});

}  // namespace sessiond::test
