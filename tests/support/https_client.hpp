#pragma once
// A blocking HTTPS client for the tests of sessiond's TLS listener: one TLS
// connection (verified against a test CA), with a chosen protocol version,
// an optional client certificate, and requests sent over it one at a time.

#include <optional>
#include <stdexcept>
#include <string>
#include <map>
#include <memory>

#include "support/http_client.hpp"

namespace sessiond::test {

struct tls_client_options {
    std::string ca_file;    // verifies the server (its certificate names 127.0.0.1)
    std::string cert_file;  // client certificate (mTLS); empty = none
    std::string key_file;
    std::string min_version = "1.2";  // "1.2" or "1.3"
    std::string max_version = "1.3";
    std::string alpn = "http/1.1";  // offered; empty = none
};

class https_connection {
public:
    // Connects to 127.0.0.1:port and completes the handshake; throws
    // std::runtime_error with OpenSSL's reason when it fails.
    https_connection(unsigned short port, const tls_client_options& options);
    ~https_connection();
    https_connection(const https_connection&) = delete;
    https_connection& operator=(const https_connection&) = delete;

    std::string protocol() const;        // "TLSv1.2", "TLSv1.3"
    std::string alpn() const;            // what the server chose, "" if nothing
    std::string server_subject() const;  // the server certificate's subject, one line
    // One request on this connection; nullopt if the connection failed.
    std::optional<http_response> request(const std::string& method, const std::string& target,
                                         const std::string& body = "",
                                         const std::map<std::string, std::string>& headers = {});

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sessiond::test
