#pragma once
// A server that speaks RESP and lies, for the tests of what sessiond does
// with replies no real Redis sends. One connection at a time.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sessiond::test {

// Answers every command with +OK, except the first command named `verb`
// (GET, EVALSHA, ...) that it receives, which gets `lie`; later ones get
// `truth`. Serves one connection at a time, each until the peer closes it.
class lying_redis {
public:
    lying_redis(std::string verb, std::string lie, std::string truth = "$2\r\nok\r\n");
    // Answers each command by its first two words ("CLUSTER SLOTS"), else by
    // its first ("GET"), from `answers` (set with answer(), any time), else +OK.
    lying_redis();
    void answer(const std::string& command, std::string reply);
    ~lying_redis();
    lying_redis(const lying_redis&) = delete;
    lying_redis& operator=(const lying_redis&) = delete;

    unsigned short port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    int connections() const { return connections_; }

private:
    void serve();

    std::string reply_to(const std::vector<std::string>& words);

    std::string verb_, lie_, truth_;
    bool scripted_ = false;
    std::mutex answers_mutex_;
    std::map<std::string, std::string> answers_;  // guarded by answers_mutex_
    int fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    int lied_ = 0;
    std::thread thread_;
};

}  // namespace sessiond::test
