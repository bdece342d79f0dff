#pragma once
// The identity providers whose OpenID Connect back-channel logout tokens
// sessiond accepts (oidc-providers): each one's name (in the logout URL and
// in a session's provider), issuer, client id, allowed algorithms and
// public keys (its JWKS file, read at start and again on SIGHUP). Immutable
// once made; a reload replaces it whole.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "service/jwks.hpp"

namespace sessiond::service {

struct oidc_provider {
    std::string name;       // [A-Za-z0-9._:-], as session::valid_name
    std::string issuer;     // the logout token's iss, exactly
    std::string client_id;  // an aud of the logout token
    std::vector<jws_alg> algs;
    std::shared_ptr<const jwk_set> keys;
};

struct oidc_providers {
    std::vector<oidc_provider> providers;
    // A logout token's iat may be this old at most.
    std::chrono::seconds max_age{300};

    const oidc_provider* find(std::string_view name) const noexcept {
        for (const auto& p : providers)
            if (p.name == name) return &p;
        return nullptr;
    }
};

}  // namespace sessiond::service
