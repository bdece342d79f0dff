#include "support/history.hpp"

#include <algorithm>
#include <string>

namespace sessiond::test {

namespace {

const char* name(history::kind k) {
    switch (k) {
        case history::kind::create:
            return "create";
        case history::kind::validate:
            return "validate";
        case history::kind::rotate:
            return "rotate";
        case history::kind::revoke:
            return "revoke";
    }
    return "?";
}

long long ms_between(history::clock::time_point a, history::clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace

void history::record(op o) {
    std::lock_guard lock(mutex_);
    ops_.push_back(std::move(o));
}

void history::uncertain(int session) {
    std::lock_guard lock(mutex_);
    uncertain_.insert(session);
}

std::size_t history::size() const {
    std::lock_guard lock(mutex_);
    return ops_.size();
}

history::verdict history::check() const {
    std::lock_guard lock(mutex_);
    verdict v;
    // The earliest acknowledged revocation of each session.
    std::map<int, const op*> revoked;
    for (const auto& o : ops_) {
        ++v.statuses[o.status];
        if (o.what != kind::revoke || o.status != 204) continue;
        ++v.revocations;
        auto [it, fresh] = revoked.emplace(o.session, &o);
        if (!fresh && o.answered < it->second->answered) it->second = &o;
    }
    auto describe = [](const op& o) {
        return std::string(name(o.what)) + " of session " + std::to_string(o.session) + " on instance " +
               std::to_string(o.instance) + " answered " + std::to_string(o.status) +
               (o.code.empty() ? "" : " (" + o.code + ")");
    };
    for (const auto& o : ops_) {
        const auto r = revoked.find(o.session);
        const bool was_revoked = r != revoked.end();
        if (was_revoked && o.what == kind::validate && o.sent > r->second->answered) {
            if (o.status == 200)
                v.violations.push_back(
                    describe(o) + ", sent " + std::to_string(ms_between(r->second->answered, o.sent)) +
                    " ms after its revocation was acknowledged on instance " + std::to_string(r->second->instance));
            if (o.probe) {
                ++v.probes;
                if (o.status == 401)
                    v.max_revoke_to_refusal = std::max(v.max_revoke_to_refusal, o.answered - r->second->answered);
            }
        }
        if (uncertain_.count(o.session) != 0) continue;
        // Refused or unknown while the client had not revoked it (one that
        // overlaps the revocation may be refused: it may come after it).
        const bool refusal = o.status == 401 || o.status == 404 || o.status == 409;
        const bool before_revocation = !was_revoked || o.answered < r->second->sent;
        if (refusal && before_revocation) v.violations.push_back(describe(o) + " though the client never revoked it");
    }
    return v;
}

}  // namespace sessiond::test
