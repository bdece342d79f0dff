#include "support/proxy_process.hpp"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace sessiond::test {

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

std::string apply_edits(std::string text, const std::map<std::string, std::string>& edits) {
    for (const auto& [from, to] : edits) {
        if (text.find(from) == std::string::npos) throw std::runtime_error("example edit not found: " + from);
        replace_all(text, from, to);
    }
    return text;
}

// Starts the proxy on a free port until it is not taken by someone else
// meanwhile: `start` writes the config for the port and returns the process;
// `bound` says whether that process holds its port. A connection alone does
// not: another process may have taken the port, and nginx keeps running for
// a few seconds while it retries the bind.
template <class Start, class Bound>
std::unique_ptr<process> start_on_free_port(unsigned short& port, Start start, Bound bound, const std::string& what) {
    for (int attempt = 0;; ++attempt) {
        port = free_port();
        auto proc = start(port);
        bool up = eventually(
            [&] {
                if (!proc->running()) return true;
                if (!bound(*proc)) return false;
                int fd = connect_loopback(port);
                if (fd < 0) return false;
                ::close(fd);
                return true;
            },
            std::chrono::seconds(10));
        if (up && proc->running()) return proc;
        auto log = proc->log();
        if (log.find("in use") == std::string::npos || attempt == 10)
            throw std::runtime_error(what + " did not start on port " + std::to_string(port) + ": " + log);
    }
}

}  // namespace

std::string render_example(const std::string& name, const std::map<std::string, std::string>& values) {
    std::string text = read_file(std::string(SESSIOND_SOURCE_DIR) + "/deploy/proxies/" + name);
    for (const auto& [key, value] : values)
        replace_all(text, "{{" + key + "}}", value);
    if (auto left = text.find("{{"); left != std::string::npos)
        throw std::runtime_error(name + ": placeholder left: " + text.substr(left, text.find("}}", left) + 2 - left));
    return text;
}

bool have_program(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

nginx_proxy::nginx_proxy(std::map<std::string, std::string> values, const std::map<std::string, std::string>& edits,
                         const nginx_extras& extras) {
    const bool tls = !extras.certificate.empty();
    proc_ = start_on_free_port(
        port_,
        [&](unsigned short port) {
            values["LISTEN"] = "127.0.0.1:" + std::to_string(port) + (tls ? " ssl" : "");
            std::string servers = extras.servers;
            replace_all(servers, "{{LISTEN}}", values["LISTEN"]);
            write_file(dir_.file("site.conf"),
                       apply_edits(render_example("nginx.conf", values), edits) + "\n" + servers);
            const auto& d = dir_.path();
            const std::string certificate =
                tls ? "  ssl_certificate " + extras.certificate + ";\n  ssl_certificate_key " + extras.key + ";\n" : "";
            write_file(dir_.file("nginx.conf"), "pid " + d +
                                                    "/nginx.pid;\n"
                                                    "error_log " +
                                                    d +
                                                    "/error.log info;\n"
                                                    "events { worker_connections 64; }\n"
                                                    "http {\n"
                                                    "  access_log " +
                                                    d +
                                                    "/access.log;\n"
                                                    "  client_body_temp_path " +
                                                    d +
                                                    "/body;\n"
                                                    "  proxy_temp_path " +
                                                    d +
                                                    "/proxy;\n"
                                                    "  fastcgi_temp_path " +
                                                    d +
                                                    "/fastcgi;\n"
                                                    "  uwsgi_temp_path " +
                                                    d +
                                                    "/uwsgi;\n"
                                                    "  scgi_temp_path " +
                                                    d + "/scgi;\n" + certificate + "  include " + d +
                                                    "/site.conf;\n"
                                                    "}\n");
            process_options opts;
            // One process, in the foreground, as the current user (no
            // master to switch users): stopped by its PID.
            opts.argv = {"/usr/sbin/nginx",
                         "-p",
                         d,
                         "-e",
                         d + "/error.log",
                         "-c",
                         d + "/nginx.conf",
                         "-g",
                         "daemon off; master_process off;"};
            opts.log_path = dir_.file("stdout-" + std::to_string(port) + ".log");
            std::remove(dir_.file("nginx.pid").c_str());
            return std::make_unique<process>(opts);
        },
        // nginx writes its pid file once its listening sockets are open.
        [&](const process&) { return ::access(dir_.file("nginx.pid").c_str(), F_OK) == 0; }, "nginx");
}

caddy_proxy::caddy_proxy(std::map<std::string, std::string> values, const std::map<std::string, std::string>& edits) {
    proc_ = start_on_free_port(
        port_,
        [&](unsigned short port) {
            values["SITE"] = "http://:" + std::to_string(port);
            write_file(dir_.file("site.caddy"), apply_edits(render_example("Caddyfile", values), edits));
            write_file(dir_.file("Caddyfile"),
                       "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\nimport " +
                           dir_.file("site.caddy") + "\n");
            process_options opts;
            opts.argv = {"/usr/bin/caddy", "run", "--config", dir_.file("Caddyfile"), "--adapter", "caddyfile"};
            opts.env = {
                {"HOME", dir_.path()}, {"XDG_DATA_HOME", dir_.file("data")}, {"XDG_CONFIG_HOME", dir_.file("config")}};
            opts.log_path = dir_.file("caddy-" + std::to_string(port) + ".log");
            return std::make_unique<process>(opts);
        },
        // Said once its configuration, listeners included, is running.
        [](const process& p) { return p.log().find("serving initial configuration") != std::string::npos; }, "caddy");
}

}  // namespace sessiond::test
