#include "api/client_address.hpp"

#include <boost/range/iterator_range.hpp>

#include <algorithm>
#include <stdexcept>

namespace sessiond::api {

namespace ip = boost::asio::ip;

namespace {

// An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4
// client) as the IPv4 address it is.
ip::address unmapped(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

network parse_network(std::string_view text) {
    text = trimmed(text);
    boost::system::error_code ec;
    if (text.find('/') == std::string_view::npos) {
        const auto a = ip::make_address(text, ec);
        if (ec) throw std::invalid_argument("'" + std::string(text) + "' is not an IP address or network");
        if (a.is_v4()) return ip::network_v4(a.to_v4(), 32);
        return ip::network_v6(a.to_v6(), 128);
    }
    if (text.find(':') == std::string_view::npos) {
        auto n = ip::make_network_v4(text, ec);
        if (!ec && n.network() == n.address()) return n;
    } else {
        auto n = ip::make_network_v6(text, ec);
        if (!ec && n.network() == n.address()) return n;
    }
    throw std::invalid_argument("'" + std::string(text) +
                                "' is not a network such as 10.0.0.0/8 or 2001:db8::/32 (host bits must be zero)");
}

bool contains(const network& n, const ip::address& address) noexcept {
    const ip::address a = unmapped(address);
    if (const auto* v4 = std::get_if<ip::network_v4>(&n)) {
        if (!a.is_v4()) return false;
        const auto mask = v4->netmask().to_uint();
        return (a.to_v4().to_uint() & mask) == v4->network().to_uint();
    }
    const auto& v6 = std::get<ip::network_v6>(n);
    if (!a.is_v6()) return false;
    return ip::network_v6(a.to_v6(), v6.prefix_length()).network() == v6.network();
}

std::optional<ip::address> forwarded_client(const http::request_context& ctx, const client_address_policy& policy) {
    if (ctx.remote == nullptr || policy.trusted_proxies.empty()) return std::nullopt;
    const ip::address& peer = *ctx.remote;
    if (std::none_of(policy.trusted_proxies.begin(), policy.trusted_proxies.end(),
                     [&](const network& n) { return contains(n, peer); }))
        return std::nullopt;
    // The last field line, and its last entry: what the trusted proxy
    // appended. Whatever came before is the client's own say.
    std::string_view last;
    for (const auto& f : boost::make_iterator_range(ctx.req.equal_range("X-Forwarded-For"))) last = f.value();
    if (last.empty() || last.size() > 4096) return std::nullopt;
    auto entry = trimmed(last.substr(last.rfind(',') == std::string_view::npos ? 0 : last.rfind(',') + 1));
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    boost::system::error_code ec;
    const auto a = ip::make_address(entry, ec);
    if (ec) return std::nullopt;
    return unmapped(a);
}

std::string kept_address(const ip::address& address, address_privacy privacy) {
    const ip::address a = unmapped(address);
    switch (privacy) {
        case address_privacy::full:
            return a.to_string();
        case address_privacy::truncated:
            if (a.is_v4()) return ip::network_v4(a.to_v4(), 24).canonical().to_string();
            return ip::network_v6(a.to_v6(), 48).canonical().to_string();
        case address_privacy::none:
            break;
    }
    return {};
}

std::string opening_address(const http::request_context& ctx, const client_address_policy& policy) {
    if (auto forwarded = forwarded_client(ctx, policy)) return kept_address(*forwarded, policy.privacy);
    if (ctx.remote == nullptr) return {};
    return kept_address(*ctx.remote, policy.privacy);
}

std::string seen_address(const http::request_context& ctx, const client_address_policy& policy) {
    auto forwarded = forwarded_client(ctx, policy);
    return forwarded ? kept_address(*forwarded, policy.privacy) : std::string();
}

}  // namespace sessiond::api
