#include "support/lying_redis.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace sessiond::test {

namespace {

// Whole commands at the front of `in` ("*N\r\n" then N bulk strings): the
// first two arguments of each (upper case), removed from `in`.
std::vector<std::vector<std::string>> take_commands(std::string& in) {
    std::vector<std::vector<std::string>> names;
    for (;;) {
        std::size_t at = 0;
        auto line = [&](std::size_t& pos) -> std::optional<std::string> {
            auto end = in.find("\r\n", pos);
            if (end == std::string::npos) return std::nullopt;
            auto s = in.substr(pos, end - pos);
            pos = end + 2;
            return s;
        };
        auto head = line(at);
        if (!head || head->empty() || (*head)[0] != '*') return names;
        const int n = std::stoi(head->substr(1));
        std::vector<std::string> words;
        for (int i = 0; i < n; ++i) {
            auto len = line(at);
            if (!len) return names;
            const auto size = static_cast<std::size_t>(std::stoul(len->substr(1)));
            if (in.size() < at + size + 2) return names;
            if (i < 2) {
                words.push_back(in.substr(at, size));
                std::transform(words.back().begin(), words.back().end(), words.back().begin(),
                               [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            }
            at += size + 2;
        }
        in.erase(0, at);
        names.push_back(std::move(words));
    }
}

}  // namespace

lying_redis::lying_redis(std::string verb, std::string lie, std::string truth)
    : verb_(std::move(verb)), lie_(std::move(lie)), truth_(std::move(truth)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("lying_redis: cannot listen on a loopback port");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

lying_redis::lying_redis() : lying_redis("", "") {
    scripted_ = true;
}

void lying_redis::answer(const std::string& command, std::string reply) {
    std::lock_guard lock(answers_mutex_);
    answers_[command] = std::move(reply);
}

std::string lying_redis::reply_to(const std::vector<std::string>& words) {
    const std::string verb = words.empty() ? std::string() : words[0];
    if (!scripted_) return verb != verb_ ? "+OK\r\n" : lied_++ == 0 ? lie_ : truth_;
    std::lock_guard lock(answers_mutex_);
    if (words.size() > 1)
        if (auto it = answers_.find(verb + " " + words[1]); it != answers_.end()) return it->second;
    if (auto it = answers_.find(verb); it != answers_.end()) return it->second;
    return "+OK\r\n";
}

lying_redis::~lying_redis() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
}

void lying_redis::serve() {
    while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++connections_;
        std::string in;
        char buf[4096];
        while (!stop_) {
            pollfd q{c, POLLIN, 0};
            if (::poll(&q, 1, 50) <= 0) continue;
            const ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            in.append(buf, static_cast<std::size_t>(n));
            std::string out;
            for (const auto& words : take_commands(in))
                out += reply_to(words);
            if (!out.empty() && ::write(c, out.data(), out.size()) < 0) break;
        }
        ::close(c);
    }
}

}  // namespace sessiond::test
