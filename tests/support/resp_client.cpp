#include "support/resp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "support/process.hpp"

namespace sessiond::test {

resp_client::resp_client(unsigned short port) {
    fd_ = connect_loopback(port);
    if (fd_ < 0) throw std::runtime_error("resp_client: connect failed");
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

resp_client::~resp_client() {
    ::close(fd_);
}

char resp_client::get() {
    if (pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) throw std::runtime_error("resp_client: connection closed");
        buf_.assign(tmp, static_cast<std::size_t>(n));
    }
    return buf_[pos_++];
}

std::string resp_client::line() {
    std::string s;
    for (;;) {
        char c = get();
        if (c == '\r') {
            get();  // '\n'
            return s;
        }
        s += c;
    }
}

resp_value resp_client::read() {
    resp_value v;
    char type = get();
    std::string head = line();
    switch (type) {
        case '+':
            v.kind = resp_value::status;
            v.str = head;
            break;
        case '-':
            v.kind = resp_value::error;
            v.str = head;
            break;
        case ':':
            v.kind = resp_value::integer;
            v.num = std::stoll(head);
            break;
        case '$': {
            long long n = std::stoll(head);
            if (n < 0) break;
            v.kind = resp_value::bulk;
            for (long long i = 0; i < n; ++i)
                v.str += get();
            get();
            get();
            break;
        }
        case '*': {
            long long n = std::stoll(head);
            if (n < 0) break;
            v.kind = resp_value::array;
            for (long long i = 0; i < n; ++i)
                v.elements.push_back(read());
            break;
        }
        default:
            throw std::runtime_error("resp_client: bad reply");
    }
    return v;
}

resp_value resp_client::command(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args)
        out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    std::size_t off = 0;
    while (off < out.size()) {
        ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("resp_client: send failed");
        off += static_cast<std::size_t>(n);
    }
    return read();
}

std::vector<std::string> resp_client::keys() {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
        auto r = command({"SCAN", cursor, "COUNT", "1000"});
        cursor = r.elements.at(0).str;
        for (auto& k : r.elements.at(1).elements)
            out.push_back(k.str);
    } while (cursor != "0");
    return out;
}

}  // namespace sessiond::test
