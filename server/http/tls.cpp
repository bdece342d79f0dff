#include "http/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include <cstring>
#include <stdexcept>

namespace sessiond::http {

namespace asio = boost::asio;

namespace {

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown error";
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    return text;
}

// ALPN: HTTP/1.1 only (a client offering h2 alone gets no ALPN answer and
// may go on with HTTP/1.1, or give up, as it prefers).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void*) {
    static const unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

certificate_info describe(SSL_CTX* ctx) {
    certificate_info info;
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) return info;
    char name[512];
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    info.subject = name;
    struct tm t {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1)
        info.not_after = std::chrono::system_clock::from_time_t(timegm(&t));
    return info;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_server_context(const tls_settings& s, certificate_info* info) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    ERR_clear_error();
    const int min = s.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(native, min);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_use_certificate_chain_file(native, s.cert_file.c_str()) != 1)
        throw std::runtime_error("tls-cert-file '" + s.cert_file + "': " + openssl_error());
    if (SSL_CTX_use_PrivateKey_file(native, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        throw std::runtime_error("tls-key-file '" + s.key_file + "'" +
                                 (mismatch ? " does not match tls-cert-file: " : ": ") + openssl_error());
    }
    if (SSL_CTX_check_private_key(native) != 1)
        throw std::runtime_error("tls-key-file '" + s.key_file + "' does not match tls-cert-file: " + openssl_error());
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    if (s.client_auth_mode != client_auth::none) {
        if (s.client_ca_file.empty()) throw std::runtime_error("tls-client-auth needs tls-client-ca-file");
        if (SSL_CTX_load_verify_locations(native, s.client_ca_file.c_str(), nullptr) != 1)
            throw std::runtime_error("tls-client-ca-file '" + s.client_ca_file + "': " + openssl_error());
        // The CAs named to clients: those of the file.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca_file.c_str());
        if (!names) throw std::runtime_error("tls-client-ca-file '" + s.client_ca_file + "': no certificate in it");
        SSL_CTX_set_client_CA_list(native, names);
        int mode = SSL_VERIFY_PEER;
        if (s.client_auth_mode == client_auth::require) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(native, mode, nullptr);
        SSL_CTX_set_verify_depth(native, 4);
        // Session resumption across contexts would skip the client check.
        static const unsigned char sid_context[] = "sessiond";
        SSL_CTX_set_session_id_context(native, sid_context, sizeof sid_context - 1);
    }
    if (info) *info = describe(native);
    return ctx;
}

tls_provider::tls_provider(tls_settings settings) : settings_(std::move(settings)) {
    context_ = make_server_context(settings_, &info_);
}

std::shared_ptr<asio::ssl::context> tls_provider::current() const {
    std::lock_guard lock(mutex_);
    return context_;
}

certificate_info tls_provider::certificate() const {
    std::lock_guard lock(mutex_);
    return info_;
}

certificate_info tls_provider::reload() {
    certificate_info info;
    auto next = make_server_context(settings_, &info);  // throws: the old one stays
    std::lock_guard lock(mutex_);
    context_ = std::move(next);
    info_ = info;
    return info;
}

}  // namespace sessiond::http
