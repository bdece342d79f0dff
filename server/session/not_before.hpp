#pragma once
// "Not before" instants: signing everyone, or everyone of a tenant, out in
// one write. A session created up to the instant that applies to it is
// ended: validation refuses it as it refuses a revoked one, whatever the
// number of sessions, without touching any of them.

#include <boost/container/flat_map.hpp>

#include <algorithm>
#include <string>
#include <string_view>

#include "session/session_record.hpp"

namespace sessiond::session {

// At most this many tenants may have an instant of their own: every
// instance keeps all of them in memory.
inline constexpr std::size_t max_tenant_instants = 10'000;

struct not_before {
    timestamp all = min_timestamp;  // every session; min_timestamp = none
    boost::container::flat_map<std::string, timestamp, std::less<>> tenants;

    // The instant that applies to `r`: the later of all and its tenant's.
    timestamp of(const session_record& r) const noexcept {
        if (r.tenant.empty() || tenants.empty()) return all;
        const auto it = tenants.find(std::string_view(r.tenant));
        return it == tenants.end() ? all : std::max(all, it->second);
    }
    // Whether `r` was ended by an instant: created before it or in its
    // millisecond (the clock cannot tell those apart, and an instant set
    // after an incident must not spare a session the incident opened).
    bool ends(const session_record& r) const noexcept {
        const timestamp at = of(r);
        return at > min_timestamp && r.created_at <= at;
    }

    friend bool operator==(const not_before&, const not_before&) = default;
};

}  // namespace sessiond::session
