#include "http/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <optional>
#include <stdexcept>

namespace sessiond::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

std::shared_ptr<asio::ssl::context> make_client_tls(const std::string& ca_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (ca_file.empty())
        ctx->set_default_verify_paths(ec);
    else
        ctx->load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("cannot load the CA certificates: " + ec.message());
    return ctx;
}

// One exchange's sockets and deadline, shared with the deadline's handler
// and cancel(), which close them (on the executor's thread).
struct client::exchange {
    explicit exchange(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    std::function<void()> close;  // closes the stream in use
    bool timed_out = false;
    bool cancelled = false;
    void abort() {
        resolver.cancel();
        if (close) close();
    }
};

client::client(asio::any_io_executor ex, settings s, std::shared_ptr<asio::ssl::context> tls)
    : ex_(std::move(ex)), settings_(std::move(s)), tls_(std::move(tls)) {
    auto parsed = boost::urls::parse_absolute_uri(settings_.url);
    if (!parsed) throw std::invalid_argument("not an absolute URL");
    const auto& u = *parsed;
    if (u.scheme() == "https")
        https_ = true;
    else if (u.scheme() != "http")
        throw std::invalid_argument("not an http:// or https:// URL");
    if (https_ && !tls_) throw std::invalid_argument("an https:// URL needs a TLS context");
    if (u.has_userinfo() || u.has_fragment()) throw std::invalid_argument("a URL with credentials or a fragment");
    host_ = std::string(u.encoded_host());
    if (host_.starts_with('[') && host_.ends_with(']')) host_ = host_.substr(1, host_.size() - 2);
    if (host_.empty()) throw std::invalid_argument("a URL without a host");
    port_ = u.has_port() ? std::string(u.port()) : (https_ ? "443" : "80");
    target_ = std::string(u.encoded_path());
    if (target_.empty()) target_ = "/";
    if (u.has_query()) target_ += "?" + std::string(u.encoded_query());
    host_header_ = std::string(u.encoded_host());
    if (u.has_port()) host_header_ += ":" + port_;
}

client::~client() {
    cancel();
}

void client::cancel() noexcept {
    if (auto x = current_.lock()) {
        x->cancelled = true;
        x->timer.cancel();
        x->abort();
    }
}

template <class Stream>
asio::awaitable<client_outcome> client::run(std::shared_ptr<exchange> x, Stream& stream, std::string body,
                                            std::vector<std::pair<std::string, std::string>> headers) {
    client_outcome out;
    auto fail = [&](boost::system::error_code ec) {
        out.error = x->timed_out ? boost::system::error_code(asio::error::timed_out) : ec;
        return out;
    };
    auto [rec, endpoints] = co_await x->resolver.async_resolve(host_, port_, use_tuple);
    if (rec || x->timed_out || x->cancelled) co_return fail(rec ? rec : asio::error::operation_aborted);
    auto& socket = beast::get_lowest_layer(stream);
    auto [cec, connected] = co_await socket.async_connect(endpoints, use_tuple);
    if (cec) co_return fail(cec);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        boost::system::error_code not_address;
        static_cast<void>(asio::ip::make_address(host_, not_address));
        // SNI for a name (never for an address, RFC 6066); the name or
        // address checked against the certificate's.
        if (not_address && !SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str()))
            co_return fail(asio::error::invalid_argument);
        stream.set_verify_callback(asio::ssl::host_name_verification(host_));
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
        if (hec) co_return fail(hec);
    }
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target_, 11};
    req.set(bhttp::field::host, host_header_);
    req.set(bhttp::field::user_agent, settings_.user_agent);
    for (auto& [name, value] : headers)
        req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    req.keep_alive(false);
    auto [wec, written] = co_await bhttp::async_write(stream, req, use_tuple);
    if (wec) co_return fail(wec);
    beast::flat_buffer buffer(16 * 1024);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(settings_.max_response_bytes);
    auto [ree, read] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (parser.is_header_done()) out.status = parser.get().result_int();
    if (ree && !(out.status != 0 && ree == bhttp::error::body_limit)) co_return fail(ree);
    out.body = std::move(parser.get().body());
    co_return out;
}

asio::awaitable<client_outcome> client::post(std::string body,
                                             std::vector<std::pair<std::string, std::string>> headers) {
    auto x = std::make_shared<exchange>(ex_);
    current_ = x;
    x->timer.expires_after(settings_.timeout);
    x->timer.async_wait([w = std::weak_ptr<exchange>(x)](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto x = w.lock()) {
            x->timed_out = true;
            x->abort();
        }
    });
    client_outcome out;
    if (https_) {
        auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(ex_, *tls_);
        x->close = [stream] { beast::get_lowest_layer(*stream).close(); };
        out = co_await run(x, *stream, std::move(body), std::move(headers));
        beast::get_lowest_layer(*stream).close();
    } else {
        auto stream = std::make_shared<beast::tcp_stream>(ex_);
        x->close = [stream] { stream->close(); };
        out = co_await run(x, *stream, std::move(body), std::move(headers));
        stream->close();
    }
    x->timer.cancel();
    x->close = nullptr;
    co_return out;
}

}  // namespace sessiond::http
