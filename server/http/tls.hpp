#pragma once
// The HTTPS listener's TLS settings, loaded from files and replaced whole on
// reload: connections take the context current when they are accepted and
// keep it, so a reload never touches an open connection, and a new
// certificate that does not load leaves the old one in use.

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace sessiond::http {

enum class client_auth { none, optional, require };

struct tls_settings {
    std::string cert_file;            // PEM: the certificate, then its chain
    std::string key_file;             // PEM private key
    std::string min_version = "1.2";  // "1.2" or "1.3"
    // mTLS: the CA that signs callers' certificates, and whether a client
    // certificate is asked for (optional) or required.
    std::string client_ca_file;
    client_auth client_auth_mode = client_auth::none;
};

// What a loaded certificate says (for the log and the metrics).
struct certificate_info {
    std::string subject;
    std::chrono::system_clock::time_point not_after{};
};

class tls_provider {
public:
    // Loads the files; throws std::runtime_error saying which file and why.
    explicit tls_provider(tls_settings settings);

    // The context new connections use (any thread).
    std::shared_ptr<boost::asio::ssl::context> current() const;
    certificate_info certificate() const;
    const tls_settings& settings() const noexcept { return settings_; }

    // A context loaded from the files, not yet in use.
    struct loaded {
        std::shared_ptr<boost::asio::ssl::context> context;
        certificate_info info;
    };

    // Loads the files again (blocking file I/O: not on an I/O thread) and
    // returns the context they make, changing nothing; throws
    // std::runtime_error. A reload loads first, checks everything else,
    // and only then uses what it loaded.
    loaded load() const;
    // From now on new connections use `next`. Returns its certificate.
    certificate_info use(loaded next) noexcept;

    // load(), then use(): the new certificate, or throws and keeps the old.
    certificate_info reload();

private:
    tls_settings settings_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> context_;  // guarded by mutex_
    certificate_info info_;                               // guarded by mutex_
};

// A context from `s`: TLS 1.2 or 1.3 at least, ALPN http/1.1, the server's
// cipher preference, no session tickets state shared beyond the context.
// Throws std::runtime_error.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const tls_settings& s, certificate_info* info = nullptr);

}  // namespace sessiond::http
