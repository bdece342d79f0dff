#include "support/header_recorder.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace sessiond::test {

namespace {

// Reads one request's head and its Content-Length body; false on a
// connection that closes or stalls first.
bool read_request(int fd, std::string& head, std::string& body) {
    std::string buffer;
    char chunk[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::size_t end = std::string::npos;
    std::size_t length = 0;
    while (true) {
        if (end == std::string::npos && (end = buffer.find("\r\n\r\n")) != std::string::npos) {
            head = buffer.substr(0, end);
            std::string lower = head;
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
            if (auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos)
                length = std::stoul(lower.substr(cl + 17));
        }
        if (end != std::string::npos && buffer.size() >= end + 4 + length) {
            body = buffer.substr(end + 4, length);
            return true;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
}

recorded_request parse_head(const std::string& head) {
    recorded_request r;
    auto line_end = head.find("\r\n");
    auto request_line = head.substr(0, line_end);
    auto sp1 = request_line.find(' ');
    auto sp2 = request_line.find(' ', sp1 + 1);
    r.method = request_line.substr(0, sp1);
    r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        auto e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        auto line = head.substr(pos, e - pos);
        if (auto colon = line.find(':'); colon != std::string::npos) {
            auto name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            r.headers.emplace(name, value);
        }
        pos = e + 2;
    }
    return r;
}

}  // namespace

header_recorder::header_recorder()
    : header_recorder([](const recorded_request&) {
          return std::string(
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream");
      }) {}

header_recorder::header_recorder(responder respond) : respond_(std::move(respond)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(listener_);
        throw std::runtime_error("the recording upstream could not listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

header_recorder::~header_recorder() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
}

std::vector<recorded_request> header_recorder::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void header_recorder::clear() {
    std::lock_guard lock(mutex_);
    requests_.clear();
}

void header_recorder::serve() {
    while (!stopping_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) continue;
        // One request per connection, answered with Connection: close.
        std::string head, body;
        if (read_request(fd, head, body)) {
            auto request = parse_head(head);
            request.body = std::move(body);
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(request);
            }
            const std::string answer = respond_(request);
            (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        ::close(fd);
    }
}

}  // namespace sessiond::test
