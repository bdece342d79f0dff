#include "support/sessiond_process.hpp"

#include <unistd.h>

#include <stdexcept>

namespace sessiond::test {

namespace {
// The environment of the test run must not leak into the daemon's config.
std::vector<std::string> sessiond_env_names() {
    std::vector<std::string> names;
    for (char** e = ::environ; *e; ++e) {
        std::string kv = *e;
        if (kv.rfind("SESSIOND_", 0) == 0) names.push_back(kv.substr(0, kv.find('=')));
    }
    return names;
}
}  // namespace

sessiond_process::sessiond_process(std::vector<std::string> args, std::map<std::string, std::string> env)
    : port_(free_port()) {
    process_options opts;
    opts.argv = {SESSIOND_BINARY, "--address", "127.0.0.1", "--port", std::to_string(port_)};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.env = std::move(env);
    opts.unset_env = sessiond_env_names();
    proc_ = std::make_unique<process>(opts);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!wait_for_port(port_, std::chrono::milliseconds(50))) {
        if (!proc_->running() || std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("sessiond did not start: " + proc_->log());
    }
}

http_response sessiond_process::request(const std::string& method, const std::string& target, const std::string& body,
                                        const std::map<std::string, std::string>& headers) {
    http_connection conn(port_);
    auto r = conn.request(method, target, body, headers);
    if (!r) throw std::runtime_error("no response to " + method + " " + target);
    return *r;
}

run_result run_sessiond(std::vector<std::string> args, std::map<std::string, std::string> env) {
    process_options opts;
    opts.argv = {SESSIOND_BINARY};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.env = std::move(env);
    opts.unset_env = sessiond_env_names();
    process p(opts);
    auto status = p.wait(std::chrono::seconds(20));
    if (!status) throw std::runtime_error("sessiond did not exit");
    return {*status, p.log()};
}

}  // namespace sessiond::test
