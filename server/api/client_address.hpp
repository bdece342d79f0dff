#pragma once
// Where a request comes from, for a session's device context: the
// connection's peer, or, when that peer is a proxy trusted to say so, the
// last address it appended to X-Forwarded-For. What is kept of it follows
// the operator's privacy setting.

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/ip_network.hpp"
#include "config/config.hpp"
#include "http/types.hpp"

namespace sessiond::api {

struct client_address_policy {
    address_privacy privacy = address_privacy::truncated;
    // The peers whose X-Forwarded-For is believed (trusted-proxies); empty =
    // none, and the header is never read.
    std::vector<ip_network> trusted_proxies;
};

// The client the trusted proxy at the other end of the connection names:
// the last X-Forwarded-For entry (the one that proxy appended), if the peer
// is trusted and the entry is an IP address; else nullopt.
std::optional<boost::asio::ip::address> forwarded_client(const http::request_context& ctx,
                                                         const client_address_policy& policy);

// What a session keeps of `a`: the address, its network ("203.0.113.0/24")
// or nothing (empty), by `privacy`.
std::string kept_address(const boost::asio::ip::address& a, address_privacy privacy);

// The address to keep for a session being opened: the forwarded client,
// else the peer itself.
std::string opening_address(const http::request_context& ctx, const client_address_policy& policy);

// The address to keep as where a session was last seen: the forwarded
// client only (a service validating a token is not where the user is), or
// empty when it is not known.
std::string seen_address(const http::request_context& ctx, const client_address_policy& policy);

}  // namespace sessiond::api
