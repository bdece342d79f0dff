#pragma once
// The session context a create or rotate body may carry (session/context.hpp):
//   "device": {"user_agent": "...", "label": "..."}   (create)
//   "aal": 1..3, "amr": ["pwd", "otp", ...]           (create; rotate with reauthenticated)
//   "tenant": "acme"                                   (create)
//   "provider": {"name": "...", "sid": "..."}          (create)
// Each reader answers 400 naming the field and returns nullopt for a value
// that breaks its bound. The client address is never the caller's to say:
// it comes from the connection (client_address.hpp).

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "http/types.hpp"
#include "session/context.hpp"

namespace sessiond::api {

struct session_context {
    session::device_context device;
    session::assurance auth;
    std::string tenant;
    session::provider_session provider;
};

// The body fields a create reads here.
inline constexpr std::string_view context_fields[] = {"device", "aal", "amr", "tenant", "provider"};

std::optional<session_context> read_session_context(http::request_context& ctx, const boost::json::object& body);

// The bytes of what the caller gave (user agent, label, methods, tenant,
// provider and sid), which the per-session size limit counts with the
// metadata. Addresses are not the caller's to give and have their own bound.
std::size_t given_size(const session_context& c) noexcept;

// "aal" and "amr" of a rotate body: an empty optional when neither is there.
std::optional<std::optional<session::assurance>> read_assurance(http::request_context& ctx,
                                                                const boost::json::object& body);

}  // namespace sessiond::api
