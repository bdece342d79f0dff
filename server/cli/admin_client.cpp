#include "cli/admin_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <optional>
#include <utility>
#include <variant>

#include "common/secret_file.hpp"

namespace sessiond::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// A reply larger than this is not one sessiond sends (a page holds at most
// 1000 sessions of at most a few KiB each).
constexpr std::uint64_t max_body = 64ULL * 1024 * 1024;

std::string seconds_text(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

// host:port as the Host header and messages write it.
std::string authority(const api_endpoint& e) {
    std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    return host + ":" + e.port;
}

// The client context: peers verified against the system's trust store or the
// given CA file; TLS 1.2 at least, as the server requires.
ssl::context make_context(const client_settings& s) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (s.ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
    } else {
        // Bounded: a FIFO or /dev/zero named by mistake fails at once.
        auto pem = read_secret_file(s.ca_file, list_file_max_bytes);
        if (!pem) throw usage_error("--ca-file " + s.ca_file + ": " + pem.error().message());
        ctx.add_certificate_authority(asio::buffer(*pem), ec);
    }
    if (ec) {
        // A CA file we cannot read is the operator's mistake, not the server's.
        if (!s.ca_file.empty()) throw usage_error("--ca-file " + s.ca_file + ": " + ec.message());
        throw unreachable_error("cannot load the system's trusted certificates: " + ec.message());
    }
    return ctx;
}

template <class Stream>
asio::awaitable<api_response> send_and_read(Stream& stream, const client_settings& s, http::verb verb,
                                            std::string_view target, std::string_view json_body,
                                            clock_type::time_point deadline) {
    const auto& e = s.endpoint;
    http::request<http::string_body> req{verb, e.base_path + std::string(target), 11};
    req.set(http::field::host, authority(e));
    req.set(http::field::user_agent, "sessiond-admin");
    req.set(http::field::accept, "application/json, application/problem+json");
    req.set(http::field::connection, "close");
    if (!s.api_key.empty()) req.set(s.api_key_header, s.api_key.view());
    if (!json_body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = std::string(json_body);
        req.prepare_payload();
    }

    auto timed_out = [&](const boost::system::error_code& ec) {
        return ec == beast::error::timeout || clock_type::now() >= deadline;
    };
    auto [wec, written] = co_await http::async_write(stream, req, tuple_awaitable);
    (void)written;
    if (wec) {
        if (timed_out(wec))
            throw unreachable_error("no reply from " + authority(e) + " within " + seconds_text(s.timeout));
        throw unreachable_error("sending the request to " + authority(e) + " failed: " + wec.message());
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    auto [rec, read] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    (void)read;
    if (rec) {
        if (timed_out(rec))
            throw unreachable_error("no reply from " + authority(e) + " within " + seconds_text(s.timeout));
        if (rec == http::error::end_of_stream || rec == asio::error::eof || rec == asio::error::connection_reset)
            throw unreachable_error(authority(e) + " closed the connection without a reply");
        throw unreachable_error("reading the reply from " + authority(e) + " failed: " + rec.message());
    }
    auto res = parser.release();
    api_response out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    co_return out;
}

asio::awaitable<api_response> exchange(const client_settings& s, http::verb verb, std::string target,
                                       std::string json_body, ssl::context* ctx, clock_type::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    const auto& e = s.endpoint;
    auto ex = co_await asio::this_coro::executor;

    // The resolver has no deadline of its own: it races a timer.
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, deadline);
    auto resolved =
        co_await (resolver.async_resolve(e.host, e.port, tuple_awaitable) || timer.async_wait(tuple_awaitable));
    if (resolved.index() == 1)
        throw unreachable_error("resolving " + e.host + " took longer than " + seconds_text(s.timeout));
    auto [rec, endpoints] = std::get<0>(std::move(resolved));
    if (rec) throw unreachable_error("cannot resolve " + e.host + ": " + rec.message());

    beast::tcp_stream tcp_stream(ex);
    auto connect_by = std::min(deadline, clock_type::now() + s.connect_timeout);
    tcp_stream.expires_at(connect_by);
    auto [cec, peer] = co_await tcp_stream.async_connect(endpoints, tuple_awaitable);
    (void)peer;
    if (cec == beast::error::timeout)
        throw unreachable_error("connecting to " + authority(e) + " timed out after " +
                                seconds_text(std::min(s.connect_timeout, s.timeout)));
    if (cec) throw unreachable_error("cannot connect to " + authority(e) + ": " + cec.message());
    // From here on, one deadline for the whole exchange.
    tcp_stream.expires_at(deadline);

    if (!ctx) co_return co_await send_and_read(tcp_stream, s, verb, target, json_body, deadline);

    beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), *ctx);
    beast::get_lowest_layer(tls).expires_at(deadline);
    SSL* handle = tls.native_handle();
    // The certificate must name the host of the URL: a DNS name (also sent
    // as SNI) or an IP address.
    if (is_ip_literal(e.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), e.host.c_str());
    } else {
        SSL_set_tlsext_host_name(handle, e.host.c_str());
        SSL_set1_host(handle, e.host.c_str());
    }
    auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, tuple_awaitable);
    if (hec) {
        if (hec == beast::error::timeout) throw unreachable_error("TLS handshake with " + authority(e) + " timed out");
        std::string why = hec.message();
        if (long v = SSL_get_verify_result(handle); v != X509_V_OK) why = X509_verify_cert_error_string(v);
        throw unreachable_error("TLS handshake with " + authority(e) + " failed: " + why);
    }
    co_return co_await send_and_read(tls, s, verb, target, json_body, deadline);
}

}  // namespace

api_endpoint parse_endpoint(std::string_view url) {
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) throw usage_error("the URL '" + std::string(url) + "' is not valid (e.g. http://127.0.0.1:8080)");
    auto u = *parsed;
    std::string scheme(u.scheme());
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    api_endpoint e;
    if (scheme == "https")
        e.tls = true;
    else if (scheme != "http")
        throw usage_error("the URL '" + std::string(url) + "' must start with http:// or https://");
    if (!u.has_authority() || u.encoded_host().empty())
        throw usage_error("the URL '" + std::string(url) + "' has no host");
    if (u.has_userinfo() || u.has_query() || u.has_fragment())
        throw usage_error("the URL '" + std::string(url) + "' must not hold user info, a query or a fragment");
    e.host = u.host_type() == boost::urls::host_type::ipv6 ? u.host_ipv6_address().to_string() : std::string(u.host());
    if (u.has_port()) {
        auto p = u.port();
        unsigned value = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
        if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535)
            throw usage_error("the URL '" + std::string(url) + "' has an invalid port");
        e.port = std::to_string(value);
    } else {
        e.port = e.tls ? "443" : "80";
    }
    std::string path(u.encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    e.base_path = path;
    return e;
}

api_response call_api(const client_settings& settings, std::string_view method, std::string_view target,
                      std::string_view json_body) {
    auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) throw std::invalid_argument("call_api: unknown method");
    auto deadline = clock_type::now() + settings.timeout;
    std::optional<ssl::context> ctx;
    if (settings.endpoint.tls) ctx.emplace(make_context(settings));

    asio::io_context ioc(1);
    std::optional<api_response> reply;
    std::exception_ptr failure;
    asio::co_spawn(
        ioc, exchange(settings, verb, std::string(target), std::string(json_body), ctx ? &*ctx : nullptr, deadline),
        [&](std::exception_ptr e, api_response r) {
            failure = std::move(e);
            if (!failure) reply = std::move(r);
        });
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    if (!reply) throw unreachable_error("no reply from " + authority(settings.endpoint));
    return std::move(*reply);
}

}  // namespace sessiond::cli
