#include "service/backchannel_logout.hpp"

#include "common/error_category.hpp"
#include "log/log.hpp"
#include "service/assertions.hpp"
#include "service/claims.hpp"
#include "service/service_metrics.hpp"
#include "session/context.hpp"
#include "session/crypto.hpp"
#include "session/session_record.hpp"

namespace sessiond::service {

namespace asio = boost::asio;
namespace json = boost::json;
using claims::numeric_date;
using claims::string_claim;
using session::session_id;

namespace {

const char* describe(logout_errc e) noexcept {
    switch (e) {
        case logout_errc::unknown_provider:
            return "no OIDC provider of this name is configured";
        case logout_errc::malformed:
            return "the logout token is not a JWT of JSON objects, or a claim has the wrong type";
        case logout_errc::algorithm:
            return "the logout token's alg is not allowed for this provider, or not its key's";
        case logout_errc::unknown_key:
            return "the logout token's kid names no key of the provider's JWKS";
        case logout_errc::signature:
            return "the logout token's signature does not verify";
        case logout_errc::issuer:
            return "the logout token's iss is not the provider's issuer";
        case logout_errc::audience:
            return "the logout token's aud does not contain this client";
        case logout_errc::no_issued_at:
            return "the logout token has no iat";
        case logout_errc::too_old:
            return "the logout token was issued too long ago";
        case logout_errc::in_future:
            return "the logout token's iat is in the future";
        case logout_errc::expired:
            return "the logout token has expired";
        case logout_errc::events:
            return "the logout token's events claim has no back-channel logout event object";
        case logout_errc::nonce:
            return "a logout token must not contain a nonce";
        case logout_errc::no_subject:
            return "the logout token names neither sub nor sid";
        case logout_errc::no_jti:
            return "the logout token has no jti";
        case logout_errc::replayed:
            return "the logout token has been used before";
    }
    return "unknown logout error";
}

logout_errc from_jws(const boost::system::error_code& ec) {
    switch (static_cast<jws_errc>(ec.value())) {
        case jws_errc::algorithm:
            return logout_errc::algorithm;
        case jws_errc::unknown_key:
            return logout_errc::unknown_key;
        case jws_errc::signature:
            return logout_errc::signature;
        default:
            return logout_errc::malformed;
    }
}

// An optional string claim: absent is fine (empty), another type is not.
bool optional_string(const json::object& c, std::string_view name, std::string& out) {
    const auto* v = c.if_contains(name);
    if (!v) return true;
    if (!v->is_string() || v->as_string().empty()) return false;
    out = std::string(v->as_string());
    return true;
}

using outcome = metrics::logout_result;

void count(outcome o) {
    metrics::backchannel_logouts.local(o).inc();
}

}  // namespace

const boost::system::error_category& logout_category() noexcept {
    static const enum_category<logout_errc> instance("sessiond.logout", describe);
    return instance;
}

boost::system::result<logout_claims> check_logout_token(const oidc_provider& provider, std::string_view token,
                                                        session::timestamp now, std::chrono::seconds max_age) {
    auto verified = provider.keys->verify(token, provider.algs);
    if (!verified) return from_jws(verified.error());
    const auto& c = *verified;

    const auto iss = string_claim(c, "iss");
    if (!iss || *iss != provider.issuer) return logout_errc::issuer;
    if (!claims::audience_matches(c.if_contains("aud"), provider.client_id)) return logout_errc::audience;

    const double now_s = static_cast<double>(claims::seconds_of(now));
    const double leeway = static_cast<double>(logout_clock_leeway.count());
    if (!c.contains("iat")) return logout_errc::no_issued_at;
    const auto iat = numeric_date(c, "iat");
    if (!iat) return logout_errc::malformed;
    if (*iat > now_s + leeway) return logout_errc::in_future;
    if (*iat < now_s - static_cast<double>(max_age.count())) return logout_errc::too_old;
    if (c.contains("exp")) {
        const auto exp = numeric_date(c, "exp");
        if (!exp) return logout_errc::malformed;
        if (*exp + leeway <= now_s) return logout_errc::expired;
    }

    const auto* events = c.if_contains("events");
    const auto* event =
        events && events->is_object() ? events->as_object().if_contains(backchannel_logout_event) : nullptr;
    if (!event || !event->is_object()) return logout_errc::events;
    if (c.contains("nonce")) return logout_errc::nonce;

    logout_claims out;
    if (!optional_string(c, "sub", out.sub) || !optional_string(c, "sid", out.sid)) return logout_errc::malformed;
    if (out.sub.empty() && out.sid.empty()) return logout_errc::no_subject;
    if (out.sub.size() > session::max_user_id_size || (!out.sid.empty() && !session::valid_provider_sid(out.sid)))
        return logout_errc::malformed;
    const auto jti = string_claim(c, "jti");
    if (!c.contains("jti")) return logout_errc::no_jti;
    if (!jti || jti->empty() || jti->size() > 1024) return logout_errc::malformed;
    out.jti = std::string(*jti);
    return out;
}

std::string logout_claim_name(std::string_view provider, std::string_view jti) {
    std::string subject(provider);
    subject.append(1, '\0').append(jti);
    return "bcl-" + session::base64url_encode(session::sha256(session::as_bytes(subject)));
}

logout_service::logout_service(session_service& sessions, store::session_store& store,
                               const reloadable<oidc_providers>& providers)
    : sessions_(sessions), store_(store), providers_(providers) {}

logout_service::logout_service(session_service& sessions, store::session_store& store,
                               std::shared_ptr<const oidc_providers> providers)
    : sessions_(sessions), store_(store), providers_(std::move(providers)) {}

asio::awaitable<result<logout_outcome>> logout_service::logout(std::string_view provider_name, std::string_view token,
                                                               std::string_view request_id) {
    // Held to the end of the call, whatever a reload publishes meanwhile.
    const auto providers = providers_.get();
    const auto* provider = providers ? providers->find(provider_name) : nullptr;
    if (!provider) {
        count(outcome::unknown_provider);
        co_return logout_errc::unknown_provider;
    }
    const auto now = sessions_.clock().now();
    auto checked = check_logout_token(*provider, token, now, providers->max_age);
    if (!checked) {
        count(outcome::invalid);
        log::debug("logout token refused",
                   {{"provider", provider->name}, {"reason", checked.error().message()}, {"request_id", request_id}});
        co_return checked.error();
    }
    // Marked before anything is revoked: a replay must not end sessions
    // opened since. The mark outlives every instance's acceptance of the
    // token (its iat window, both leeways).
    const auto mark = std::chrono::milliseconds(providers->max_age + logout_clock_leeway + single_use_skew);
    auto first = co_await store_.claim_once(logout_claim_name(provider->name, checked->jti), mark);
    if (!first) {
        count(outcome::failed);
        co_return first.error();
    }
    if (!*first) {
        count(outcome::replayed);
        co_return logout_errc::replayed;
    }

    const actor who{provider->name, request_id, {}, "backchannel_logout"};
    logout_outcome out;
    if (!checked->sid.empty()) {
        auto ended = co_await logout_sid(*provider, checked->sid, who);
        if (!ended) {
            count(outcome::failed);
            co_return ended.error();
        }
        out.revoked = *ended;
    } else {
        auto ended = co_await sessions_.revoke_user(checked->sub, std::nullopt, who);
        out.revoked = ended.revoked;
        if (ended.failure) {
            count(outcome::failed);
            co_return ended.failure;
        }
    }
    count(outcome::ok);
    log::info("audit", {{"event", "oidc.backchannel_logout"},
                        {"provider", provider->name},
                        {"by", checked->sid.empty() ? "sub" : "sid"},
                        {"revoked", out.revoked},
                        {"request_id", request_id}});
    co_return out;
}

asio::awaitable<result<std::size_t>> logout_service::logout_sid(const oidc_provider& provider, std::string_view sid,
                                                                const actor& who) {
    const auto index = sessions_.provider_index(provider.name, sid);
    const session::provider_session wanted{provider.name, std::string(sid)};
    std::size_t revoked = 0;
    for (;;) {
        auto ids = co_await store_.provider_sessions(index);
        if (!ids) co_return ids.error();
        if (ids->empty()) break;
        // The ids whose entry goes: this provider session's (revoked now)
        // and those whose session is gone. Another provider session's,
        // sharing the index by a collision of keyed hashes, stay.
        std::vector<session_id> done;
        for (const auto& id : *ids) {
            auto found = co_await sessions_.get(id);
            if (!found && found.error() != errc::not_found) co_return found.error();
            if (found && found->provider != wanted) continue;
            if (found) {
                auto gone = co_await sessions_.revoke(id, who);
                if (!gone && gone.error() != errc::not_found) co_return gone.error();
                if (gone) ++revoked;
            }
            done.push_back(id);
        }
        if (!done.empty()) {
            auto removed = co_await store_.remove_provider_sessions(index, done);
            if (!removed) co_return removed.error();
        }
        if (done.size() < ids->size()) break;  // only other provider sessions' entries are left
    }
    co_return revoked;
}

}  // namespace sessiond::service
