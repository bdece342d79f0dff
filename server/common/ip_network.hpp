#pragma once
// IP networks written as "10.0.0.0/8", "2001:db8::/32" or a lone address:
// which proxies are trusted to name a client's address (trusted-proxies).

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <string_view>
#include <variant>
#include <vector>

namespace sessiond {

using ip_network = std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6>;

// One network; a lone address is a /32 or /128, and host bits must be zero.
// Throws std::invalid_argument naming what is wrong.
ip_network parse_network(std::string_view text);

// A comma-separated list of networks (empty text: none). Throws
// std::invalid_argument naming the entry that is wrong.
std::vector<ip_network> parse_networks(std::string_view text);

// Whether `a` lies in `n`; an IPv4-mapped IPv6 address (a dual-stack
// listener's view of an IPv4 client) counts as the IPv4 address it is.
bool contains(const ip_network& n, const boost::asio::ip::address& a) noexcept;

// `a` without IPv4 mapping: ::ffff:192.0.2.1 as 192.0.2.1.
boost::asio::ip::address unmapped(const boost::asio::ip::address& a) noexcept;

}  // namespace sessiond
