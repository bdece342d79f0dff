#pragma once
// Real reverse proxies (nginx, Caddy) started by a test on a free loopback
// port, in front of sessiond, configured from the examples in
// deploy/proxies/ so that the examples are what the tests check. Each runs
// as the current user with its files in a temp dir and is stopped by PID.

#include <map>
#include <memory>
#include <string>

#include "support/process.hpp"

namespace sessiond::test {

// deploy/proxies/<name> with each {{KEY}} replaced by its value; throws if
// a placeholder is left over (the example and the test disagree).
std::string render_example(const std::string& name, const std::map<std::string, std::string>& values);

class proxy_process {
public:
    virtual ~proxy_process() = default;
    unsigned short port() const { return port_; }
    std::string log() const { return proc_ ? proc_->log() : std::string(); }

protected:
    unsigned short port_ = 0;
    temp_dir dir_;
    std::unique_ptr<process> proc_;
};

// What a test adds around the nginx example: TLS on its port (every server
// there gets the certificate) and more server blocks, in which {{LISTEN}}
// is the example's listen address (with `ssl`), e.g. another site by name.
struct nginx_extras {
    std::string certificate;  // PEM paths; TLS when set
    std::string key;
    std::string servers;
};

// nginx with deploy/proxies/nginx.conf included in a main configuration of
// its own (pid, logs and temp paths in the temp dir, one process, no daemon).
class nginx_proxy : public proxy_process {
public:
    // `values` fill the example's placeholders but {{LISTEN}}, which is the
    // proxy's port; `edit` may change the rendered text (documented by the caller).
    nginx_proxy(std::map<std::string, std::string> values, const std::map<std::string, std::string>& edits = {},
                const nginx_extras& extras = {});
};

// Caddy running deploy/proxies/Caddyfile (site http://:<port>), with the
// admin endpoint off and its data and config dirs in the temp dir.
class caddy_proxy : public proxy_process {
public:
    caddy_proxy(std::map<std::string, std::string> values, const std::map<std::string, std::string>& edits = {});
};

// Whether the program is installed (the tests that need it are skipped
// with a message otherwise).
bool have_program(const std::string& path);

}  // namespace sessiond::test
