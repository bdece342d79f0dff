#include "redis/tls.hpp"

#include <stdexcept>
#include <system_error>

namespace sessiond::redis {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const config& cfg) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    auto check = [&](const char* what, const std::string& file) {
        if (ec) throw std::system_error(ec, std::string("Redis TLS: ") + what + " '" + file + "'");
    };
    if (!cfg.tls_ca_file.empty()) {
        ctx->load_verify_file(cfg.tls_ca_file, ec);
        check("cannot load CA file", cfg.tls_ca_file);
    } else {
        ctx->set_default_verify_paths(ec);
        check("cannot load the default trust store", "");
    }
    if (cfg.tls_cert_file.empty() != cfg.tls_key_file.empty())
        throw std::invalid_argument("Redis TLS: client certificate and key go together");
    if (!cfg.tls_cert_file.empty()) {
        ctx->use_certificate_chain_file(cfg.tls_cert_file, ec);
        check("cannot load client certificate", cfg.tls_cert_file);
        ctx->use_private_key_file(cfg.tls_key_file, ssl::context::pem, ec);
        check("cannot load client key", cfg.tls_key_file);
    }
    ctx->set_verify_mode(cfg.tls_verify ? ssl::verify_peer : ssl::verify_none);
    return ctx;
}

}  // namespace sessiond::redis
