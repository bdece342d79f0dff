#include "redis/tls.hpp"

#include <stdexcept>
#include <system_error>

#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"

namespace sessiond::redis {

namespace ssl = boost::asio::ssl;

namespace {

// A PEM file through the bounded reader (a regular file of at most 4 MiB),
// wiped when it goes: OpenSSL's own file readers would hang on a FIFO and
// grow without end on /dev/zero.
struct pem_file {
    std::string text;
    pem_file(const char* what, const std::string& path) {
        auto content = read_secret_file(path, list_file_max_bytes);
        if (!content) throw std::system_error(content.error(), std::string("Redis TLS: ") + what + " '" + path + "'");
        text = std::move(*content);
    }
    pem_file(const pem_file&) = delete;
    pem_file& operator=(const pem_file&) = delete;
    ~pem_file() { secure_wipe(text); }
    boost::asio::const_buffer buffer() const { return boost::asio::buffer(text); }
};

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const config& cfg) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    auto check = [&](const char* what, const std::string& file) {
        if (ec) throw std::system_error(ec, std::string("Redis TLS: ") + what + " '" + file + "'");
    };
    if (!cfg.tls_ca_file.empty()) {
        ctx->add_certificate_authority(pem_file("cannot load CA file", cfg.tls_ca_file).buffer(), ec);
        check("cannot load CA file", cfg.tls_ca_file);
    } else {
        ctx->set_default_verify_paths(ec);
        check("cannot load the default trust store", "");
    }
    if (cfg.tls_cert_file.empty() != cfg.tls_key_file.empty())
        throw std::invalid_argument("Redis TLS: client certificate and key go together");
    if (!cfg.tls_cert_file.empty()) {
        ctx->use_certificate_chain(pem_file("cannot load client certificate", cfg.tls_cert_file).buffer(), ec);
        check("cannot load client certificate", cfg.tls_cert_file);
        ctx->use_private_key(pem_file("cannot load client key", cfg.tls_key_file).buffer(), ssl::context::pem, ec);
        check("cannot load client key", cfg.tls_key_file);
    }
    ctx->set_verify_mode(cfg.tls_verify ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

}  // namespace sessiond::redis
