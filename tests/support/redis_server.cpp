#include "support/redis_server.hpp"

#include <signal.h>

#include <cstdio>
#include <stdexcept>

namespace sessiond::test {

redis_server::redis_server(std::vector<std::string> extra_args)
    : port_(free_port()), extra_args_(std::move(extra_args)) {
    start();
}

redis_server::~redis_server() {
    if (proc_) thaw();
    stop();
}

void redis_server::start() {
    if (proc_ && proc_->running()) return;
    process_options opts;
    opts.argv = {
        "redis-server", "--port", std::to_string(port_), "--bind",    "127.0.0.1", "--save", "", "--appendonly",
        "no",           "--dir",  dir_.path(),           "--logfile", ""};
    opts.argv.insert(opts.argv.end(), extra_args_.begin(), extra_args_.end());
    opts.log_path = dir_.file("redis.log");
    proc_ = std::make_unique<process>(opts);
    if (!wait_for_port(port_, std::chrono::seconds(10)))
        throw std::runtime_error("redis-server did not start: " + proc_->log());
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
