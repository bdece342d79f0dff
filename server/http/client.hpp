#pragma once
// An outbound HTTP(S) client for one URL (the webhooks' sender): a POST on
// a fresh connection, with one deadline for the resolve, connect, TLS
// handshake, request and response together, and a bound on the response
// it reads. HTTPS always verifies the certificate chain (with the given CA
// file, else the system's) and the host name (or IP address), and sends
// SNI for a name. Redirects are not followed: a 3xx is an answer like any
// other non-2xx.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sessiond::http {

// How an exchange ended: the response's status (0 without one) and why not.
struct client_outcome {
    unsigned status = 0;
    boost::system::error_code error;  // the first failure; timed_out is boost::asio::error::timed_out
    std::string body;                 // up to the bound
};

// A TLS client context: peer verification on, TLS 1.2 at least, the CAs of
// `ca_file` (PEM) or else the system's. Throws std::runtime_error saying why
// it cannot be made.
std::shared_ptr<boost::asio::ssl::context> make_client_tls(const std::string& ca_file);

class client {
public:
    struct settings {
        std::string url;                            // http:// or https://
        std::chrono::milliseconds timeout{10'000};  // the whole exchange
        std::size_t max_response_bytes = 64 * 1024;
        std::string user_agent = "sessiond";
    };
    // `tls` is required for an https:// URL. Throws std::invalid_argument
    // for a URL that is not http(s)://host[:port][/path][?query].
    client(boost::asio::any_io_executor ex, settings s, std::shared_ptr<boost::asio::ssl::context> tls);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // POSTs `body` with `headers` (Host, User-Agent, Content-Length are set here).
    boost::asio::awaitable<client_outcome> post(std::string body,
                                                std::vector<std::pair<std::string, std::string>> headers);
    // Ends the exchange in progress, if any (it returns operation_aborted).
    void cancel() noexcept;

    const std::string& host() const noexcept { return host_; }

private:
    struct exchange;
    template <class Stream>
    boost::asio::awaitable<client_outcome> run(std::shared_ptr<exchange> x, Stream& stream, std::string body,
                                               std::vector<std::pair<std::string, std::string>> headers);

    boost::asio::any_io_executor ex_;
    settings settings_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    bool https_ = false;
    std::string host_;    // name or address, without brackets
    std::string port_;    // digits
    std::string target_;  // path and query, "/" at least
    std::string host_header_;
    std::weak_ptr<exchange> current_;
};

}  // namespace sessiond::http
