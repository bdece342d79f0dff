#pragma once
// Signed assertions from sessions: a short-lived JWT minted from a live
// session for one audience, verified by relying parties against the JWKS,
// and redeemable once (the jti is marked used in the store until the
// assertion expires). Redemption also asks the store whether the session is
// still live, so a revoked session's assertions die at once for every
// relying party that redeems.
//
// One instance per I/O thread, beside that thread's session service; never
// shared. Failures are assertion_errc values, the session service's own
// (minting validates the session token) and the store's.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/reloadable.hpp"
#include "service/assertion_signer.hpp"
#include "service/session_service.hpp"

namespace sessiond::service {

struct mint_request {
    std::string_view token;
    std::string_view audience;
    std::optional<std::chrono::seconds> ttl;  // absent: assertion-ttl
    session::check_options check;             // as a validation: touch, max_auth_age
};

struct minted_assertion {
    std::string assertion;  // the compact JWS
    std::string jti;
    session::timestamp expires_at;
};

// Claims sessiond accepts from its own clocks' spread: an nbf or iat at most
// this far ahead is not "not yet valid".
inline constexpr std::chrono::seconds clock_leeway{5};

// A redeemed assertion's jti stays marked this long past the end of its
// life, and never less than assertion-max-ttl plus this from the redemption:
// instances whose clocks disagree by less than this never see it redeemed
// twice (an instance whose clock runs ahead would otherwise set a short
// mark, which a correct one outlives before exp).
inline constexpr std::chrono::seconds single_use_skew{60};

// An assertion whose exp lies further ahead than this is refused as
// malformed: sessiond mints none (assertion-max-ttl is at most this), and
// no store could promise to keep its mark. Every store is thus asked for the
// same bounded mark.
inline constexpr std::chrono::hours max_assertion_lifetime{24};

// How long the jti of an assertion ending at `exp` is marked, from `now`
// (this instance's clock): its remaining life, at least `max_ttl` (the
// longest any instance mints), plus single_use_skew. The store measures it
// on its own clock from when it sets the mark.
std::chrono::milliseconds single_use_mark(session::timestamp exp, session::timestamp now,
                                          std::chrono::seconds max_ttl) noexcept;

class assertion_service {
public:
    // `signer` holds null while assertions are not configured.
    assertion_service(session_service& sessions, store::session_store& store,
                      const reloadable<assertion_signer>& signer);
    assertion_service(session_service& sessions, store::session_store& store,
                      std::shared_ptr<const assertion_signer> signer);

    // The signer now (null: not configured), held for as long as it is used.
    std::shared_ptr<const assertion_signer> signer() const { return signer_.get(); }

    // Validates the token as validate() does, then signs an assertion for it.
    boost::asio::awaitable<result<minted_assertion>> mint(const mint_request& request, const actor& who);

    // Verifies `assertion` for `audience`, checks that its session is live
    // and marks its jti used: the claims on the first redemption,
    // assertion_errc::used on every later one.
    boost::asio::awaitable<result<boost::json::object>> redeem(std::string_view assertion, std::string_view audience,
                                                               const actor& who);

    // Forward auth: an assertion for `audience` about the validated session
    // `r`, reused for that session until half its lifetime has passed (and
    // while the signer, the user, the login time and the metadata are the
    // same). Empty when assertions are not configured.
    std::string for_forward_auth(const session::session_record& r, std::string_view audience);

    // Per I/O thread, the sessions whose forward-auth assertion is kept.
    static constexpr std::size_t max_reused = 4096;

private:
    // An assertion about session `r`; nullopt when the session ends within
    // the second (its exp would not be after its iat).
    std::optional<minted_assertion> sign(const assertion_signer& signer, const session::session_record& r,
                                         std::string_view audience, std::chrono::seconds ttl) const;

    struct reused {
        std::string assertion;
        std::uint64_t signer_generation = 0;
        std::string audience;
        std::string user_id;
        session::timestamp authenticated_at;
        std::string metadata;
        session::timestamp reuse_until;
    };

    session_service& sessions_;
    store::session_store& store_;
    local_view<assertion_signer> signer_;
    std::unordered_map<session::session_id, reused> reused_;
};

}  // namespace sessiond::service
