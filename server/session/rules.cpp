#include "session/rules.hpp"

#include "session/context.hpp"
#include "session/errc.hpp"

#include <algorithm>
#include <stdexcept>

namespace sessiond::session {
namespace {

using std::chrono::milliseconds;

// Which secret the presented hash is: the current one, or a previous one
// whose grace has not passed at `now`. Every comparison runs, in constant
// time, so timing does not tell current from previous, nor which previous.
struct match {
    bool current;
    bool previous;  // within its grace
};

match compare(const session_record& r, const secret_digest& presented, timestamp now) noexcept {
    const bool current = equal_ct(presented.view(), r.secret_hash.view());
    bool previous = false;
    for (const auto& p : r.previous) {
        const bool same = equal_ct(presented.view(), p.secret_hash.view());
        previous = previous || (same && now < p.valid_until);
    }
    return {current, previous};
}

// The replaced secrets worth keeping at `now`: those still within their grace.
void drop_past_grace(session_record& r, timestamp now) {
    auto& chain = r.previous;
    chain.erase(
        std::remove_if(chain.begin(), chain.end(), [now](const previous_secret& p) { return p.valid_until <= now; }),
        chain.end());
}

bool expired(const session_record& r, timestamp now) noexcept {
    return now >= r.expires_at || now >= r.idle_expires_at;
}

timestamp extended_idle_expiry(const session_record& r, timestamp now) noexcept {
    return std::min(now + r.idle_timeout, r.expires_at);
}

void extend(session_record& r, timestamp now, std::string_view client_address) {
    r.last_seen_at = now;
    r.idle_expires_at = extended_idle_expiry(r, now);
    if (!client_address.empty()) r.device.last_address = client_address;
}

// The last extension happened at idle_expires_at - idle_timeout (exactly,
// unless capped at expires_at, in which case no extension moves anything).
bool touch_due(const session_record& r, timestamp now, const policy& p) noexcept {
    if (extended_idle_expiry(r, now) <= r.idle_expires_at) return false;
    const auto fraction =
        milliseconds(static_cast<std::int64_t>(static_cast<double>(r.idle_timeout.count()) * p.touch_fraction));
    return now >= r.idle_expires_at - r.idle_timeout + fraction;
}

}  // namespace

bool valid_user_id(std::string_view user_id) noexcept {
    if (user_id.empty() || user_id.size() > max_user_id_size) return false;
    // Only the single bytes below 0x20 and 0x7f are control characters here:
    // every byte of a multi-byte UTF-8 sequence is 0x80 or above.
    if (std::any_of(user_id.begin(), user_id.end(), [](char ch) {
            const auto c = static_cast<unsigned char>(ch);
            return c < 0x20 || c == 0x7f;
        }))
        return false;
    return valid_utf8(user_id);
}

bool valid_new_user_id(std::string_view user_id) noexcept {
    if (!valid_user_id(user_id)) return false;
    // Valid UTF-8 by now: a C1 control is the pair C2 80..C2 9F, and 0xC2
    // starts no other sequence.
    for (std::size_t i = 0; i + 1 < user_id.size(); ++i)
        if (static_cast<unsigned char>(user_id[i]) == 0xc2 && static_cast<unsigned char>(user_id[i + 1]) <= 0x9f)
            return false;
    return true;
}

void validate(const policy& p) {
    auto require = [](bool ok, const char* field, const char* why) {
        if (!ok) throw policy_error(field, why);
    };
    // Ten years keeps every deadline far inside the storable timestamp range.
    constexpr milliseconds ceiling = std::chrono::days(3650);
    require(p.idle_timeout > milliseconds::zero(), "idle_timeout", "must be greater than zero");
    require(p.absolute_timeout > milliseconds::zero(), "absolute_timeout", "must be greater than zero");
    require(p.max_idle_timeout >= p.idle_timeout, "idle_timeout", "greater than max_idle_timeout");
    require(p.max_absolute_timeout >= p.absolute_timeout, "absolute_timeout", "greater than max_absolute_timeout");
    require(p.max_idle_timeout <= ceiling, "max_idle_timeout", "must not exceed 3650 days");
    require(p.max_absolute_timeout <= ceiling, "max_absolute_timeout", "must not exceed 3650 days");
    require(p.touch_fraction >= 0.0 && p.touch_fraction < 1.0, "touch_fraction", "must be in [0, 1)");
    require(p.rotation_grace >= milliseconds::zero() && p.rotation_grace <= ceiling, "rotation_grace",
            "must be between 0 and 3650 days");
}

boost::system::result<session_record> new_record(const session_id& id, const secret_digest& secret_hash,
                                                 creation request, timestamp now, const policy& p) {
    if (!valid_new_user_id(request.user_id)) return errc::invalid_user_id;
    const milliseconds idle = request.idle_timeout.value_or(p.idle_timeout);
    const milliseconds absolute = request.absolute_timeout.value_or(p.absolute_timeout);
    if (idle <= milliseconds::zero() || idle > p.max_idle_timeout) return errc::invalid_idle_timeout;
    if (absolute <= milliseconds::zero() || absolute > p.max_absolute_timeout) return errc::invalid_absolute_timeout;

    session_record r;
    r.id = id;
    r.user_id = std::move(request.user_id);
    r.metadata = std::move(request.metadata);
    r.created_at = r.last_seen_at = r.authenticated_at = now;
    r.expires_at = now + absolute;
    r.idle_timeout = idle;
    r.idle_expires_at = extended_idle_expiry(r, now);
    r.secret_hash = secret_hash;
    r.device = std::move(request.device);
    if (r.device.last_address.empty()) r.device.last_address = r.device.created_address;
    r.auth = std::move(request.auth);
    r.tenant = std::move(request.tenant);
    r.provider = std::move(request.provider);
    r.version = 1;
    return r;
}

timestamp store_deadline(const session_record& r) noexcept {
    return std::min(r.idle_expires_at, r.expires_at);
}

check_result check(const session_record& r, const secret_digest& presented_hash, timestamp now, const policy& p,
                   const check_options& options) {
    check_result out;
    if (expired(r, now)) {
        out.outcome = check_outcome::expired;
        return out;
    }
    // The token's tag already proved that sessiond issued it for this
    // session: a secret that is neither current nor previous within its
    // grace belongs to a token rotated away, so it is a reuse.
    const match m = compare(r, presented_hash, now);
    if (m.current)
        out.outcome = check_outcome::valid;
    else if (m.previous)
        out.outcome = check_outcome::valid_previous;
    else
        out.outcome = check_outcome::reuse_detected;
    if (out.outcome != check_outcome::valid && out.outcome != check_outcome::valid_previous) return out;

    if ((options.max_auth_age && now - r.authenticated_at > *options.max_auth_age) || !meets(r.auth, options.min_aal)) {
        out.outcome = check_outcome::reauthentication_required;
        return out;
    }
    if (options.touch && touch_due(r, now, p)) {
        out.updated = r;
        extend(*out.updated, now, options.client_address);
        drop_past_grace(*out.updated, now);
        ++out.updated->version;
    }
    return out;
}

rotate_result rotate(const session_record& r, const secret_digest& presented_hash, const secret_digest& new_secret_hash,
                     timestamp now, const policy& p, rotation change) {
    rotate_result out;
    if (expired(r, now)) {
        out.outcome = check_outcome::expired;
        return out;
    }
    const match m = compare(r, presented_hash, now);
    if (!m.current) {
        // A previous token within its grace belongs to a request that raced
        // a rotation; it may still validate but not fork the session.
        out.outcome = m.previous ? check_outcome::invalid : check_outcome::reuse_detected;
        return out;
    }
    session_record& u = out.updated.emplace(r);
    // The replaced secret goes first; of the older ones, those still within
    // their grace follow, as many as there is room for.
    drop_past_grace(u, now);
    if (u.previous.size() == max_previous_secrets) u.previous.pop_back();
    u.previous.insert(u.previous.begin(), previous_secret{r.secret_hash, now + p.rotation_grace});
    u.secret_hash = new_secret_hash;
    u.rotated_at = now;
    if (change.reauthenticated) {
        u.authenticated_at = now;
        if (change.auth) u.auth = std::move(*change.auth);
    }
    if (change.metadata) u.metadata = std::move(*change.metadata);
    extend(u, now, change.client_address);
    ++u.version;
    out.outcome = check_outcome::valid;
    return out;
}

std::size_t eviction_count(std::size_t live, std::size_t limit) noexcept {
    return limit == 0 || live < limit ? 0 : live + 1 - limit;
}

admission admit(std::span<const eviction_candidate> sessions, timestamp now, const policy& p) {
    std::vector<eviction_candidate> live;
    live.reserve(sessions.size());
    for (const auto& s : sessions)
        if (s.deadline > now) live.push_back(s);
    std::sort(live.begin(), live.end(), [](const eviction_candidate& a, const eviction_candidate& b) {
        return a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id;
    });
    return admit_ordered(
        live.size(), live.begin(), live.end(), [](const eviction_candidate& c) { return c.id; }, p);
}

}  // namespace sessiond::session
