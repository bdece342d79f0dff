#pragma once
// Headless Chromium started by a test and driven over the DevTools protocol
// on a pipe (--remote-debugging-pipe: JSON messages ended by '\0' on fds 3
// and 4): one page, JavaScript evaluated in it, the cookie jar read and
// written. Stopped by its PID; every wait has a deadline.

#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sessiond::test {

class browser {
public:
    static constexpr const char* binary = "/usr/lib/chromium/chromium";

    // `extra_args` go after the headless, profile and pipe flags (host
    // resolver rules, certificate exceptions...). Throws if Chromium does
    // not answer within the deadline.
    explicit browser(std::vector<std::string> extra_args = {});
    ~browser();
    browser(const browser&) = delete;
    browser& operator=(const browser&) = delete;

    // One DevTools command, to the browser or to the page's session; its
    // `result`. Throws on an error answer or when no answer comes in time.
    boost::json::object command(const std::string& method, boost::json::object params = {}, bool to_page = true);

    // The value of a JavaScript expression in the page (awaited if a promise).
    boost::json::value evaluate(const std::string& expression);

    // Opens `url` and waits until the page that replaces the current one has
    // loaded at a URL starting with `landing` (after any redirects).
    void open(const std::string& url, const std::string& landing);
    // Runs `script` in the page (a click, a form submission) and waits as open() does.
    void act(const std::string& script, const std::string& landing);

    // The current page: its URL, the HTTP status it was served with, its text.
    std::string url();
    int status();
    std::string text();

    // Every cookie in the browser's jar (Storage.getCookies), and one set
    // in it (Network.setCookie's parameters: name, value, url, ...).
    boost::json::array cookies();
    void set_cookie(boost::json::object cookie);

    // The events received so far with this method, oldest first; the
    // browser keeps the last 10000 of all. The Network domain is enabled
    // from the start (favicon requests are blocked: see the constructor).
    std::vector<boost::json::object> events(const std::string& method) const;
    // Reads the events Chromium has sent until now (a round trip with it):
    // for one that may come after the page it is about has loaded.
    void read_pending_events();
    void clear_events() { events_.clear(); }

    std::string log() const { return proc_ ? proc_->log() : std::string(); }

private:
    void write_message(const std::string& text);
    boost::json::object read_message(std::chrono::steady_clock::time_point deadline);
    void wait_for_new_page(const std::string& landing);

    temp_dir profile_;
    int socket_ = -1;  // our end of the socketpair that is the child's fds 3 and 4
    std::unique_ptr<process> proc_;
    std::string buffer_;
    std::deque<boost::json::object> events_;
    std::int64_t next_id_ = 1;
    std::string session_;  // the page's flattened session
};

// base64(SHA-256(SubjectPublicKeyInfo)) of a PEM certificate, as Chromium's
// --ignore-certificate-errors-spki-list wants it (made with the openssl CLI).
std::string spki_sha256_base64(const std::string& cert_path);

}  // namespace sessiond::test
