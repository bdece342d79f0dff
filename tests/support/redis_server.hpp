#pragma once
// A real redis-server on a free loopback port, started and stopped by PID.

#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sessiond::test {

class redis_server {
public:
    // extra_args are appended to the command line (e.g. {"--requirepass", "x"}).
    explicit redis_server(std::vector<std::string> extra_args = {});
    ~redis_server();

    unsigned short port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return proc_ ? proc_->pid() : -1; }

    void stop();    // SIGTERM and wait
    void start();   // again, on the same port
    void freeze();  // SIGSTOP
    void thaw();    // SIGCONT

    // Runs redis-cli against this server and returns its stdout (raw mode).
    std::string cli(const std::vector<std::string>& args) const;

private:
    unsigned short port_;
    std::vector<std::string> extra_args_;
    temp_dir dir_;
    std::unique_ptr<process> proc_;
};

}  // namespace sessiond::test
