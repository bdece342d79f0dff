#include "api/client_address.hpp"

#include "common/text.hpp"

#include <boost/range/iterator_range.hpp>

#include <algorithm>
#include <stdexcept>

namespace sessiond::api {

namespace ip = boost::asio::ip;

std::optional<ip::address> forwarded_client(const http::request_context& ctx, const client_address_policy& policy) {
    if (ctx.remote == nullptr || policy.trusted_proxies.empty()) return std::nullopt;
    const ip::address& peer = *ctx.remote;
    if (std::none_of(policy.trusted_proxies.begin(), policy.trusted_proxies.end(),
                     [&](const ip_network& n) { return contains(n, peer); }))
        return std::nullopt;
    // The last field line, and its last entry: what the trusted proxy
    // appended. Whatever came before is the client's own say.
    std::string_view last;
    for (const auto& f : boost::make_iterator_range(ctx.req.equal_range("X-Forwarded-For")))
        last = f.value();
    if (last.empty() || last.size() > 4096) return std::nullopt;
    auto entry = trim(last.substr(last.rfind(',') == std::string_view::npos ? 0 : last.rfind(',') + 1));
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
