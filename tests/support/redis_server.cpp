#include "support/redis_server.hpp"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

namespace sessiond::test {

std::vector<std::string> redis_argv(unsigned short port, const temp_dir& dir) {
    return {"redis-server", "--port", std::to_string(port), "--bind",    "127.0.0.1", "--save", "", "--appendonly",
            "no",           "--dir",  dir.path(),           "--logfile", ""};
}

std::unique_ptr<process> start_redis(const std::function<std::vector<std::string>(unsigned short)>& argv_for,
                                     const temp_dir& dir, unsigned short& port, bool fixed) {
    static std::atomic<int> starts{0};
    for (int attempt = 0;; ++attempt) {
        if (!fixed) port = free_port();
        process_options opts;
        opts.argv = argv_for(port);
        opts.log_path = dir.file("redis-" + std::to_string(starts++) + ".log");
        auto proc = std::make_unique<process>(opts);
        bool settled = eventually(
            [&] { return !proc->running() || proc->log().find("Ready to accept connections") != std::string::npos; },
            std::chrono::seconds(10));
        if (settled && proc->running()) return proc;
        auto log = proc->log();
        bool taken = log.find("Address already in use") != std::string::npos;
        if (!settled || !taken || fixed || attempt == 20)
            throw std::runtime_error("redis-server did not start on port " + std::to_string(port) + ": " + log);
    }
}

redis_server::redis_server(std::vector<std::string> extra_args) : extra_args_(std::move(extra_args)) {
    start();
}

redis_server::~redis_server() {
    if (proc_) thaw();
    stop();
}

void redis_server::start() {
    if (proc_ && proc_->running()) return;
    auto argv = [this](unsigned short port) {
        auto argv = redis_argv(port, dir_);
        argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
        return argv;
    };
    // The first start picks the port; a restart keeps it, as clients know it.
    proc_ = start_redis(argv, dir_, port_, port_ != 0);
}

void redis_server::stop() {
    if (!proc_) return;
    proc_->signal(SIGTERM);
    if (!proc_->wait(std::chrono::seconds(10))) {
        proc_->signal(SIGKILL);
        proc_->wait(std::chrono::seconds(5));
    }
    proc_.reset();
}

void redis_server::freeze() {
    if (proc_) proc_->signal(SIGSTOP);
}
void redis_server::thaw() {
    if (proc_) proc_->signal(SIGCONT);
}

std::string redis_server::cli(const std::vector<std::string>& args) const {
    std::string cmd = "redis-cli --no-raw -h 127.0.0.1 -p " + std::to_string(port_);
    for (const auto& a : args) {
        std::string quoted = "'";
        for (char c : a) {
            if (c == '\'')
                quoted += "'\\''";
            else
                quoted += c;
        }
        cmd += " " + quoted + "'";
    }
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen redis-cli failed");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace sessiond::test
