#pragma once
// A child process started by a test and stopped by its PID: the real sessiond
// or redis-server. Output goes to a log file the test can read.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace sessiond::test {

struct process_options {
    std::vector<std::string> argv;           // argv[0] is the program path
    std::map<std::string, std::string> env;  // added to (or overriding) the environment
    std::vector<std::string> unset_env;      // removed from the environment
    std::string log_path;                    // stdout+stderr; empty = a temp file
    // More descriptors for the child: {child fd, parent fd}. Parent fds must
    // be above every child fd named here (dup2 runs in order).
    std::vector<std::pair<int, int>> fds;
};

class process {
public:
    explicit process(process_options opts);
    ~process();  // SIGKILL if still running
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }
    std::string log() const;  // whole output so far

    void signal(int sig) const;
    // Waits for exit; returns the exit status (or 128+signal), nullopt on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // Waits until the log contains `needle`.
    bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) const;
    bool running();

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

// Polls `condition` every `step` until it holds (true) or `timeout` has
// passed (false): how a test waits for something, rather than sleeping.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(10));

// A TCP port on 127.0.0.1 that nothing listens on right now (someone else
// may take it before the caller does: retry on a bind failure).
unsigned short free_port();

// A blocking TCP socket connected to 127.0.0.1:port, or -1; from `source`
// (another loopback address such as 127.0.0.2: another client) if given.
int connect_loopback(unsigned short port, const std::string& source = {});

// A fresh directory under $TMPDIR, removed by the destructor.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

}  // namespace sessiond::test
