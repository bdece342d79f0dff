#include "support/browser.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace sessiond::test {

namespace {

namespace json = boost::json;
using steady = std::chrono::steady_clock;

// Generous: a cold Chromium on a busy two-core machine takes seconds to start.
constexpr auto command_deadline = std::chrono::seconds(30);
constexpr auto page_deadline = std::chrono::seconds(30);

// A descriptor moved above 10, close-on-exec, so that the child's dup2 onto
// 3 and 4 cannot clobber it.
int high_fd(int fd) {
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    ::close(fd);
    if (moved < 0) throw std::runtime_error("fcntl F_DUPFD_CLOEXEC failed");
    return moved;
}

}  // namespace

browser::browser(std::vector<std::string> extra_args) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) throw std::runtime_error("socketpair failed");
    socket_ = high_fd(pair[0]);
    int child_end = high_fd(pair[1]);

    process_options opts;
    opts.argv = {binary,
                 "--headless",
                 "--no-sandbox",  // the tests may run as root (CI containers)
                 "--remote-debugging-pipe",
                 "--user-data-dir=" + profile_.file("profile"),
                 "--no-first-run",
                 "--no-default-browser-check",
                 "--disable-gpu",
                 "--disable-dev-shm-usage",
                 "--disable-background-networking",
                 "--disable-component-update",
                 "--disable-sync",
                 "--no-proxy-server"};
    opts.argv.insert(opts.argv.end(), extra_args.begin(), extra_args.end());
    opts.argv.push_back("about:blank");
    opts.env = {{"HOME", profile_.path()},
                {"XDG_CONFIG_HOME", profile_.file("config")},
                {"XDG_CACHE_HOME", profile_.file("cache")}};
    opts.log_path = profile_.file("chromium.log");
    // Chromium reads commands from fd 3 and writes answers and events to fd 4.
    opts.fds = {{3, child_end}, {4, child_end}};
    try {
        proc_ = std::make_unique<process>(opts);
    } catch (...) {
        ::close(child_end);
        ::close(socket_);
        throw;
    }
    ::close(child_end);

    auto target = command("Target.createTarget", {{"url", "about:blank"}}, false);
    auto attached = command("Target.attachToTarget", {{"targetId", target.at("targetId")}, {"flatten", true}}, false);
    session_ = std::string(attached.at("sessionId").as_string());
    // The browser sends only the requests a test makes: left alone, Chromium
    // asks each site for /favicon.ico after a page has loaded, whenever it
    // gets to it, and behind forward auth that request reaches the
    // application with the session cookie, among the requests a test counts.
    // Blocking takes the Network domain enabled.
    command("Network.enable");
    command("Network.setBlockedURLs", {{"urls", json::array{"*/favicon.ico"}}});
}

browser::~browser() {
    if (proc_ && proc_->running()) {
        try {
            write_message(json::serialize(json::object{{"id", next_id_++}, {"method", "Browser.close"}}));
        } catch (const std::exception&) {
        }
        if (!proc_->wait(std::chrono::seconds(10))) proc_->signal(SIGKILL);  // and ~process waits
    }
    ::close(socket_);
}

void browser::write_message(const std::string& text) {
    std::string out = text;
    out.push_back('\0');
    std::size_t sent = 0;
    auto deadline = steady::now() + command_deadline;
    while (sent < out.size()) {
        pollfd p{socket_, POLLOUT, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
            throw std::runtime_error("Chromium does not read its commands");
        auto n = ::send(socket_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("Chromium closed the DevTools pipe:\n" + log());
        sent += static_cast<std::size_t>(n);
    }
}

json::object browser::read_message(steady::time_point deadline) {
    for (;;) {
        if (auto end = buffer_.find('\0'); end != std::string::npos) {
            auto message = json::parse(std::string_view(buffer_).substr(0, end));
            buffer_.erase(0, end + 1);
            return message.as_object();
        }
        pollfd p{socket_, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
            throw std::runtime_error("no answer from Chromium in time:\n" + log());
        char chunk[16384];
        auto n = ::recv(socket_, chunk, sizeof chunk, 0);
        if (n <= 0) throw std::runtime_error("Chromium closed the DevTools pipe:\n" + log());
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

json::object browser::command(const std::string& method, json::object params, bool to_page) {
    const auto id = next_id_++;
    json::object message{{"id", id}, {"method", method}, {"params", std::move(params)}};
    if (to_page) message["sessionId"] = session_;
    write_message(json::serialize(message));
    const auto deadline = steady::now() + command_deadline;
    for (;;) {
        auto answer = read_message(deadline);
        const auto* got = answer.if_contains("id");
        if (!got) {
            events_.push_back(std::move(answer));
            if (events_.size() > 10000) events_.pop_front();
            continue;
        }
        if (got->to_number<std::int64_t>() != id) continue;  // an older command's late answer
        if (const auto* error = answer.if_contains("error"))
            throw std::runtime_error(method + " failed: " + json::serialize(*error));
        return answer["result"].as_object();
    }
}

json::value browser::evaluate(const std::string& expression) {
    auto result =
        command("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
    if (const auto* thrown = result.if_contains("exceptionDetails"))
        throw std::runtime_error("JavaScript threw: " + json::serialize(*thrown));
    const auto& remote = result.at("result").as_object();
    const auto* value = remote.if_contains("value");
    return value ? *value : json::value();
}

void browser::wait_for_new_page(const std::string& landing) {
    // The old page carries a mark; the new one is the first page without it,
    // at the expected URL, fully loaded.
    const std::string check =
        "!window.__sessiond_old && document.readyState === 'complete' && location.href.startsWith(" +
        json::serialize(json::string(landing)) + ")";
    std::string last_error;
    const bool loaded = eventually(
        [&] {
            try {
                return evaluate(check).as_bool();
            } catch (const std::exception& e) {  // the context went away mid-navigation
                last_error = e.what();
                return false;
            }
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(page_deadline), std::chrono::milliseconds(20));
    if (loaded) return;
    std::string at;
    try {
        at = url();
    } catch (const std::exception& e) {
        at = e.what();
    }
    throw std::runtime_error("no page loaded at " + landing + " in time; the browser is at " + at + " " + last_error);
}

void browser::open(const std::string& url, const std::string& landing) {
    evaluate("window.__sessiond_old = true");
    auto navigated = command("Page.navigate", {{"url", url}});
    if (const auto* error = navigated.if_contains("errorText"))
        throw std::runtime_error("navigation to " + url + " failed: " + std::string(error->as_string()));
    wait_for_new_page(landing);
}

void browser::act(const std::string& script, const std::string& landing) {
    evaluate("window.__sessiond_old = true");
    evaluate(script);
    wait_for_new_page(landing);
}

std::string browser::url() {
    return std::string(evaluate("location.href").as_string());
}

int browser::status() {
    return static_cast<int>(evaluate("performance.getEntriesByType('navigation')[0].responseStatus").to_number<int>());
}

std::string browser::text() {
    return std::string(evaluate("document.body ? document.body.innerText : ''").as_string());
}

void browser::read_pending_events() {
    command("Browser.getVersion", {}, false);
}

std::vector<json::object> browser::events(const std::string& method) const {
    std::vector<json::object> out;
    for (const auto& e : events_)
        if (const auto* m = e.if_contains("method"); m && m->as_string() == method) out.push_back(e);
    return out;
}

json::array browser::cookies() {
    return command("Storage.getCookies", {}, false).at("cookies").as_array();
}

void browser::set_cookie(json::object cookie) {
    auto result = command("Network.setCookie", std::move(cookie));
    if (const auto* ok = result.if_contains("success"); ok && !ok->as_bool())
        throw std::runtime_error("Network.setCookie refused the cookie");
}

std::string spki_sha256_base64(const std::string& cert_path) {
    const std::string cmd = "openssl x509 -in '" + cert_path +
                            "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
                            "openssl base64 -A";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    if (!pipe) throw std::runtime_error("popen failed");
    std::string out;
    char chunk[256];
    while (auto n = std::fread(chunk, 1, sizeof chunk, pipe.get()))
        out.append(chunk, n);
    if (out.size() != 44) throw std::runtime_error("no SPKI hash for " + cert_path + ": " + out);
    return out;
}

}  // namespace sessiond::test
