#include "http/tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"

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

struct bio_free {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct pkey_free {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

// A PEM file read whole with the bounded reader (a regular file of at most
// 4 MiB: a FIFO or /dev/zero cannot hang or grow the process, as OpenSSL's
// own file readers would let them), wiped when it goes (a key file).
struct pem_file {
    std::string text;
    pem_file(const char* option, const std::string& path) {
        auto content = read_secret_file(path, list_file_max_bytes);
        if (!content) throw std::runtime_error(file_error_text(option, path, content.error(), list_file_max_bytes));
        text = std::move(*content);
    }
    pem_file(const pem_file&) = delete;
    pem_file& operator=(const pem_file&) = delete;
    ~pem_file() { secure_wipe(text); }
    bio_ptr bio() const {
        bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
        if (!b) throw std::runtime_error("out of memory");
        return b;
    }
};

// The end of a PEM sequence: OpenSSL says "no start line" when no further
// object follows, which is not an error there.
bool clean_pem_end() {
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return true;
    }
    return false;
}

// An encrypted key fails to load instead of prompting on a terminal.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

// The certificate, then its chain (as SSL_CTX_use_certificate_chain_file).
bool use_certificate_chain(SSL_CTX* native, const pem_file& file) {
    auto bio = file.bio();
    x509_ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
    if (!leaf || SSL_CTX_use_certificate(native, leaf.get()) != 1) return false;
    if (SSL_CTX_clear_chain_certs(native) != 1) return false;
    while (x509_ptr ca{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
        if (SSL_CTX_add0_chain_cert(native, ca.get()) != 1) return false;
        (void)ca.release();  // the context owns it now
    }
    return clean_pem_end();
}

bool use_private_key(SSL_CTX* native, const pem_file& file) {
    auto bio = file.bio();
    std::unique_ptr<EVP_PKEY, pkey_free> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    return key && SSL_CTX_use_PrivateKey(native, key.get()) == 1;
}

// The CAs that verify clients, and their names sent to clients.
bool use_client_cas(SSL_CTX* native, const pem_file& file) {
    auto bio = file.bio();
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    if (!names) return false;
    int count = 0;
    while (x509_ptr ca{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
        X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()));
        if (X509_STORE_add_cert(store, ca.get()) != 1 || !name || sk_X509_NAME_push(names, name) == 0) {
            X509_NAME_free(name);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            return false;
        }
        ++count;
    }
    if (count == 0 || !clean_pem_end()) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        return false;
    }
    SSL_CTX_set_client_CA_list(native, names);
    return true;
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
    if (!use_certificate_chain(native, pem_file("tls-cert-file", s.cert_file)))
        throw std::runtime_error("tls-cert-file '" + s.cert_file + "': " + openssl_error());
    if (!use_private_key(native, pem_file("tls-key-file", s.key_file))) {
        const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        throw std::runtime_error("tls-key-file '" + s.key_file + "'" +
                                 (mismatch ? " does not match tls-cert-file: " : ": ") + openssl_error());
    }
    if (SSL_CTX_check_private_key(native) != 1)
        throw std::runtime_error("tls-key-file '" + s.key_file + "' does not match tls-cert-file: " + openssl_error());
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    if (s.client_auth_mode != client_auth::none) {
        if (s.client_ca_file.empty()) throw std::runtime_error("tls-client-auth needs tls-client-ca-file");
        // The CAs that verify clients, and the names sent to them: those of the file.
        if (!use_client_cas(native, pem_file("tls-client-ca-file", s.client_ca_file)))
            throw std::runtime_error("tls-client-ca-file '" + s.client_ca_file + "': no certificate in it, or " +
                                     openssl_error());
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

tls_provider::loaded tls_provider::load() const {
    loaded out;
    out.context = make_server_context(settings_, &out.info);
    return out;
}

certificate_info tls_provider::use(loaded next) noexcept {
    std::lock_guard lock(mutex_);
    context_ = std::move(next.context);
    info_ = std::move(next.info);
    return info_;
}

certificate_info tls_provider::reload() {
    return use(load());  // load() throws: the old one stays
}

}  // namespace sessiond::http
