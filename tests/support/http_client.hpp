#pragma once
// A deliberately plain HTTP/1.1 client over a blocking socket, so tests can
// send exactly the bytes they mean (pipelined, partial, slow, malformed).

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace sessiond::test {

struct http_response {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
    bool has_header(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
};

class http_connection {
public:
    // From `source`, another loopback address, when given (see connect_loopback).
    explicit http_connection(unsigned short port, const std::string& source = {});
    ~http_connection();
    http_connection(const http_connection&) = delete;
    http_connection& operator=(const http_connection&) = delete;

    // Sends bytes as given; false if the peer has closed.
    bool send(const std::string& bytes);
    // Reads one response (Content-Length framed; without a body, whatever
    // its Content-Length, when `to_head`: the answer to HEAD); nullopt on
    // close or timeout.
    std::optional<http_response> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                               bool to_head = false);
    // True if the server closes the connection within `timeout` (EOF or reset).
    bool wait_closed(std::chrono::milliseconds timeout);
    // Bytes received but not yet read as a response.
    const std::string& unread() const { return buffer_; }

    // Sends one request and reads its response.
    std::optional<http_response> request(const std::string& method, const std::string& target,
                                         const std::string& body = "",
                                         const std::map<std::string, std::string>& headers = {});

private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    int fd_ = -1;
    std::string buffer_;
};

// Builds the bytes of a request; Content-Length is added when there is a body.
std::string format_request(const std::string& method, const std::string& target, const std::string& body = "",
                           const std::map<std::string, std::string>& headers = {});

}  // namespace sessiond::test
