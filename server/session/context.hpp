#pragma once
// What a session carries besides its lifetime and secrets: the device it
// was opened on (what "where you're signed in" shows), how strongly its
// user authenticated (step-up), the tenant it belongs to (signing a tenant
// out) and the identity provider's own session (OIDC back-channel logout).
// Each field's bound is stated here once: the API refuses a value that
// breaks it (400) or, for what a browser sent, cleans it (clean_user_agent),
// and the record codec refuses a stored value that breaks it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond::session {

inline constexpr std::size_t max_user_agent_size = 512;
inline constexpr std::size_t max_label_size = 128;
inline constexpr std::size_t max_address_size = 64;  // an IPv6 literal and a /prefix fit with room
inline constexpr std::size_t max_tenant_size = 64;
inline constexpr std::size_t max_amr_values = 8;
inline constexpr std::size_t max_amr_size = 32;
inline constexpr std::uint8_t max_aal = 3;
inline constexpr std::size_t max_provider_size = 64;
inline constexpr std::size_t max_provider_sid_size = 255;

// The device a session was opened on and last used from.
struct device_context {
    std::string user_agent;       // as the browser sent it, cleaned (clean_user_agent)
    std::string label;            // given by the caller ("Firefox on Linux")
    std::string created_address;  // where it was opened, as kept by the address privacy setting
    std::string last_address;     // where it was last seen (written with a touch); empty = not known

    bool empty() const noexcept {
        return user_agent.empty() && label.empty() && created_address.empty() && last_address.empty();
    }
    friend bool operator==(const device_context&, const device_context&) = default;
};

// How the user authenticated, in OpenID Connect's terms.
struct assurance {
    std::uint8_t aal = 0;          // authenticator assurance level 1..max_aal (NIST SP 800-63B); 0 = not stated
    std::vector<std::string> amr;  // methods (RFC 8176: pwd, otp, hwk, mfa, ...), at most max_amr_values

    bool empty() const noexcept { return aal == 0 && amr.empty(); }
    friend bool operator==(const assurance&, const assurance&) = default;
};

// The identity provider's session this one was opened under: a logout
// token naming `sid` for that provider ends it.
struct provider_session {
    std::string provider;  // a configured provider's name
    std::string sid;       // the provider's session id (the ID token's `sid`)

    bool empty() const noexcept { return provider.empty(); }
    friend bool operator==(const provider_session&, const provider_session&) = default;
};

// Valid UTF-8: no overlong form, no surrogate, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) noexcept;

// Text a person reads on a "where you're signed in" page (a label): 1..max
// bytes of valid UTF-8 without C0, DEL or C1 controls.
bool valid_display_text(std::string_view text, std::size_t max) noexcept;

// A User-Agent as sent, made safe to keep and show: invalid UTF-8 and
// control characters each become '?', and the text is cut to
// max_user_agent_size bytes at a character boundary.
std::string clean_user_agent(std::string_view user_agent);

// An amr value, a tenant or a provider name: 1..max bytes of ASCII letters,
// digits, '-', '_', '.' and ':'.
bool valid_name(std::string_view name, std::size_t max) noexcept;

// A provider's sid: 1..max_provider_sid_size visible ASCII characters.
bool valid_provider_sid(std::string_view sid) noexcept;

// Whether `a` (with its methods) meets a requirement of at least `aal`.
inline bool meets(const assurance& a, std::uint8_t aal) noexcept {
    return a.aal >= aal;
}

}  // namespace sessiond::session
