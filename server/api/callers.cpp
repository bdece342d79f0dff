#include "api/callers.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "common/text.hpp"
#include "session/crypto.hpp"

namespace sessiond::api {

namespace {

constexpr std::pair<std::string_view, scope> scope_names[] = {
    {"sessions:read", scope_read}, {"sessions:write", scope_write}, {"sessions:admin", scope_admin},
    {"auth", scope_auth},          {"assertions:mint", scope_mint}, {"assertions:redeem", scope_redeem},
    {"sessions:self", scope_self}, {"events:read", scope_events},
};

// The scopes of `list` into `who`: names, and "assertions:mint:<audience>" or
// "assertions:redeem:<audience>" for a scope bound to audiences.
void parse_scopes(std::string_view list, const std::string& where, caller& who) {
    std::uint8_t scopes = 0;
    bool unbound_mint = false, unbound_redeem = false;
    while (!list.empty()) {
        auto comma = list.find(',');
        auto name = trim(list.substr(0, comma));
        auto s = parse_scope(name);
        if (s) {
            unbound_mint = unbound_mint || *s == scope_mint;
            unbound_redeem = unbound_redeem || *s == scope_redeem;
        } else {
            for (auto [prefix, bound, audiences] :
                 {std::tuple{std::string_view("assertions:mint:"), scope_mint, &who.mint_audiences},
                  std::tuple{std::string_view("assertions:redeem:"), scope_redeem, &who.redeem_audiences}}) {
                if (!name.starts_with(prefix)) continue;
                auto audience = name.substr(prefix.size());
                if (audience.empty() || audience.size() > 256 ||
                    std::any_of(audience.begin(), audience.end(),
                                [](unsigned char ch) { return ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\'; }))
                    throw std::invalid_argument(where + ": " + std::string(prefix) +
                                                " needs an audience of visible ASCII without '\"' or '\\'");
                audiences->emplace_back(audience);
                s = bound;
            }
        }
        if (!s) {
            // A scope name is echoed to help with a typo; anything else there
            // may be a key pasted in the wrong place.
            const bool shown = !name.empty() && name.size() <= 32 &&
                               name.find_first_not_of("abcdefghijklmnopqrstuvwxyz:_-") == std::string_view::npos;
            throw std::invalid_argument(where + ": unknown scope" +
                                        (shown ? " '" + std::string(name) + "'" : std::string(" (not shown)")));
        }
        scopes |= *s;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    if (!scopes) throw std::invalid_argument(where + ": no scope");
    // Both would leave the binding without effect: say which is meant.
    if ((unbound_mint && !who.mint_audiences.empty()) || (unbound_redeem && !who.redeem_audiences.empty()))
        throw std::invalid_argument(where + ": an assertions scope is given both for any audience and for some");
    who.scopes = scopes;
}

std::uint64_t next_generation() {
    static std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

// Calls each(item, number) for every entry of a list separated by ';' or
// newlines, trimmed, skipping blanks and '#' comments; number counts from 1.
template <class Each>
void for_each_entry(std::string_view spec, Each each) {
    std::size_t index = 0;
    while (!spec.empty()) {
        auto end = spec.find_first_of(";\n");
        auto item = trim(spec.substr(0, end));
        spec.remove_prefix(end == std::string_view::npos ? spec.size() : end + 1);
        if (item.empty() || item.front() == '#') continue;
        each(item, ++index);
    }
}

}  // namespace

void callers::add_tls_callers(std::string_view spec) {
    for_each_entry(spec, [this](std::string_view item, std::size_t index) {
        std::string where = "tls caller entry " + std::to_string(index);
        // name, kind:value, scopes: three fields separated by blanks.
        std::string_view fields[3];
        std::size_t n = 0;
        while (!item.empty() && n < 3) {
            const auto blank = item.find_first_of(" \t");
            fields[n++] = item.substr(0, blank);
            item = blank == std::string_view::npos ? std::string_view{} : trim(item.substr(blank));
        }
        if (n != 3 || !item.empty())
            throw std::invalid_argument(where + ": expected 'name kind:value scope[,scope...]' (kind: uri, dns or cn)");
        where = "tls caller '" + std::string(fields[0]) + "'";
        const auto colon = fields[1].find(':');
        const auto kind = fields[1].substr(0, colon);
        tls_entry e;
        if (kind == "uri")
            e.kind = name_kind::uri;
        else if (kind == "dns")
            e.kind = name_kind::dns;
        else if (kind == "cn")
            e.kind = name_kind::cn;
        else
            throw std::invalid_argument(where + ": the name must start with uri:, dns: or cn:");
        if (colon == std::string_view::npos || colon + 1 == fields[1].size())
            throw std::invalid_argument(where + ": empty " + std::string(kind) + " name");
        e.value = std::string(fields[1].substr(colon + 1));
        e.who.name = std::string(fields[0]);
        parse_scopes(fields[2], where, e.who);
        tls_entries_.push_back(std::move(e));
    });
    generation_ = next_generation();
}

const caller* callers::identify(const http::peer_certificate& peer) const {
    auto find = [&](name_kind kind, std::string_view value) -> const caller* {
        for (const auto& e : tls_entries_)
            if (e.kind == kind && e.value == value) return &e.who;
        return nullptr;
    };
    for (const auto& uri : peer.uris)
        if (auto* who = find(name_kind::uri, uri)) return who;
    for (const auto& dns : peer.dns)
        if (auto* who = find(name_kind::dns, dns)) return who;
    if (!peer.common_name.empty()) return find(name_kind::cn, peer.common_name);
    return nullptr;
}

std::optional<scope> parse_scope(std::string_view name) {
    for (auto [n, s] : scope_names)
        if (n == name) return s;
    return std::nullopt;
}

std::string_view scope_name(scope s) {
    for (auto [n, v] : scope_names)
        if (v == s) return n;
    return "?";
}

callers callers::parse(std::string_view spec) {
    callers out;
    out.generation_ = next_generation();
    for_each_entry(spec, [&out](std::string_view item, std::size_t index) {
        std::string where = "api key entry " + std::to_string(index);
        auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw std::invalid_argument(where + ": expected name=sha256hex:scope[,scope...]");
        std::string name(trim(item.substr(0, eq)));
        where = "api key '" + name + "'";
        auto rest = trim(item.substr(eq + 1));
        if (rest.size() < 66 || rest[64] != ':')
            throw std::invalid_argument(where + ": expected 64 hex digits of SHA-256, then ':' and scopes");
        entry e;
        for (std::size_t i = 0; i < 32; ++i) {
            int hi = hex_value(rest[2 * i]), lo = hex_value(rest[2 * i + 1]);
            if (hi < 0 || lo < 0) throw std::invalid_argument(where + ": the hash is not hexadecimal");
            e.hash[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        e.who.name = name;
        parse_scopes(rest.substr(65), where, e.who);
        for (const auto& other : out.entries_) {
            if (other.who.name == name) throw std::invalid_argument(where + ": the name is used twice");
            if (other.hash == e.hash) throw std::invalid_argument(where + ": the same key hash is listed twice");
        }
        out.entries_.push_back(std::move(e));
    });
    return out;
}

std::vector<std::string> callers::unbound_redeemers() const {
    std::vector<std::string> out;
    auto check = [&out](const caller& who) {
        if ((who.scopes & scope_redeem) && who.redeem_audiences.empty()) out.push_back(who.name);
    };
    for (const auto& e : entries_)
        check(e.who);
    for (const auto& e : tls_entries_)
        check(e.who);
    return out;
}

callers callers::allow_all() {
    callers out;
    out.allow_all_ = true;
    out.generation_ = next_generation();
    return out;
}

namespace {

// The last keys that authenticated on this thread, so that a caller sending
// the same key on every request (the usual case) is found among a few
// entries rather than all of them. An entry holds the SHA-256 of the key
// (computed for every request anyway: about 0.1 µs), never the key, and the
// generation of the set that accepted it: a set swapped for another, even one
// at the same address, never answers from an entry of the old one. Only
// keys that matched are kept, so a stranger cannot fill it with guesses.
struct recent_key {
    std::uint64_t generation = 0;  // 0 = empty
    session::sha256_digest digest{};
    std::uint32_t index = 0;  // into entries_
};
static_assert(std::is_trivially_copyable_v<recent_key>);
thread_local std::array<recent_key, 4> recent_keys;
thread_local std::size_t recent_next = 0;

}  // namespace

const caller* callers::authenticate(std::string_view key) const {
    if (allow_all_) return &development_;
    if (key.empty() || key.size() > 512) return nullptr;
    const session::sha256_digest digest = session::sha256(session::as_bytes(key));
    for (const auto& r : recent_keys)
        if (r.generation == generation_ && generation_ != 0 && r.index < entries_.size() &&
            session::equal_ct(r.digest, digest))
            return &entries_[r.index].who;

    const caller* found = nullptr;
    std::uint32_t index = 0;
    // Every entry is compared, match or not.
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const bool same = session::equal_ct(entries_[i].hash, digest);
        if (same) {
            found = &entries_[i].who;
            index = static_cast<std::uint32_t>(i);
        }
    }
    if (found) recent_keys[recent_next++ % recent_keys.size()] = recent_key{generation_, digest, index};
    return found;
}

std::string callers::recent_keys_for_testing() {
    std::string bytes(sizeof recent_keys, '\0');
    std::memcpy(bytes.data(), recent_keys.data(), sizeof recent_keys);
    return bytes;
}

void callers::clear_recent_keys() {
    recent_keys = {};
    recent_next = 0;
}

generated_key generate_key(std::string_view name, std::string_view scopes) {
    caller parsed;
    parse_scopes(scopes, "keygen", parsed);
    std::array<std::uint8_t, 32> raw{};
    session::random_bytes(raw);
    generated_key out;
    out.key = "sk_" + session::base64url_encode(session::bytes_view(raw.data(), raw.size()));
    session::secure_wipe(raw);
    auto digest = session::sha256(session::as_bytes(out.key));
    out.entry = std::string(name) + "=" + to_hex(digest) + ":" + std::string(scopes);
    return out;  // the caller prints out.key once and wipes it
}

}  // namespace sessiond::api
