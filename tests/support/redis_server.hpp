#pragma once
// A real redis-server on a free loopback port, started and stopped by PID.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sessiond::test {

// The command line of a throw-away redis-server on 127.0.0.1:port (0: no TCP
// port) keeping nothing on disk but in `dir`, logging to stdout.
std::vector<std::string> redis_argv(unsigned short port, const temp_dir& dir);

// Starts redis-server with the arguments argv_for(port) and waits until it is
// ready. redis-server cannot be given port 0 (that disables TCP), so a free
// port is chosen here; when another process takes it first, redis-server
// fails to bind and another port is tried. With `fixed`, only `port` is
// tried (a restart where clients know the port). Logs go under `dir`.
// Throws std::runtime_error with the server's log if it does not start.
std::unique_ptr<process> start_redis(const std::function<std::vector<std::string>(unsigned short)>& argv_for,
                                     const temp_dir& dir, unsigned short& port, bool fixed = false);

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
    unsigned short port_ = 0;
    std::vector<std::string> extra_args_;
    temp_dir dir_;
    std::unique_ptr<process> proc_;
};

}  // namespace sessiond::test
