#include "support/sessiond_process.hpp"

#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <string_view>

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

std::optional<unsigned short> listening_port(const std::string& log) {
    for (std::size_t at = 0; at < log.size();) {
        auto end = log.find('\n', at);
        if (end == std::string::npos) return std::nullopt;  // a line still being written
        std::string_view line(log.data() + at, end - at);
        at = end + 1;
        if (line.find("\"msg\":\"listening\"") == std::string_view::npos &&
            line.find(" listening ") == std::string_view::npos)
            continue;
        for (std::string_view key : {"\"port\":", " port="}) {
            auto p = line.find(key);
            if (p == std::string_view::npos) continue;
            unsigned port = 0;
            for (p += key.size(); p < line.size() && line[p] >= '0' && line[p] <= '9'; ++p)
                port = port * 10 + static_cast<unsigned>(line[p] - '0');
            if (port > 0 && port < 65536) return static_cast<unsigned short>(port);
        }
    }
    return std::nullopt;
}

sessiond_process::sessiond_process(std::vector<std::string> args, std::map<std::string, std::string> env,
                                   std::vector<std::string> launcher) {
    process_options opts;
    // The kernel picks the port; sessiond logs it once it accepts connections.
    opts.argv = std::move(launcher);
    for (const char* a : {SESSIOND_BINARY, "--address", "127.0.0.1", "--port", "0"})
        opts.argv.emplace_back(a);
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.env = std::move(env);
    opts.unset_env = sessiond_env_names();
    proc_ = std::make_unique<process>(opts);
    std::optional<unsigned short> port;
    bool up = eventually(
        [&] {
            port = listening_port(proc_->log());
            return port || !proc_->running();
        },
        std::chrono::seconds(20));
    if (!up || !port) throw std::runtime_error("sessiond did not start: " + proc_->log());
    port_ = *port;
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
