#include "service/session_service.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <random>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "service/service_metrics.hpp"
#include "log/log.hpp"

namespace sessiond::service {

namespace asio = boost::asio;
using session::check_outcome;
using session::session_id;
using session::session_record;

namespace {

// A compare-and-set that loses to a concurrent write is retried on a fresh
// read this many times in all. A touch gives up early (the session is valid
// either way); a rotation tries harder, with a short random pause between
// attempts so that it does not lose to the same stream of touches again.
constexpr int cas_attempts = 3;
constexpr int rotate_attempts = 8;
constexpr auto rotate_pause = std::chrono::microseconds(250);

// Spreads retry pauses; not a secret.
unsigned jitter() {
    thread_local std::minstd_rand engine{std::random_device{}()};
    return static_cast<unsigned>(engine());
}

// What a refused validation or rotation answers, for the outcomes the rules
// give (valid ones are handled by the caller).
errc refusal(check_outcome outcome) {
    switch (outcome) {
        case check_outcome::expired:
            return errc::session_expired;
        case check_outcome::reuse_detected:
            return errc::reuse_detected;
        case check_outcome::reauthentication_required:
            return errc::reauthentication_required;
        default:
            return errc::wrong_secret;
    }
}

// A store failure, counted once where the service first sees it.
boost::system::error_code store_failure(const boost::system::error_code& ec) {
    // A session of a newer record format is no failure of the store (it is
    // counted as sessiond_store_records_unreadable_total).
    if (ec != sessiond::error::session_unreadable) metrics::store_errors.inc();
    return ec;
}

}  // namespace

void sort_newest_first(std::vector<session_record>& sessions) {
    std::sort(sessions.begin(), sessions.end(), [](const session_record& a, const session_record& b) {
        return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
    });
}

session_service::session_service(store::session_store& store, std::shared_ptr<const session::keyring> keys,
                                 session::token_codec codec, const session::clock& clock, session::policy policy)
    : store_(store), keys_(std::move(keys)), codec_(std::move(codec)), clock_(clock), policy_(policy) {}

session_service::session_service(store::session_store& store, const reloadable<session::keyring>& keys,
                                 session::token_codec codec, const session::clock& clock, session::policy policy)
    : store_(store), keys_(keys), codec_(std::move(codec)), clock_(clock), policy_(policy) {}

store::user_ref session_service::user(std::string_view user_id) const {
    const auto keys = keys_.get();
    return store::user_ref{std::string(user_id), keys->user_bucket(user_id), keys->user_index_name(user_id)};
}

store::user_ref session_service::user_of(const session_record& r) const {
    return store::user_ref{r.user_id, r.id.bucket, keys_.get()->user_index_name(r.user_id)};
}

store::provider_ref session_service::provider_index(std::string_view provider, std::string_view sid) const {
    // Keyed like a user's index, under a name no user id is compared with:
    // the key names neither the provider nor its session.
    std::string subject = "oidc-sid:";
    subject.append(provider).append(1, '\0').append(sid);
    const auto keys = keys_.get();
    return store::provider_ref{keys->user_bucket(subject), keys->user_index_name(subject)};
}

namespace {

// What a revocation tells its events: who asked and why, the actor's
// reason first (a back-channel logout), else self-service or `otherwise`.
store::event_note revocation(const actor& who, std::string_view otherwise) {
    std::string_view reason = otherwise;
    if (!who.reason.empty())
        reason = who.reason;
    else if (!who.by_user.empty())
        reason = session::revoke_reason::self_service;
    return store::event_note{who.caller, reason};
}

// One audit line: what happened (`what`), then who asked.
void audit_line(std::initializer_list<log::field> what, const actor& who) {
    std::vector<log::field> fields(what);
    fields.emplace_back("caller", who.caller);
    fields.emplace_back("request_id", who.request_id);
    if (!who.original.empty()) fields.emplace_back("original_request", who.original);
    if (!who.reason.empty()) fields.emplace_back("reason", who.reason);
    if (!who.by_user.empty()) fields.emplace_back("by_user", who.by_user);
    if (!who.by_session.empty()) fields.emplace_back("by_session", who.by_session);
    log::write(spdlog::level::info, "audit", fields);
}

}  // namespace

void session_service::audit(std::string_view event, const session_record& r, const actor& who) const {
    auto id = r.id.to_string();
    audit_line({{"event", event}, {"session_id", id}, {"user_id", r.user_id}}, who);
}

asio::awaitable<result<bool>> session_service::signed_out(const session_record& r) {
    if (auto ready = store_.not_before_now()) co_return ready->ends(r);
    auto read = co_await store_.not_before();
    if (!read) co_return result<bool>(boost::system::in_place_error, store_failure(read.error()));
    co_return (*read)->ends(r);
}

asio::awaitable<void> session_service::revoke_reused(const session_record& stored, const actor& who) {
    // A rotated token after its grace period: treated as stolen, so the whole
    // session goes (OAuth 2.0 Security BCP, refresh token rotation).
    metrics::reuse_detected.inc();
    const auto& id = stored.id;
    const auto owner = user_of(stored);
    const store::event_note note{who.caller, session::revoke_reason::reuse_detected};
    auto removed = co_await store_.remove(id, owner, note);
    if (!removed) {
        // The caller still gets 401 for the token; the session may live on.
        store_failure(removed.error());
        metrics::reuse_revocations_failed.inc();
        auto sid = id.to_string();
        log::error("reused token: the session could not be revoked",
                   {{"session_id", sid}, {"error", removed.error().message()}, {"request_id", who.request_id}});
        co_return;
    }
    if (*removed) {
        metrics::sessions_revoked.inc();
        audit("session.reuse_detected", **removed, who);
    }
}

asio::awaitable<result<issued_session>> session_service::create(create_request request, const actor& who) {
    // The keys of this call, kept to its end whatever a reload publishes meanwhile.
    const auto keys = keys_.get();
    auto u = user(request.user_id);
    auto issued = codec_.issue(*keys, u.bucket);
    session::secure_wipe(issued.secret);  // the token and the digest are what is needed
    session::creation c{std::move(request.user_id),
                        std::move(request.metadata).value_or("{}"),
                        std::nullopt,
                        std::nullopt,
                        std::move(request.device),
                        std::move(request.auth),
                        std::move(request.tenant),
                        std::move(request.provider)};
    if (request.idle_timeout) c.idle_timeout = *request.idle_timeout;
    if (request.absolute_timeout) c.absolute_timeout = *request.absolute_timeout;
    const bool from_provider = !c.provider.empty();
    if (from_provider) {
        const auto providers = providers_ ? providers_->get() : nullptr;
        if (!providers || !providers->find(c.provider.provider)) co_return errc::unknown_provider;
    }
    auto record = session::new_record(issued.id, issued.secret_hash, std::move(c), clock_.now(), policy_);
    if (!record) co_return record.error();
    if (from_provider) {
        // Indexed first: a crash between the two leaves an index entry
        // without a session (skipped by a logout), never a session that a
        // logout by its provider's sid would miss.
        const auto index = provider_index(record->provider.provider, record->provider.sid);
        auto indexed = co_await store_.add_provider_session(index, record->id, record->expires_at);
        if (!indexed) co_return store_failure(indexed.error());
    }
    const store::event_note note{who.caller};
    auto stored = co_await store_.create(*record, u, policy_, note);
    if (!stored)
        co_return stored.error() == sessiond::error::session_limit ? stored.error() : store_failure(stored.error());
    for (const auto& evicted : stored->evicted) {
        metrics::sessions_evicted.inc();
        audit("session.evicted", evicted, who);
    }
    metrics::sessions_created.inc();
    audit("session.created", *record, who);
    co_return issued_session{std::move(issued.token), std::move(*record)};
}

asio::awaitable<result<session_record>> session_service::validate(std::string_view token,
                                                                  const session::check_options& options,
                                                                  const actor& who) {
    // The keys of this call, kept to its end whatever a reload publishes meanwhile.
    const auto keys = keys_.get();
    auto reject = [](boost::system::error_code ec) {
        metrics::validations_rejected.inc();
        return ec;
    };
    if (token.empty()) co_return reject(errc::no_token);
    auto decoded = codec_.decode(*keys, token);
    if (!decoded) co_return reject(decoded.error());
    auto presented = session::digest_secret(decoded->secret);
    session::secure_wipe(decoded->secret);  // only its digest is compared

    // The first read may be answered by the store's validation cache; any
    // later one (a refusal to confirm, or after a lost compare-and-set) goes
    // to the store itself.
    bool use_cache = true;
    for (int attempt = 1;;) {
        result<std::optional<session_record>> found{std::nullopt};
        if (use_cache)
            found = co_await store_.get_cached(decoded->id);
        else
            found = co_await store_.get(decoded->id);
        const bool from_cache = std::exchange(use_cache, false);
        if (!found) co_return store_failure(found.error());
        if (!*found) co_return reject(errc::unknown_session);
        const auto& stored = **found;
        auto ended = co_await signed_out(stored);
        if (!ended) co_return ended.error();
        if (*ended) co_return reject(errc::signed_out);
        auto checked = session::check(stored, presented, clock_.now(), policy_, options);
        if (checked.outcome != check_outcome::valid && checked.outcome != check_outcome::valid_previous) {
            // A cached record may be stale (its invalidation still on the
            // way): a token rotated or a session touched through another
            // instance would read as a reuse or as expired. Only a record
            // read from the store itself may refuse, and revoke.
            if (from_cache) continue;
            if (checked.outcome == check_outcome::reuse_detected) co_await revoke_reused(stored, who);
            co_return reject(refusal(checked.outcome));
        }
        if (checked.updated && attempt == cas_attempts) {
            // Every write lost to a concurrent one: the session is valid, its
            // idle expiry is just not extended this time.
            metrics::touches_skipped.inc();
            checked.updated.reset();
        }
        if (!checked.updated) {
            metrics::validations_ok.inc();
            co_return stored;
        }
        auto written = co_await store_.replace(stored, *checked.updated, user_of(stored));
        if (!written) co_return store_failure(written.error());
        if (*written) {
            metrics::validations_ok.inc();
            co_return std::move(*checked.updated);
        }
        ++attempt;  // changed underneath: read again
    }
}

asio::awaitable<result<issued_session>> session_service::rotate(std::string_view token, rotate_request request,
                                                                const actor& who) {
    // The keys of this call, kept to its end whatever a reload publishes meanwhile.
    const auto keys = keys_.get();
    auto decoded = codec_.decode(*keys, token);
    if (!decoded) co_return decoded.error();
    auto presented = session::digest_secret(decoded->secret);
    std::optional<session::token_secret> derived;
    if (request.idempotency_key) derived = keys->derive_secret("rotate", decoded->secret, *request.idempotency_key);
    session::secure_wipe(decoded->secret);

    for (int attempt = 0; attempt < rotate_attempts; ++attempt) {
        if (attempt > 0) {
            asio::steady_timer pause(co_await asio::this_coro::executor);
            pause.expires_after(rotate_pause * (1 + jitter() % (4 * attempt)));
            co_await pause.async_wait(asio::use_awaitable);
        }
        auto found = co_await store_.get(decoded->id);
        if (!found) co_return store_failure(found.error());
        if (!*found) co_return errc::unknown_session;
        const auto& stored = **found;
        auto ended = co_await signed_out(stored);
        if (!ended) co_return ended.error();
        if (*ended) co_return errc::signed_out;
        auto issued = derived ? codec_.reissue(*keys, decoded->id, *derived) : codec_.reissue(*keys, decoded->id);
        session::secure_wipe(issued.secret);
        auto rotated =
            session::rotate(stored, presented, issued.secret_hash, clock_.now(), policy_,
                            {request.reauthenticated, request.metadata, request.auth, request.client_address});
        if (rotated.outcome == check_outcome::reuse_detected) co_await revoke_reused(stored, who);
        if (rotated.outcome == check_outcome::invalid) {
            // The previous token within its grace. With the key of the
            // rotation that replaced it, this is that rotation's retry: the
            // same new token, and nothing written.
            if (derived && session::equal_ct(issued.secret_hash.view(), stored.secret_hash.view())) {
                metrics::rotations_replayed.inc();
                co_return issued_session{std::move(issued.token), stored};
            }
            co_return errc::not_current;
        }
        if (rotated.outcome != check_outcome::valid) co_return refusal(rotated.outcome);
        const store::event_note note{who.caller, {}, true};
        auto written = co_await store_.replace(stored, *rotated.updated, user_of(stored), note);
        if (!written) co_return store_failure(written.error());
        if (!*written) {
            metrics::rotation_conflicts.inc();
            continue;  // a concurrent write won; decide again on what it left
        }
        metrics::sessions_rotated.inc();
        audit("session.rotated", *rotated.updated, who);
        co_return issued_session{std::move(issued.token), std::move(*rotated.updated)};
    }
    co_return errc::concurrent_change;
}

asio::awaitable<result<void>> session_service::revoke(std::string_view token, const actor& who) {
    // The keys of this call, kept to its end whatever a reload publishes meanwhile.
    const auto keys = keys_.get();
    auto decoded = codec_.decode(*keys, token);
    if (!decoded) co_return decoded.error();
    const auto presented = session::digest_secret(decoded->secret);
    session::secure_wipe(decoded->secret);
    // The token must be one that may still act for the session: a token
    // rotated away is a reuse, as on every other entry point.
    auto found = co_await store_.get(decoded->id);
    if (!found) co_return store_failure(found.error());
    if (!*found) co_return result<void>();  // already gone: revoking is idempotent
    session::check_options without_touch;
    without_touch.touch = false;
    auto checked = session::check(**found, presented, clock_.now(), policy_, without_touch);
    if (checked.outcome == check_outcome::reuse_detected) {
        co_await revoke_reused(**found, who);
        co_return errc::reuse_detected;
    }
    const auto owner = user_of(**found);
    const auto note = revocation(who, session::revoke_reason::caller);
    auto removed = co_await store_.remove(decoded->id, owner, note);
    if (!removed) co_return store_failure(removed.error());
    if (*removed) {
        metrics::sessions_revoked.inc();
        audit("session.revoked", **removed, who);
    }
    co_return result<void>();
}

asio::awaitable<result<session_record>> session_service::get(const session_id& id) {
    auto found = co_await store_.get(id);
    if (!found) co_return store_failure(found.error());
    if (!*found) co_return errc::not_found;
    auto ended = co_await signed_out(**found);
    if (!ended) co_return ended.error();
    if (*ended) co_return errc::not_found;
    co_return std::move(**found);
}

asio::awaitable<result<session_record>> session_service::revoke(const session_id& id, const actor& who) {
    // Read first: the user, and so the index entry to drop, is in the record.
    // A session stored by a newer version goes too, its index entry left
    // to be pruned (this version cannot read whose it is).
    auto found = co_await store_.get(id);
    const bool unreadable = !found && found.error() == sessiond::error::session_unreadable;
    if (!found && !unreadable) co_return store_failure(found.error());
    if (found && !*found) co_return errc::not_found;
    // (A named local: GCC 12 mishandles temporaries across a co_await.)
    const store::user_ref owner = unreadable ? store::user_ref{{}, id.bucket, {}} : user_of(**found);
    co_return co_await remove_found(id, owner, who);
}

asio::awaitable<result<session_record>> session_service::revoke_own(const session_id& id, std::string_view user_id,
                                                                    const actor& who) {
    // Another bucket is another user's: no need to ask the store.
    const auto u = user(user_id);
    if (id.bucket != u.bucket) co_return errc::not_found;
    auto found = co_await store_.get(id);
    if (!found && found.error() == sessiond::error::session_unreadable) co_return errc::not_found;
    if (!found) co_return store_failure(found.error());
    if (!*found || (*found)->user_id != user_id) co_return errc::not_found;
    co_return co_await remove_found(id, u, who);
}

asio::awaitable<result<session_record>> session_service::remove_found(const session_id& id, store::user_ref owner,
                                                                      const actor& who) {
    const auto note = revocation(who, session::revoke_reason::caller);
    auto removed = co_await store_.remove(id, owner, note);
    if (!removed) co_return store_failure(removed.error());
    if (!*removed) co_return errc::not_found;
    metrics::sessions_revoked.inc();
    audit("session.revoked", **removed, who);
    co_return std::move(**removed);
}

asio::awaitable<result<void>> session_service::set_not_before(std::string_view tenant, session::timestamp at,
                                                              const actor& who) {
    const store::event_note note{who.caller};
    auto set = co_await store_.set_not_before(tenant, at, note);
    if (!set) co_return set.error() == sessiond::error::session_limit ? set.error() : store_failure(set.error());
    audit_line({{"event", "epoch.changed"},
                {"tenant", tenant.empty() ? std::string_view("*") : tenant},
                {"not_before_ms", at.time_since_epoch().count()}},
               who);
    co_return result<void>();
}

asio::awaitable<user_revocation> session_service::set_user_not_before(std::string_view user_id, session::timestamp at,
                                                                      const actor& who) {
    // Kept as long as a session created before `at` could live.
    const auto until = at + std::max(policy_.max_absolute_timeout, policy_.absolute_timeout);
    const auto u = user(user_id);
    const store::event_note note{who.caller};
    auto set = co_await store_.set_user_not_before(u, at, until, note);
    if (!set) co_return user_revocation{0, store_failure(set.error())};
    audit_line({{"event", "epoch.changed"}, {"user_id", user_id}, {"not_before_ms", at.time_since_epoch().count()}},
               who);
    co_return co_await revoke_user(user_id, std::nullopt, who, session::revoke_reason::epoch);
}

asio::awaitable<result<std::optional<session::timestamp>>> session_service::user_not_before(std::string_view user_id) {
    auto read = co_await store_.user_not_before(user(user_id));
    if (!read) co_return store_failure(read.error());
    co_return *read;
}

asio::awaitable<result<std::shared_ptr<const session::not_before>>> session_service::not_before() {
    auto read = co_await store_.not_before();
    if (!read) co_return store_failure(read.error());
    co_return std::move(*read);
}

asio::awaitable<result<user_sessions>> session_service::list_user(std::string_view user_id,
                                                                  std::optional<store::user_cursor> after,
                                                                  std::size_t limit) {
    const auto u = user(user_id);
    if (after) after->id.bucket = u.bucket;  // a cursor names the id's random bytes; the bucket is the user's
    auto listed = co_await store_.list_user(u, after, std::clamp<std::size_t>(limit, 1, max_page));
    if (!listed) co_return store_failure(listed.error());
    auto& sessions = listed->sessions;
    auto instants = co_await store_.not_before();
    if (!instants) co_return store_failure(instants.error());
    auto now = clock_.now();
    std::erase_if(sessions,
                  [&](const session_record& r) { return session::store_deadline(r) <= now || (*instants)->ends(r); });
    sort_newest_first(sessions);
    co_return user_sessions{std::move(sessions), listed->next, listed->unreadable};
}

asio::awaitable<user_revocation> session_service::revoke_user(std::string_view user_id,
                                                              std::optional<session_id> except, const actor& who) {
    co_return co_await revoke_user(user_id, except, who, session::revoke_reason::user_revoke_all);
}

asio::awaitable<user_revocation> session_service::revoke_user(std::string_view user_id,
                                                              std::optional<session_id> except, const actor& who,
                                                              std::string_view reason) {
    // Batch after batch, each one store call of bounded work, so that a user
    // with many sessions holds up nobody else; between batches this I/O
    // thread serves its other requests.
    const auto u = user(user_id);
    user_revocation out;
    std::optional<store::user_cursor> after;
    auto note = revocation(who, reason);
    for (;;) {
        note.revoked_before = static_cast<std::int64_t>(out.revoked);
        auto batch = co_await store_.remove_user(u, except, after, note);
        if (!batch) {
            out.failure = store_failure(batch.error());
            break;
        }
        out.revoked += batch->removed;
        if (!batch->next) break;
        after = batch->next;
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    metrics::sessions_revoked.inc(out.revoked);
    audit_line({{"event", "user.sessions_revoked"},
                {"user_id", user_id},
                {"revoked", out.revoked},
                {"complete", !out.failure}},
               who);
    co_return out;
}

}  // namespace sessiond::service
