#pragma once
// The session service: every v1 operation as a call without HTTP. It decodes
// tokens (the tag first, so a forged token never reaches the store), reads
// through the store, lets the domain rules (session/rules.hpp) decide, and
// writes back with compare-and-set. It owns reuse revocation, the audit
// events and the session metrics. Handlers (api/) only parse, call and reply.
//
// One instance per I/O thread, over that thread's store; never shared.
// Failures are error codes: service::errc (refused tokens and lookups),
// session::errc (token decoding, creation input) and sessiond::error (the
// store: store_unavailable, store_busy, store_full, session_limit).

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/reloadable.hpp"
#include "service/errc.hpp"
#include "service/oidc_providers.hpp"
#include "session/keyring.hpp"
#include "session/rules.hpp"
#include "session/token_codec.hpp"
#include "store/session_store.hpp"

namespace sessiond::service {

template <class T>
using result = boost::system::result<T>;

// Who asked, for audit events: a caller's name (never a key) and the request
// id; for forward auth, the proxied request (method and URL without its
// query, as api::original_request::for_log), or empty; for a user acting on
// their own sessions (self-service), that user and the public id of the
// session whose token they presented, or empty.
struct actor {
    std::string_view caller;
    std::string_view request_id;
    std::string_view original = {};
    std::string_view reason = {};  // why, when the event alone does not say (backchannel_logout)
    std::string_view by_user = {};
    std::string_view by_session = {};
};

// A new token and the session it opens (create, rotate). Hand the token to
// the client once; it is never kept or logged.
struct issued_session {
    std::string token;
    session::session_record session;
};

// List pages: 100 sessions unless the caller asks for another size, 1000 at most.
inline constexpr std::size_t default_page = 100;
inline constexpr std::size_t max_page = 1000;

using store::user_cursor;

struct user_sessions {
    std::vector<session::session_record> sessions;
    std::optional<user_cursor> next;  // the next page's start; nullopt: this was the last page
    std::size_t unreadable = 0;       // sessions on this page stored by a newer version, not shown
};

struct user_revocation {
    std::size_t revoked = 0;            // sessions revoked, also when the store then failed
    boost::system::error_code failure;  // set if the store failed before every session was revoked
};

struct create_request {
    std::string user_id;
    std::optional<std::string> metadata;  // a JSON object's text, checked by the caller; absent = "{}"
    std::optional<std::chrono::seconds> idle_timeout;
    std::optional<std::chrono::seconds> absolute_timeout;
    session::device_context device = {};  // checked by the caller against session/context.hpp
    session::assurance auth = {};
    std::string tenant = {};
    session::provider_session provider = {};
};

struct rotate_request {
    bool reauthenticated = false;
    std::optional<std::string> metadata;  // replaces the session's metadata when set
    // Makes the rotation safe to retry: the new token's secret is derived
    // from the presented one and this key, so a retry of a rotation that was
    // written (though its answer was lost, or was a 503) presents what is now
    // the previous token with the same key and gets the same new token back.
    std::optional<std::string> idempotency_key;
    std::optional<session::assurance> auth = {};  // with reauthenticated: how the user signed in again
    std::string client_address = {};              // where the request came from, if known
};

class session_service {
public:
    // `keys`: fixed, or reloadable (each call takes the keys current when it starts).
    session_service(store::session_store& store, std::shared_ptr<const session::keyring> keys,
                    session::token_codec codec, const session::clock& clock, session::policy policy);
    session_service(store::session_store& store, const reloadable<session::keyring>& keys, session::token_codec codec,
                    const session::clock& clock, session::policy policy);

    // A new session; sessions evicted by the per-user limit are audited.
    boost::asio::awaitable<result<issued_session>> create(create_request request, const actor& who);

    // The live session behind `token`, after the touch (if due) is written.
    boost::asio::awaitable<result<session::session_record>> validate(std::string_view token,
                                                                     const session::check_options& options,
                                                                     const actor& who);

    // A new token for the session of the current `token`.
    boost::asio::awaitable<result<issued_session>> rotate(std::string_view token, rotate_request request,
                                                          const actor& who);

    // Ends the session of a token sessiond issued; one already gone is fine.
    boost::asio::awaitable<result<void>> revoke(std::string_view token, const actor& who);

    // By public id (administration): errc::not_found when there is none.
    boost::asio::awaitable<result<session::session_record>> get(const session::session_id& id);
    boost::asio::awaitable<result<session::session_record>> revoke(const session::session_id& id, const actor& who);
    // The same for one of `user_id`'s own sessions: errc::not_found as well
    // for another user's session (or one this version cannot read), so that
    // the answer never tells whether another user's session exists.
    boost::asio::awaitable<result<session::session_record>> revoke_own(const session::session_id& id,
                                                                       std::string_view user_id, const actor& who);

    // A page of the user's live sessions: up to `limit` (clamped to
    // 1..max_page) after `after`, newest first within the page (ties by id,
    // descending). Pages follow the stores' order (see store::user_cursor):
    // a user with no more than one page of sessions gets them all, newest
    // first, in one.
    boost::asio::awaitable<result<user_sessions>> list_user(std::string_view user_id, std::optional<user_cursor> after,
                                                            std::size_t limit);

    // Revokes all of the user's sessions but `except`, in batches of bounded
    // work. On a store failure the count says how many went before it.
    boost::asio::awaitable<user_revocation> revoke_user(std::string_view user_id,
                                                        std::optional<session::session_id> except, const actor& who);

    // Ends, in one write, every session (`tenant` empty) or every session of
    // `tenant` created before `at`; audited as epoch.changed.
    boost::asio::awaitable<result<void>> set_not_before(std::string_view tenant, session::timestamp at,
                                                        const actor& who);
    boost::asio::awaitable<result<std::shared_ptr<const session::not_before>>> not_before();
    // The same for one user: records `at` as the user's instant, then
    // revokes all of the user's sessions (revoke_user); audited as
    // epoch.changed. A failure to record it revokes nothing.
    boost::asio::awaitable<user_revocation> set_user_not_before(std::string_view user_id, session::timestamp at,
                                                                const actor& who);
    // The user's instant, while a session created before it could live.
    boost::asio::awaitable<result<std::optional<session::timestamp>>> user_not_before(std::string_view user_id);
    // The OIDC providers a session may name (create refuses any other with
    // errc::unknown_provider); without them, none may be named.
    void use_providers(const reloadable<oidc_providers>& providers) { providers_.emplace(providers); }
    // The index of the sessions opened under a provider's session (the
    // store's provider_ref for it).
    store::provider_ref provider_index(std::string_view provider, std::string_view sid) const;

    // The keys current now (hold the pointer while they are used): for what
    // the API signs besides tokens, such as list cursors.
    std::shared_ptr<const session::keyring> keys() const { return keys_.get(); }
    bool ready() const { return store_.ready(); }
    const session::clock& clock() const noexcept { return clock_; }
    const session::policy& policy() const noexcept { return policy_; }

private:
    // The user reference a store needs for `user_id` (bucket and keyed index name).
    store::user_ref user(std::string_view user_id) const;
    // The same for a stored session's user: its id already carries the bucket.
    store::user_ref user_of(const session::session_record& r) const;
    // revoke_user with the reason its events give (session::revoke_reason).
    boost::asio::awaitable<user_revocation> revoke_user(std::string_view user_id,
                                                        std::optional<session::session_id> except, const actor& who,
                                                        std::string_view reason);
    // The whole session goes when a rotated token comes back after its grace.
    boost::asio::awaitable<void> revoke_reused(const session::session_record& stored, const actor& who);
    void audit(std::string_view event, const session::session_record& r, const actor& who) const;
    // Whether `r` was ended by a "not before" instant: read from the store
    // only when it does not hold them ready.
    boost::asio::awaitable<result<bool>> signed_out(const session::session_record& r);
    // Removes the session `found` read for `id` and audits it.
    boost::asio::awaitable<result<session::session_record>> remove_found(const session::session_id& id,
                                                                         store::user_ref owner, const actor& who);

    store::session_store& store_;
    local_view<session::keyring> keys_;
    session::token_codec codec_;
    const session::clock& clock_;
    session::policy policy_;
    std::optional<local_view<oidc_providers>> providers_;
};

// Orders sessions as list_user returns them: newest first, ties by id descending.
void sort_newest_first(std::vector<session::session_record>& sessions);

}  // namespace sessiond::service
