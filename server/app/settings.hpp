#pragma once
// Config → component settings: what run() needs that config validation
// alone cannot tell (the keys and callers, the Redis client's settings, the
// session policy, the certificate, the signed assertions, the API's
// names and redirects). A value a component refuses is a config_error
// "invalid value for '<option>': <why>".

#include <memory>
#include <optional>
#include <string_view>

#include "api/settings.hpp"
#include "app/security.hpp"
#include "app/webhooks.hpp"
#include "config/config.hpp"
#include "http/tls.hpp"
#include "redis/config.hpp"
#include "service/assertions.hpp"
#include "service/oidc_providers.hpp"
#include "session/rules.hpp"
#include "session/token_codec.hpp"
#include "store/session_store.hpp"

namespace sessiond::app {

// Everything run() needs that config validation alone cannot tell.
struct startup {
    security sec;
    session::policy policy;
    std::optional<session::token_codec> codec;
    std::optional<redis::config> redis_cfg;
    std::shared_ptr<http::tls_provider> tls;                      // HTTPS: the certificate, loaded
    std::shared_ptr<const service::assertion_signer> assertions;  // null: off
    std::shared_ptr<const service::oidc_providers> oidc;          // null: back-channel logout off
    std::shared_ptr<webhook_setup> webhooks;                      // null: no webhooks
};

// The stores' session events as configured; the instance is named by
// instance-name, else by the host's name.
store::event_settings event_settings_of(const config& cfg);

// Fills `out`; throws config_error naming the first problem.
void prepare_checked(const config& cfg, startup& out);

// Fills `out`; prints the first problem and returns false.
bool prepare(const config& cfg, startup& out);

// The session routes' and forward auth's settings.
api::api_settings api_settings_of(const config& cfg);

// The error for a value of `option` that its component refuses.
config_error invalid_value(std::string_view option, std::string_view why);

}  // namespace sessiond::app
