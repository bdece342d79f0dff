#pragma once
// What the session routes and forward auth are configured with: the
// operator's choices of names, limits and redirects (app/ fills it from the
// configuration).

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "api/client_address.hpp"
#include "api/forwarded.hpp"
#include "config/config.hpp"

namespace sessiond::api {

struct api_settings {
    std::size_t metadata_max_bytes = 4096;
    cookie_config cookie;
    std::string api_key_header = "X-API-Key";
    std::string user_header = "X-Session-User";
    std::string id_header = "X-Session-Id";
    // /v1/auth: (metadata field, header) pairs sent on success.
    std::vector<std::pair<std::string, std::string>> metadata_headers;
    // /v1/auth: browser redirects (see auth_config); empty login_url = none.
    std::string login_url;
    std::vector<std::string> redirect_hosts;
    std::string redirect_param = "rd";
    // /v1/auth: where the original request is read from, most trusted first.
    std::vector<header_family> original_headers = {header_family::x_original, header_family::x_forwarded};
    // Which client addresses sessions keep, and which proxies may name them.
    client_address_policy client_addresses;
};

}  // namespace sessiond::api
