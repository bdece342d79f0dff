#pragma once
// Test TLS material made with the openssl CLI (a CA, a server certificate for
// 127.0.0.1 and localhost, a client certificate, and an unrelated CA), and a
// redis-server listening with TLS only.

#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sessiond::test {

struct test_pki {
    temp_dir dir;
    std::string ca_cert;
    std::string server_cert;
    std::string server_key;
    std::string client_cert;
    std::string client_key;
    std::string other_ca_cert;  // trusts nothing the server presents
};

// Throws std::runtime_error (with openssl's output) on failure.
std::unique_ptr<test_pki> make_test_pki();

// One more certificate signed by pki's CA (or `other_ca` for one signed by
// the unrelated CA): its files are `<name>.crt` and `<name>.key` in pki.dir.
// `ext` is an openssl extension file's text (subjectAltName=..., ...).
struct issued_certificate {
    std::string cert;
    std::string key;
};
issued_certificate issue_certificate(const test_pki& pki, const std::string& name, const std::string& cn,
                                     const std::string& ext, bool other_ca = false);

class redis_tls_server {
public:
    // require_client_cert: --tls-auth-clients yes (client certificates signed by
    // pki.ca_cert), otherwise no.
    redis_tls_server(const test_pki& pki, bool require_client_cert, std::vector<std::string> extra_args = {});
    ~redis_tls_server();
    unsigned short port() const { return port_; }
    std::string url() const { return "rediss://127.0.0.1:" + std::to_string(port_); }

private:
    unsigned short port_ = 0;
    temp_dir dir_;
    std::unique_ptr<process> proc_;
};

}  // namespace sessiond::test
