#include "support/sse_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "support/process.hpp"

namespace sessiond::test {

sse_stream::sse_stream(unsigned short port, const std::string& target,
                       const std::map<std::string, std::string>& headers, int receive_buffer) {
    if (receive_buffer > 0) {
        // Set before the connection, so that the window it offers and the
        // segments it takes are small from the start (the server's send
        // buffer grows with the segment size: loopback's are 64 KB).
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket failed");
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        int segment = 536;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    } else {
        fd_ = connect_loopback(port);
    }
    if (fd_ < 0) throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto request = format_request("GET", target, "", headers);
    for (std::size_t off = 0; off < request.size();) {
        const auto n = ::send(fd_, request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("send failed");
        off += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos)
        if (!receive(deadline)) return;
    const std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    head_.status = std::stoi(head.substr(9, 3));
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos && pos + 2 < head.size();) {
        const auto e = std::min(head.find("\r\n", pos + 2), head.size());
        const std::string line = head.substr(pos + 2, e - pos - 2);
        if (const auto colon = line.find(':'); colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            head_.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        }
        pos = e == head.size() ? std::string::npos : e;
    }
    chunked_ = head_.header("transfer-encoding") == "chunked";
    if (head_.status != 200) {
        // A problem: its body, by Content-Length.
        const auto length = head_.has_header("content-length") ? std::stoul(head_.header("content-length")) : 0;
        while (raw_.size() < length)
            if (!receive(deadline)) break;
        head_.body = raw_.substr(0, length);
        ended_ = true;
    }
}

sse_stream::~sse_stream() {
    if (fd_ >= 0) ::close(fd_);
}

bool sse_stream::receive(std::chrono::steady_clock::time_point deadline) {
    if (ended_ && head_.status != 0) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[16384];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
        ended_ = true;
        return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    if (head_.status != 0) decode();
    return true;
}

void sse_stream::decode() {
    if (!chunked_) {
        body_ += raw_;
        raw_.clear();
        return;
    }
    while (!last_chunk_) {
        const auto line = raw_.find("\r\n");
        if (line == std::string::npos) return;
        const auto size = std::stoul(raw_.substr(0, line), nullptr, 16);
        if (size == 0) {
            last_chunk_ = true;
            ended_ = true;
            raw_.clear();
            return;
        }
        if (raw_.size() < line + 2 + size + 2) return;
        body_.append(raw_, line + 2, size);
        raw_.erase(0, line + 2 + size + 2);
    }
}

bool sse_stream::parse_one() {
    const auto end = body_.find("\n\n");
    if (end == std::string::npos) return false;
    const std::string block = body_.substr(0, end);
    body_.erase(0, end + 2);
    sse_event e;
    bool is_event = false;
    for (std::size_t pos = 0; pos <= block.size();) {
        auto e_line = block.find('\n', pos);
        if (e_line == std::string::npos) e_line = block.size();
        const std::string line = block.substr(pos, e_line - pos);
        pos = e_line + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
            comments_.push_back(line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1));
            continue;
        }
        const auto colon = line.find(':');
        const std::string name = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        is_event = true;
        if (name == "id") e.id = value;
        if (name == "event") e.type = value;
        if (name == "data") e.data += value;
    }
    if (is_event) events_.push_back(std::move(e));
    return true;
}

std::optional<sse_event> sse_stream::next(std::chrono::milliseconds timeout) {
    read_until([&] { return !events_.empty(); }, timeout);
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.erase(events_.begin());
    return e;
}

std::vector<sse_event> sse_stream::take(std::size_t n, std::chrono::milliseconds timeout) {
    read_until([&] { return events_.size() >= n; }, timeout);
    std::vector<sse_event> out;
    const auto k = std::min(n, events_.size());
    out.assign(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.begin() + k));
    events_.erase(events_.begin(), events_.begin() + k);
    return out;
}

bool sse_stream::wait_ended(std::chrono::milliseconds timeout) {
    const bool ended = read_until([&] { return ended_; }, timeout);
    while (parse_one()) {
    }
    return ended;
}

}  // namespace sessiond::test
