#pragma once
// Callers and what they may do. Config holds only SHA-256 hashes of API keys;
// a presented key is hashed and compared with every configured hash in
// constant time, so neither the key nor which entry matched leaks by timing.
// A set of callers is immutable once parsed and carries a generation, a
// number no other parsed set has: share it as shared_callers
// (std::shared_ptr<const callers>), which a reload can swap whole, and no
// cached authentication survives the swap.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/types.hpp"

namespace sessiond::api {

enum scope : std::uint8_t {
    scope_read = 1 << 0,    // sessions:read
    scope_write = 1 << 1,   // sessions:write
    scope_admin = 1 << 2,   // sessions:admin
    scope_auth = 1 << 3,    // auth
    scope_mint = 1 << 4,    // assertions:mint
    scope_redeem = 1 << 5,  // assertions:redeem
    scope_self = 1 << 6,    // sessions:self
    scope_events = 1 << 7,  // events:read
    scope_all =
        scope_read | scope_write | scope_admin | scope_auth | scope_mint | scope_redeem | scope_self | scope_events,
};

// "sessions:read" -> scope_read; nullopt for an unknown name.
std::optional<scope> parse_scope(std::string_view name);
std::string_view scope_name(scope s);

struct caller {
    std::string name;  // for audit logs; never the key
    std::uint8_t scopes = 0;
    // The audiences a caller bound by "assertions:mint:<audience>" or
    // "assertions:redeem:<audience>" scopes may mint or redeem for; empty =
    // unbound: every audience of assertion-audiences.
    std::vector<std::string> mint_audiences;
    std::vector<std::string> redeem_audiences;

    bool may_mint_for(std::string_view audience) const { return allows(mint_audiences, audience); }
    bool may_redeem_for(std::string_view audience) const { return allows(redeem_audiences, audience); }

    static bool allows(const std::vector<std::string>& audiences, std::string_view audience) {
        return audiences.empty() || std::find(audiences.begin(), audiences.end(), audience) != audiences.end();
    }
};

class callers {
public:
    // Entries "name=sha256hex:scope[,scope...]" separated by ';' or newlines;
    // '#' starts a comment. "assertions:mint:<audience>" and
    // "assertions:redeem:<audience>" grant the scope for that audience only
    // (several may be given; not together with the unbound scope). Throws
    // std::invalid_argument naming the entry.
    static callers parse(std::string_view spec);

    // Development mode without keys: every request is a caller with all scopes.
    static callers allow_all();

    // mTLS callers, added to the set: entries "name kind:value scope[,scope...]"
    // separated by ';' or newlines, where kind is uri (a URI subject
    // alternative name, such as a SPIFFE id), dns (a DNS subject alternative
    // name) or cn (the subject's common name); the value has no blank.
    // Throws std::invalid_argument naming the entry.
    void add_tls_callers(std::string_view spec);

    bool empty() const { return entries_.empty() && tls_entries_.empty() && !allow_all_; }
    std::size_t tls_callers() const { return tls_entries_.size(); }
    std::size_t size() const { return entries_.size(); }
    // Different for every set parse() or allow_all() made; a copy keeps it
    // (same entries). 0 for a default-constructed, empty set.
    std::uint64_t generation() const { return generation_; }

    // The names of the callers (API keys and certificates) with the scope
    // assertions:redeem for every audience, for the warning at start.
    std::vector<std::string> unbound_redeemers() const;

    // The caller presenting `key`, or nullptr.
    const caller* authenticate(std::string_view key) const;
    // The caller a verified client certificate names (its URI SANs, then
    // DNS SANs, then CN, against the tls callers), or nullptr.
    const caller* identify(const http::peer_certificate& peer) const;

    // For tests: the bytes of this thread's cache of recent keys (what a
    // memory dump would find there), and forgetting it.
    static std::string recent_keys_for_testing();
    static void clear_recent_keys();

private:
    struct entry {
        std::array<std::uint8_t, 32> hash;
        caller who;
    };
    std::vector<entry> entries_;
    enum class name_kind : std::uint8_t { uri, dns, cn };
    struct tls_entry {
        name_kind kind;
        std::string value;
        caller who;
    };
    std::vector<tls_entry> tls_entries_;
    bool allow_all_ = false;
    std::uint64_t generation_ = 0;
    caller development_{"development", scope_all, {}, {}};
};

// The callers in use; replaced whole, never changed in place.
using shared_callers = std::shared_ptr<const callers>;

// A new random API key ("sk_" + 43 base64url chars) and its config entry.
struct generated_key {
    std::string key;
    std::string entry;  // name=sha256hex:scopes
};
generated_key generate_key(std::string_view name, std::string_view scopes);

}  // namespace sessiond::api
