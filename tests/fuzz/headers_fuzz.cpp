// Header parsing outside Beast: the session token a request presents
// (Authorization: Bearer, else the cookie), header_safe for values sessiond
// echoes, X-Request-Id validation, and the api-keys entries with the
// X-API-Key lookup; and the original request a proxy describes to /v1/auth
// (X-Forwarded-*, X-Original-*), with the redirect's host check and escaping.
//
// Input lines: the cookie name, the Authorization value, then Cookie header
// values (one field each). The request is built as text and parsed by Beast,
// so only header values a connection can deliver reach token_from_request.

#include <boost/asio/buffer.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "api/callers.hpp"
#include "api/forwarded.hpp"
#include "api/headers.hpp"
#include "http/exchange.hpp"
#include "http/request_id.hpp"

using namespace sessiond;

namespace {

std::vector<std::string_view> lines(std::string_view s) {
    std::vector<std::string_view> out;
    for (;;) {
        auto nl = s.find('\n');
        out.push_back(s.substr(0, nl));
        if (nl == std::string_view::npos) return out;
        s.remove_prefix(nl + 1);
    }
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    std::abort();  // header_safe writes upper-case digits only
}

void check_header_safe(std::string_view in) {
    auto out = api::header_safe(in);
    std::string back;
    for (std::size_t i = 0; i < out.size(); ++i) {
        auto c = static_cast<unsigned char>(out[i]);
        if (c <= 0x20 || c >= 0x7f) std::abort();
        if (c != '%') {
            back += out[i];
            continue;
        }
        if (i + 2 >= out.size()) std::abort();
        back += static_cast<char>(hex(out[i + 1]) * 16 + hex(out[i + 2]));
        i += 2;
    }
    if (back != in) std::abort();
}

void check_request_id(std::string_view id) {
    // 1..128 printable ASCII characters, as proto/openapi.yaml allows.
    bool ok = !id.empty() && id.size() <= http::max_request_id_length &&
              std::all_of(id.begin(), id.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    if (http::valid_request_id(id) != ok) std::abort();
}

void check_token_from_request(const std::vector<std::string_view>& in) {
    std::string text = "GET /v1/auth HTTP/1.1\r\nHost: x\r\n";
    if (in.size() > 1 && !in[1].empty()) text.append("Authorization: ").append(in[1]).append("\r\n");
    for (std::size_t i = 2; i < in.size(); ++i)
        text.append("Cookie: ").append(in[i]).append("\r\n");
    text += "\r\n";
    http::request_parser parser;
    http::apply_limits(parser, http_config{});
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(text), ec);
    if (ec || !parser.is_done()) return;
    const http::request& req = parser.get();
    std::string_view cookie_name = in[0].empty() ? std::string_view("__Host-sid") : in[0];
    auto token = api::token_from_request(req, cookie_name);
    if (token.empty()) return;
    // A view into one of the request's header values.
    bool inside = false;
    for (const auto& f : req) {
        auto v = f.value();
        if (token.data() >= v.data() && token.data() + token.size() <= v.data() + v.size()) inside = true;
    }
    if (!inside) std::abort();
}

// Lines 1..6 as X-Forwarded-Method, -Proto, -Host, -Uri, X-Original-URL and
// the path below /v1/auth: whatever they hold, a known original URL is
// http(s)://host/uri of visible ASCII, with no userinfo and no second host,
// and its escaped form is unreserved characters and %XX only.
void check_original_request(const std::vector<std::string_view>& in) {
    static const char* names[] = {"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri",
                                  "X-Original-URL"};
    std::string text = "GET /v1/auth HTTP/1.1\r\nHost: x\r\n";
    for (std::size_t i = 0; i < 5 && i + 1 < in.size(); ++i)
        text.append(names[i]).append(": ").append(in[i + 1]).append("\r\n");
    text += "\r\n";
    http::request_parser parser;
    http::apply_limits(parser, http_config{});
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(text), ec);
    if (ec || !parser.is_done()) return;
    auto below = in.size() > 6 && in[6].starts_with('/') ? in[6] : std::string_view();
    auto o = api::original_of(parser.get(), below);
    auto url = o.url();
    if (url.empty()) return;
    for (unsigned char c : url)
        if (c <= 0x20 || c >= 0x7f) std::abort();
    if (!url.starts_with(o.scheme + "://" + o.host + "/")) std::abort();
    if (o.host.find_first_of("@/,?#") != std::string::npos || o.uri.starts_with("//")) std::abort();
    // The host is one an RFC 3986 parser takes as it is: labels, IP literals, a port of 1..65535.
    if (api::checked_host(o.host) != o.host) std::abort();
    if (api::host_allowed(o.host, {"x.example"}) && api::host_name(o.host) != "x.example") std::abort();
    for (char c : api::query_escape(url))
        if (!(std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view("-._~%").find(c) != std::string_view::npos))
            std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto in = lines(input);
    check_header_safe(input);
    for (auto line : in)
        check_request_id(line);
    check_token_from_request(in);
    check_original_request(in);
    try {
        auto keys = api::callers::parse(input);
        for (auto line : in)
            (void)keys.authenticate(line);
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
