#include "service/assertions.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "common/error.hpp"
#include "common/json_text.hpp"
#include "service/claims.hpp"
#include "service/service_metrics.hpp"
#include "log/log.hpp"
#include "session/crypto.hpp"

namespace sessiond::service {

namespace asio = boost::asio;
namespace json = boost::json;
using session::session_record;
using session::timestamp;

using claims::audience_matches;
using claims::numeric_date;
using claims::seconds_of;
using claims::string_claim;

namespace {

constexpr std::size_t jti_bytes = 16;  // 128 random bits

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    append_json_escaped(out, s);
    out += '"';
}

bool valid_jti(std::string_view jti) {
    return !jti.empty() && jti.size() <= store::session_store::max_claim_name &&
           std::all_of(jti.begin(), jti.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_';
           });
}

// Counted by reason, and said once in the debug log.
boost::system::error_code refused(assertion_errc why, const actor& who) {
    metrics::assertions_refused
        .local(static_cast<metrics::assertion_refusal>(static_cast<int>(why) -
                                                       static_cast<int>(assertion_errc::malformed)))
        .inc();
    log::debug("assertion refused", {{"reason", make_error_code(why).message()}, {"request_id", who.request_id}});
    return why;
}

void audit(std::string_view event, const session_record& r, std::string_view audience, std::string_view jti,
           const actor& who) {
    log::info("audit", {{"event", event},
                        {"session_id", r.id.to_string()},
                        {"user_id", r.user_id},
                        {"audience", audience},
                        {"jti", jti},
                        {"caller", who.caller},
                        {"request_id", who.request_id}});
}

}  // namespace

std::chrono::milliseconds single_use_mark(timestamp exp, timestamp now, std::chrono::seconds max_ttl) noexcept {
    const std::chrono::milliseconds remaining = exp - now;
    return std::max<std::chrono::milliseconds>(remaining, max_ttl) + single_use_skew;
}

assertion_service::assertion_service(session_service& sessions, store::session_store& store,
                                     const reloadable<assertion_signer>& signer)
    : sessions_(sessions), store_(store), signer_(signer) {}

assertion_service::assertion_service(session_service& sessions, store::session_store& store,
                                     std::shared_ptr<const assertion_signer> signer)
    : sessions_(sessions), store_(store), signer_(std::move(signer)) {}

std::optional<minted_assertion> assertion_service::sign(const assertion_signer& signer, const session_record& r,
                                                        std::string_view audience, std::chrono::seconds ttl) const {
    const auto now = sessions_.clock().now();
    // Never past the session's own end, idle or absolute.
    const auto end = std::min({now + ttl, r.expires_at, r.idle_expires_at});
    const auto iat = seconds_of(now);
    const auto exp = seconds_of(end);
    if (exp <= iat) return std::nullopt;  // the session ends within the second

    std::array<std::uint8_t, jti_bytes> random{};
    session::random_bytes(random);
    minted_assertion out;
    out.jti = session::base64url_encode(random);
    out.expires_at = timestamp(std::chrono::seconds(exp));

    const auto& settings = signer.settings();
    std::string payload;
    payload.reserve(320 + r.user_id.size() + settings.issuer.size());
    payload += R"({"iss":)";
    append_quoted(payload, settings.issuer);
    payload += R"(,"sub":)";
    append_quoted(payload, r.user_id);
    payload += R"(,"sid":")";
    payload += r.id.to_string();
    payload += R"(","aud":)";
    append_quoted(payload, audience);
    const auto iat_text = std::to_string(iat);
    payload += R"(,"iat":)" + iat_text + R"(,"nbf":)" + iat_text + R"(,"exp":)" + std::to_string(exp);
    payload += R"(,"jti":")" + out.jti + '"';
    payload += R"(,"auth_time":)" + std::to_string(seconds_of(r.authenticated_at));
    // How the user authenticated, as an ID token says it (OIDC Core 2):
    // acr "aal1".."aal3" and the methods (RFC 8176).
    if (r.auth.aal > 0) payload += R"(,"acr":"aal)" + std::to_string(r.auth.aal) + '"';
    if (!r.auth.amr.empty()) {
        payload += R"(,"amr":[)";
        for (std::size_t i = 0; i < r.auth.amr.size(); ++i) {
            if (i > 0) payload += ',';
            append_quoted(payload, r.auth.amr[i]);
        }
        payload += ']';
    }
    if (!settings.claims.empty()) {
        boost::system::error_code ec;
        auto metadata = json::parse(r.metadata, ec);
        if (!ec && metadata.is_object()) {
            for (const auto& name : settings.claims) {
                const auto* v = metadata.as_object().if_contains(name);
                if (!v) continue;
                payload += ',';
                append_quoted(payload, name);
                payload += ':';
                payload += json::serialize(*v);
            }
        }
    }
    payload += '}';
    out.assertion = signer.sign(payload);
    metrics::assertions_minted.inc();
    return out;
}

asio::awaitable<result<minted_assertion>> assertion_service::mint(const mint_request& request, const actor& who) {
    const auto signer = signer_.get();
    if (!signer) co_return assertion_errc::disabled;
    if (!signer->audience_allowed(request.audience)) co_return assertion_errc::audience_not_allowed;
    const auto ttl = request.ttl.value_or(signer->settings().ttl);
    auto record = co_await sessions_.validate(request.token, request.check, who);
    if (!record) co_return record.error();
    auto out = sign(*signer, *record, request.audience, ttl);
    if (!out) co_return errc::session_expired;
    audit("assertion.minted", *record, request.audience, out->jti, who);
    co_return std::move(*out);
}

asio::awaitable<result<json::object>> assertion_service::redeem(std::string_view assertion, std::string_view audience,
                                                                const actor& who) {
    const auto signer = signer_.get();
    if (!signer) co_return assertion_errc::disabled;
    auto verified = signer->verify(assertion);
    if (!verified) co_return refused(static_cast<assertion_errc>(verified.error().value()), who);
    auto& claims = *verified;

    const auto now = sessions_.clock().now();
    const double now_s = static_cast<double>(seconds_of(now));
    const auto iss = string_claim(claims, "iss");
    const auto sub = string_claim(claims, "sub");
    const auto sid_text = string_claim(claims, "sid");
    const auto jti = string_claim(claims, "jti");
    const auto exp = numeric_date(claims, "exp");
    if (!iss || !sub || !sid_text || !jti || !exp || !valid_jti(*jti))
        co_return refused(assertion_errc::malformed, who);
    if (*iss != signer->settings().issuer) co_return refused(assertion_errc::issuer, who);
    if (!audience_matches(claims.if_contains("aud"), audience)) co_return refused(assertion_errc::audience, who);
    if (*exp <= now_s) co_return refused(assertion_errc::expired, who);
    // Further ahead than any assertion sessiond mints, and than a mark is
    // kept: refused before the mark's lifetime is computed from it.
    if (*exp - now_s > static_cast<double>(std::chrono::seconds(max_assertion_lifetime).count()))
        co_return refused(assertion_errc::malformed, who);
    const double ahead = now_s + static_cast<double>(clock_leeway.count());
    for (const char* name : {"nbf", "iat"}) {
        if (!claims.contains(name)) continue;
        const auto t = numeric_date(claims, name);
        if (!t) co_return refused(assertion_errc::malformed, who);
        if (*t > ahead) co_return refused(assertion_errc::not_yet_valid, who);
    }
    const auto sid = session::session_id::parse(*sid_text);
    if (!sid) co_return refused(assertion_errc::malformed, who);

    // The session must still be live, and the user's: a revoked session's
    // assertions die with it.
    auto found = co_await store_.get(*sid);
    if (!found) co_return found.error();
    const auto& r = *found;
    if (!r || r->user_id != *sub || now >= r->expires_at || now >= r->idle_expires_at)
        co_return refused(assertion_errc::session, who);

    // Single use: the mark lives as long as any instance could accept the
    // assertion, whether or not this instance's clock is right.
    const auto until = timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*exp * 1000.0))));
    auto first = co_await store_.claim_once(*jti, single_use_mark(until, now, signer->settings().max_ttl));
    if (!first) co_return first.error();
    if (!*first) co_return refused(assertion_errc::used, who);
    metrics::assertions_redeemed.inc();
    audit("assertion.redeemed", **found, audience, *jti, who);
    co_return std::move(claims);
}

std::string assertion_service::for_forward_auth(const session_record& r, std::string_view audience) {
    const auto signer = signer_.get();
    if (!signer) return {};
    const auto now = sessions_.clock().now();
    if (auto it = reused_.find(r.id); it != reused_.end()) {
        const auto& kept = it->second;
        if (now < kept.reuse_until && kept.signer_generation == signer->generation() && kept.audience == audience &&
            kept.user_id == r.user_id && kept.authenticated_at == r.authenticated_at && kept.metadata == r.metadata)
            return kept.assertion;
        reused_.erase(it);
    }
    auto made = sign(*signer, r, audience, signer->settings().ttl);
    if (!made) return {};
    if (reused_.size() >= max_reused) {
        std::erase_if(reused_, [now](const auto& entry) { return entry.second.reuse_until <= now; });
        if (reused_.size() >= max_reused) reused_.clear();
    }
    // Reused until half its lifetime has passed: a relying party always gets
    // one with at least half of it left.
    const auto reuse_until = now + (made->expires_at - now) / 2;
    reused_.emplace(r.id, reused{made->assertion, signer->generation(), std::string(audience), r.user_id,
                                 r.authenticated_at, r.metadata, reuse_until});
    return std::move(made->assertion);
}

}  // namespace sessiond::service
