#include "support/https_client.hpp"

#include <boost/asio/connect.hpp>
#include <optional>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sessiond::test {

namespace asio = boost::asio;
namespace beast = boost::beast;

struct https_connection::impl {
    asio::io_context ioc;
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream;  // made once ctx is set up
    beast::flat_buffer buffer;
};

namespace {

int version_of(const std::string& v) {
    return v == "1.3" ? TLS1_3_VERSION : v == "1.1" ? TLS1_1_VERSION : TLS1_2_VERSION;
}

}  // namespace

https_connection::https_connection(unsigned short port, const tls_client_options& o) : impl_(std::make_unique<impl>()) {
    SSL_CTX* ctx = impl_->ctx.native_handle();
    SSL_CTX_set_min_proto_version(ctx, version_of(o.min_version));
    SSL_CTX_set_max_proto_version(ctx, version_of(o.max_version));
    impl_->ctx.set_verify_mode(asio::ssl::verify_peer);
    impl_->ctx.load_verify_file(o.ca_file);
    if (!o.cert_file.empty()) {
        impl_->ctx.use_certificate_chain_file(o.cert_file);
        impl_->ctx.use_private_key_file(o.key_file, asio::ssl::context::pem);
    }
    impl_->stream.emplace(impl_->ioc, impl_->ctx);
    if (!o.alpn.empty()) {
        std::string wire(1, static_cast<char>(o.alpn.size()));
        wire += o.alpn;
        SSL_set_alpn_protos(impl_->stream->native_handle(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    }
    impl_->stream->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    beast::error_code ec;
    impl_->stream->next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) throw std::runtime_error("connect: " + ec.message());
    impl_->stream->handshake(asio::ssl::stream_base::client, ec);
    if (ec) throw std::runtime_error("TLS handshake: " + ec.message());
}

https_connection::~https_connection() {
    beast::error_code ignored;
    impl_->stream->next_layer().close(ignored);
}

std::string https_connection::protocol() const {
    return SSL_get_version(impl_->stream->native_handle());
}

std::string https_connection::alpn() const {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(impl_->stream->native_handle(), &data, &len);
    return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

std::string https_connection::server_subject() const {
    X509* cert = SSL_get1_peer_certificate(impl_->stream->native_handle());
    if (!cert) return {};
    char name[512];
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    X509_free(cert);
    return name;
}

std::optional<http_response> https_connection::request(const std::string& method, const std::string& target,
                                                       const std::string& body,
                                                       const std::map<std::string, std::string>& headers) {
    beast::http::request<beast::http::string_body> req(beast::http::string_to_verb(method), target, 11);
    req.set(beast::http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers)
        req.set(name, value);
    if (!body.empty()) {
        req.set(beast::http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    beast::error_code ec;
    beast::http::write(*impl_->stream, req, ec);
    if (ec) return std::nullopt;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(*impl_->stream, impl_->buffer, res, ec);
    if (ec) return std::nullopt;
    http_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& ch : name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    return out;
}

}  // namespace sessiond::test
