#include "common/ip_network.hpp"

#include "common/text.hpp"

#include <stdexcept>
#include <string>

namespace sessiond {

namespace ip = boost::asio::ip;

ip::address unmapped(const ip::address& a) noexcept {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

ip_network parse_network(std::string_view text) {
    text = trim(text);
    boost::system::error_code ec;
    if (text.find('/') == std::string_view::npos) {
        const auto a = ip::make_address(text, ec);
        if (!ec && a.is_v4()) return ip::network_v4(a.to_v4(), 32);
        if (!ec) return ip::network_v6(a.to_v6(), 128);
    } else if (text.find(':') == std::string_view::npos) {
        const auto n = ip::make_network_v4(text, ec);
        if (!ec && n.network() == n.address()) return n;
    } else {
        const auto n = ip::make_network_v6(text, ec);
        if (!ec && n.network() == n.address()) return n;
    }
    throw std::invalid_argument("'" + std::string(text) +
                                "' is not an address or a network such as 10.0.0.0/8 or 2001:db8::/32 (with the "
                                "host bits zero)");
}

std::vector<ip_network> parse_networks(std::string_view text) {
    std::vector<ip_network> out;
    if (trim(text).empty()) return out;
    for (;;) {
        const auto comma = text.find(',');
        out.push_back(parse_network(text.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

bool contains(const ip_network& n, const ip::address& address) noexcept {
    const ip::address a = unmapped(address);
    if (const auto* v4 = std::get_if<ip::network_v4>(&n))
        return a.is_v4() && (a.to_v4().to_uint() & v4->netmask().to_uint()) == v4->network().to_uint();
    const auto& v6 = std::get<ip::network_v6>(n);
    return a.is_v6() && ip::network_v6(a.to_v6(), v6.prefix_length()).network() == v6.network();
}

}  // namespace sessiond
