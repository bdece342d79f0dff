#pragma once
// A tiny HTTP upstream in the test process: it answers every request 200
// "upstream" (or what a responder says) and records what it got, so a test
// behind a proxy can see the headers that reached the application.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sessiond::test {

struct recorded_request {
    std::string method;
    std::string target;
    std::multimap<std::string, std::string> headers;  // names lower-cased
    std::string body;

    // The first value of a header, or "" (see has()).
    std::string header(const std::string& lower) const {
        auto it = headers.find(lower);
        return it == headers.end() ? std::string() : it->second;
    }
    bool has(const std::string& lower) const { return headers.count(lower) != 0; }
};

class header_recorder {
public:
    // The whole HTTP response to a request (sent with the connection closed after it).
    using responder = std::function<std::string(const recorded_request&)>;

    header_recorder();  // listens on a free loopback port at once
    explicit header_recorder(responder respond);
    ~header_recorder();
    header_recorder(const header_recorder&) = delete;
    header_recorder& operator=(const header_recorder&) = delete;

    unsigned short port() const { return port_; }
    std::vector<recorded_request> requests() const;
    void clear();

private:
    void serve();
    responder respond_;
    int listener_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<recorded_request> requests_;
    std::thread thread_;
};

}  // namespace sessiond::test
