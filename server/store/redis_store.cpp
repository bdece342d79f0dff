#include "store/redis_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <iterator>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/error.hpp"
#include "store/store_metrics.hpp"
#include "log/log.hpp"
#include "redis/error.hpp"
#include "store/record_codec.hpp"
#include "store/scripts.hpp"

namespace sessiond::store {

namespace asio = boost::asio;
using session::session_id;
using session::session_record;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::int64_t ms(session::timestamp t) {
    return t.time_since_epoch().count();
}

// A session's member in its user's index: the 16 random bytes of its id.
std::string member_of(const session_id& id) {
    return std::string(reinterpret_cast<const char*>(id.id.data()), id.id.size());
}

// The bucket as the scripts take it: two bytes, big-endian, as in the public id.
std::string bucket_arg(std::uint16_t bucket) {
    return {static_cast<char>(bucket >> 8), static_cast<char>(bucket & 0xFF)};
}

// The scripts are the Lua files of store/scripts/, embedded at build time
// (store/scripts.hpp); each file says its KEYS, ARGV and reply. Those that
// reach sessions through a user's index start with prelude.lua.
// Those that append session events then have events.lua.
std::string with_prelude(std::string_view body) {
    std::string text(scripts::prelude);
    text.append(scripts::events).append(body);
    return text;
}
std::string with_events(std::string_view body) {
    std::string text(scripts::events);
    text.append(body);
    return text;
}

const redis::script create_script{with_prelude(scripts::create)};
const redis::script replace_script{with_prelude(scripts::replace)};
const redis::script remove_script{with_prelude(scripts::remove)};
const redis::script list_script{with_prelude(scripts::list)};
const redis::script remove_user_script{with_prelude(scripts::remove_user)};
const redis::script claim_script{std::string(scripts::claim)};
const redis::script provider_add_script{std::string(scripts::provider_add)};
const redis::script provider_read_script{std::string(scripts::provider_read)};
const redis::script provider_remove_script{std::string(scripts::provider_remove)};
const redis::script set_not_before_script{with_events(scripts::set_not_before)};
const redis::script index_key_script{std::string(scripts::index_key)};
const redis::script set_user_not_before_script{with_events(scripts::set_user_not_before)};
const redis::script webhook_lease_renew_script{std::string(scripts::webhook_lease_renew)};
const redis::script webhook_lease_release_script{std::string(scripts::webhook_lease_release)};
const redis::script webhook_progress_load_script{std::string(scripts::webhook_progress_load)};
const redis::script webhook_progress_save_script{std::string(scripts::webhook_progress_save)};

// Opens at most once a second: an outage, or a flood of bad records, must
// not flood the log (the metrics count every one).
class log_gate {
public:
    bool pass() noexcept {
        const auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        auto prev = last_.load(std::memory_order_relaxed);
        return now != prev && last_.compare_exchange_strong(prev, now);
    }

private:
    std::atomic<std::int64_t> last_{0};
};

// When a command was last refused for lack of a permission (steady clock,
// nanoseconds; 0 = never), for every thread's readiness.
std::atomic<std::int64_t> last_forbidden{0};

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A Redis failure as the store's error (which api/errors.cpp maps to what a
// caller sees), by its one classification (redis::classify): busy when the client's bound was hit;
// refused when Redis answered that it will not do it (out of memory, a
// permission missing, an argument it rejects): retrying does not help until
// an operator acts; otherwise the store is unavailable (timeouts, lost
// connections, failover replies such as READONLY or LOADING alike).
boost::system::error_code api_error(const boost::system::error_code& ec, std::string_view op) {
    const auto kind = redis::classify(ec);
    metrics::count_redis_failure(kind);
    static log_gate gate;
    if (gate.pass()) log::warn("redis command failed", {{"operation", op}, {"error", ec.message()}});
    switch (kind) {
        case metrics::redis_failure::busy:
            return sessiond::error::store_busy;
        case metrics::redis_failure::unacknowledged:
            return sessiond::error::store_unacknowledged;
        case metrics::redis_failure::oom:
            return sessiond::error::store_out_of_memory;
        case metrics::redis_failure::noperm:
            last_forbidden.store(steady_ns(), std::memory_order_relaxed);
            return sessiond::error::store_forbidden;
        case metrics::redis_failure::rejected:
            return sessiond::error::store_rejected;
        default:
            return sessiond::error::store_unavailable;
    }
}

// One Redis operation, timed from sent to answered and counted in flight
// meanwhile (on the coroutine's thread, whose shard it counts in).
class timed_op {
public:
    explicit timed_op(metrics::redis_op op) noexcept : op_(op), start_(std::chrono::steady_clock::now()) {
        metrics::redis_in_flight.inc();
    }
    timed_op(const timed_op&) = delete;
    timed_op& operator=(const timed_op&) = delete;
    ~timed_op() { done(); }
    void done() noexcept {
        if (std::exchange(finished_, true)) return;
        metrics::redis_in_flight.dec();
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_).count();
        metrics::observe_redis(op_, static_cast<std::uint64_t>(us));
    }

private:
    metrics::redis_op op_;
    std::chrono::steady_clock::time_point start_;
    bool finished_ = false;
};

// A stored record refused: logged with the session's public id (never a
// secret) and why.
void record_refused(std::string_view what, const session_id& id, const boost::system::error_code& ec) {
    static log_gate gate;
    if (!gate.pass()) return;
    const auto id_text = id.to_string();
    const auto why = ec.message();
    if (ec == record_errc::unsupported_format)
        log::warn(what, {{"session_id", id_text}, {"error", why}});
    else
        log::error(what, {{"session_id", id_text}, {"error", why}});
}

// A session of a newer record format, as far as this version can tell: its
// id and (from the header every format keeps) its user.
session_record unreadable_stub(std::string_view value, const session_id& id) {
    session_record stub;
    stub.id = id;
    stub.user_id = std::string(record_owner(value).value_or(""));
    return stub;
}

}  // namespace

redis_store::redis_store(redis::client& client, const session::clock& clock, std::string key_prefix,
                         record_sealer sealer)
    : client_(client), clock_(clock), prefix_(std::move(key_prefix)), sealer_(std::move(sealer)) {}

redis_store::~redis_store() {
    if (cache_ && client_.tracker()) client_.tracker()->set_listener(nullptr);
}

void redis_store::enable_cache(cache_limits limits, std::shared_ptr<write_marks> marks) {
    auto* tracker = client_.tracker();
    if (!tracker) throw std::logic_error("the validation cache needs the client's invalidation tracking");
    marks_ = std::move(marks);
    cache_ = std::make_unique<record_cache>(limits, marks_);
    tracker->set_listener(this);
}

std::optional<session_id> redis_store::session_of(std::string_view key) const {
    // <prefix>{<bucket>}:s:<public id>
    if (!key.starts_with(prefix_)) return std::nullopt;
    key.remove_prefix(prefix_.size());
    const auto close = key.find("}:s:");
    if (!key.starts_with('{') || close == std::string_view::npos) return std::nullopt;
    auto id = session_id::parse(key.substr(close + 4));
    if (!id || std::to_string(id->bucket) != key.substr(1, close - 1)) return std::nullopt;
    return id;
}

void redis_store::on_invalidate(std::string_view key) {
    if (key.size() == prefix_.size() + not_before_suffix.size() && key == not_before_key_name()) {
        not_before_.reset();
        ++not_before_changes_;
        return;
    }
    const auto id = session_of(key);
    if (!id || !cache_) return;
    metrics::cache_invalidations.inc();
    cache_->invalidate(*id);
    metrics::cache_entries.set(cache_->size());
    if (auto it = awaiting_.find(*id); it != awaiting_.end()) {
        const auto delay = std::chrono::steady_clock::now() - it->second;
        metrics::observe_invalidation_delay(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(delay).count()));
        awaiting_.erase(it);
    }
}

void redis_store::on_flush() {
    not_before_.reset();
    ++not_before_changes_;
    if (!cache_) return;
    metrics::cache_flushes.inc();
    cache_->clear();
    awaiting_.clear();
    metrics::cache_entries.set(0);
}

void redis_store::writing(const session_id& id) {
    if (!cache_) return;
    cache_->invalidate(id);
    // Bounded: writes whose invalidation never comes (the link was down) go.
    if (awaiting_.size() >= 4096) awaiting_.clear();
    awaiting_.insert_or_assign(id, std::chrono::steady_clock::now());
}

void redis_store::written(const session_id& id) {
    if (!cache_) return;
    cache_->invalidate(id);
    marks_->mark(id);
    metrics::cache_entries.set(cache_->size());
}

std::string redis_store::slot_prefix(std::uint16_t bucket) const {
    // Built in place: this runs for every request (validate's key).
    char digits[8];
    auto end = std::to_chars(std::begin(digits), std::end(digits), bucket).ptr;
    std::string out;
    out.reserve(prefix_.size() + 32);
    out.append(prefix_).append(1, '{').append(digits, end).append("}:");
    return out;
}

std::string redis_store::session_key(const session_id& id) const {
    return slot_prefix(id.bucket).append("s:").append(id.to_string());
}

std::string redis_store::user_key(const user_ref& user) const {
    return slot_prefix(user.bucket).append("u:").append(user.index_name);
}

redis_store::read_outcome redis_store::open_value(std::string_view value, std::string_view key_name,
                                                  const session_id& id) const {
    auto r = sealer_.open(value, key_name, id);
    if (r) {
        if (static_cast<std::uint8_t>(value[0]) == 2) metrics::records_unsigned_read.inc();
        if (session::store_deadline(*r) <= clock_.now()) return {std::nullopt, {}};
        return {std::move(*r), {}};
    }
    if (r.error() == record_errc::unsupported_format) {
        metrics::records_unreadable.inc();
        record_refused("session record of a newer format: this version cannot read it", id, r.error());
    } else if (r.error() == record_errc::unsigned_record) {
        metrics::records_unsigned.inc();
        record_refused(
            "unsealed (format 2) session record refused: while instances that write format 2 still "
            "run, set record-accept-unsigned",
            id, r.error());
    } else {
        metrics::records_forged.inc();
        record_refused("session record refused as tampered: not written by sessiond under its key", id, r.error());
    }
    return {std::nullopt, r.error()};
}

result<std::optional<session_record>> redis_store::decode_value(std::string_view value, std::string_view key_name,
                                                                const session_id& id) const {
    auto read = open_value(value, key_name, id);
    // Tampered, corrupt or unsealed: as if there were no session (never served).
    if (read.error == record_errc::unsupported_format) return sessiond::error::session_unreadable;
    return std::move(read.record);
}

result<std::vector<session_record>> redis_store::decode_pairs(std::span<const redis::reply> items, std::size_t first,
                                                              const user_ref& user, std::size_t* unreadable) const {
    std::vector<session_record> out;
    if (first > items.size() || (items.size() - first) % 2 != 0)
        return api_error(redis::error::protocol_error, "pairs");
    for (std::size_t i = first; i + 1 < items.size(); i += 2) {
        const std::string_view member = items[i].str();
        session_id id;
        // The scripts return only ids of this bucket and their records: anything else is a protocol error.
        if (!items[i].is_string() || !items[i + 1].is_string() || member.size() != id.id.size())
            return api_error(redis::error::protocol_error, "pairs");
        id.bucket = user.bucket;
        std::memcpy(id.id.data(), member.data(), id.id.size());
        auto read = open_value(items[i + 1].str(), session_key(id), id);
        if (read.error == record_errc::unsupported_format) {
            if (!unreadable) {
                // An evicted session this version cannot read: it went all
                // the same, and its audit event names it and its user.
                auto stub = unreadable_stub(items[i + 1].str(), id);
                if (stub.user_id == user.user_id) out.push_back(std::move(stub));
            } else {
                ++*unreadable;
            }
            continue;
        }
        // The scripts return only the user's sessions; checked again here,
        // as a shared index must never show one user another's session.
        if (read.record && read.record->user_id == user.user_id) out.push_back(std::move(*read.record));
    }
    return out;
}

asio::awaitable<result<created>> redis_store::create(const session_record& r, const user_ref& user,
                                                     const session::policy& p, event_note note) {
    // Arguments are built before the co_await: GCC 12 rejects braced lists
    // of temporaries that live across a suspension point.
    std::string value = sealer_.seal(r, session_key(r.id));
    auto slot = slot_prefix(r.id.bucket);
    std::vector<std::string> keys{session_key(r.id), user_key(user)};
    std::vector<std::string> args;
    args.reserve(10);
    args.push_back(std::move(value));
    args.push_back(std::to_string(ms(session::store_deadline(r))));
    args.push_back(member_of(r.id));
    args.push_back(std::to_string(p.max_sessions_per_user));
    args.push_back(std::string(p.on_limit == session::limit_policy::reject ? "1" : "0"));
    args.push_back(slot + "s:");
    args.push_back(bucket_arg(r.id.bucket));
    args.push_back(user.user_id);
    args.push_back(std::to_string(max_walk));
    add_events(keys, args, r.id.bucket, note.caller);
    timed_op timing(metrics::redis_op::create);
    auto [ec, reply] = co_await client_.async_eval_durable(create_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "create");
    if (!reply.is_array()) co_return api_error(redis::error::protocol_error, "create");
    auto elements = reply.elements();
    if (elements.empty() || !elements[0].is_integer()) co_return api_error(redis::error::protocol_error, "create");
    if (elements[0].integer() == 1) co_return sessiond::error::session_limit;
    auto evicted = decode_pairs(elements, 1, user, nullptr);
    if (!evicted) co_return evicted.error();
    for (const auto& gone : *evicted)
        written(gone.id);
    co_return created{std::move(*evicted)};
}

bool redis_store::ready() const {
    if (!client_.ready()) return false;
    const auto forbidden = last_forbidden.load(std::memory_order_relaxed);
    return forbidden == 0 || steady_ns() - forbidden > std::chrono::nanoseconds(refused_hold).count();
}

asio::awaitable<result<bool>> redis_store::check_index_key(bool overwrite) {
    const auto fingerprint = sealer_.keys()->user_index_fingerprint();
    std::vector<std::string> keys{index_key_name()};
    std::vector<std::string> args{fingerprint, overwrite ? "1" : "0"};
    timed_op timing(metrics::redis_op::check_index_key);
    auto [ec, reply] = co_await client_.async_eval(index_key_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return result<bool>(boost::system::in_place_error, api_error(ec, "check_index_key"));
    if (!reply.is_string())
        co_return result<bool>(boost::system::in_place_error,
                               api_error(redis::error::protocol_error, "check_index_key"));
    co_return reply.str() == fingerprint;
}

asio::awaitable<result<bool>> redis_store::claim_once(std::string_view name, std::chrono::milliseconds ttl) {
    std::string key = prefix_;
    key.append("jti:{").append(name).append(1, '}');
    std::vector<std::string> keys{std::move(key)};
    std::vector<std::string> args{std::to_string(std::max<std::int64_t>(ttl.count(), 1))};
    timed_op timing(metrics::redis_op::claim);
    // Durable like a revocation: a failover must not forget that the
    // assertion was redeemed.
    auto [ec, reply] = co_await client_.async_eval_durable(claim_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return result<bool>(boost::system::in_place_error, api_error(ec, "claim"));
    if (!reply.is_integer() || (reply.integer() != 0 && reply.integer() != 1))
        co_return result<bool>(boost::system::in_place_error, api_error(redis::error::protocol_error, "claim"));
    co_return reply.integer() == 1;
}

asio::awaitable<result<std::optional<session_record>>> redis_store::get(const session_id& id) {
    const auto key = session_key(id);  // built once: the GET's key and the seal's key name
    timed_op timing(metrics::redis_op::get);
    auto [ec, reply] = co_await client_.async_exec(redis::command("GET", key), use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "get");
    if (reply.is_nil()) co_return std::optional<session_record>();
    if (!reply.is_string()) co_return api_error(redis::error::protocol_error, "get");
    co_return decode_value(reply.str(), key, id);
}

asio::awaitable<result<std::optional<session_record>>> redis_store::get_cached(const session_id& id) {
    const auto* tracker = client_.tracker();
    if (!cache_ || !tracker) co_return co_await get(id);
    const bool established = tracker->established();
    const auto now = std::chrono::steady_clock::now();
    if (!established || !tracker->fresh(now)) {
        metrics::cache_blind.inc();
        // Established but not heard from lately: the read may still fill
        // the cache (a late answer proves the link current, see tracking.hpp).
        if (!established) co_return co_await get(id);
    } else if (const auto* hit = cache_->find(id, now)) {
        // As Redis would: a session past its store deadline is gone, whether
        // or not its expiry has reached us yet.
        if (session::store_deadline(*hit) > clock_.now()) {
            metrics::cache_hits.inc();
            co_return std::optional<session_record>(*hit);
        }
        cache_->invalidate(id);
        metrics::cache_misses.inc();
    } else {
        metrics::cache_misses.inc();
    }
    auto ticket = cache_->begin(id);
    auto read = co_await get(id);
    if (read && *read) {
        cache_->fill(ticket, **read, std::chrono::steady_clock::now());
        metrics::cache_entries.set(cache_->size());
    }
    co_return read;
}

asio::awaitable<result<bool>> redis_store::replace(const session_record& expected, const session_record& next,
                                                   const user_ref& user, event_note note) {
    std::vector<std::string> keys{session_key(next.id), user_key(user)};
    std::vector<std::string> args;
    args.reserve(10);
    args.push_back(std::to_string(expected.version));
    args.push_back(sealer_.seal(next, keys[0]));
    args.push_back(std::to_string(ms(session::store_deadline(next))));
    args.push_back(member_of(next.id));
    // A touch is no event: its call carries no stream.
    args.push_back(note.rotation && events_.enabled ? std::string("session.rotated") : std::string());
    args.push_back(next.user_id);
    if (note.rotation) add_events(keys, args, next.id.bucket, note.caller);
    // A rotation must survive a failover (durable writes); a touch, which
    // only moves the idle expiry, need not: losing one shortens the window.
    const bool touch_only = next.secret_hash == expected.secret_hash && next.metadata == expected.metadata;
    std::tuple<boost::system::error_code, redis::reply> answer;
    writing(next.id);
    timed_op timing(metrics::redis_op::replace);
    if (touch_only)
        answer = co_await client_.async_eval(replace_script, keys, args, use_tuple);
    else
        answer = co_await client_.async_eval_durable(replace_script, keys, args, use_tuple);
    timing.done();
    written(next.id);
    auto& [ec, reply] = answer;
    if (ec) co_return result<bool>(boost::system::in_place_error, api_error(ec, "replace"));
    if (!reply.is_integer())
        co_return result<bool>(boost::system::in_place_error, api_error(redis::error::protocol_error, "replace"));
    co_return reply.integer() == 1;
}

asio::awaitable<result<std::optional<session_record>>> redis_store::remove(const session_id& id, const user_ref& user,
                                                                           event_note note) {
    std::vector<std::string> keys{session_key(id), user_key(user)};
    std::vector<std::string> args{member_of(id), std::string(note.reason)};
    add_events(keys, args, id.bucket, note.caller);
    writing(id);
    timed_op timing(metrics::redis_op::remove);
    auto [ec, reply] = co_await client_.async_eval_durable(remove_script, keys, args, use_tuple);
    timing.done();
    written(id);
    if (ec) co_return api_error(ec, "remove");
    if (reply.is_nil()) co_return std::optional<session_record>();
    if (!reply.is_string()) co_return api_error(redis::error::protocol_error, "remove");
    auto read = open_value(reply.str(), keys[0], id);
    // Gone all the same; what there is to say about it is its id and user.
    if (read.error == record_errc::unsupported_format)
        co_return std::optional<session_record>(unreadable_stub(reply.str(), id));
    co_return std::move(read.record);  // nothing that was a session (tampered): nothing revoked
}

std::optional<user_cursor> redis_store::decode_cursor(const redis::reply& score, const redis::reply& member,
                                                      const user_ref& user) {
    if (!score.is_string() || !member.is_string()) return std::nullopt;
    std::int64_t deadline = 0;
    const auto digits = score.str();
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), deadline);
    session_id id;
    if (ec != std::errc() || end != digits.data() + digits.size() || member.str().size() != id.id.size())
        return std::nullopt;
    id.bucket = user.bucket;
    std::memcpy(id.id.data(), member.str().data(), id.id.size());
    return user_cursor{session::timestamp(std::chrono::milliseconds(deadline)), id};
}

void redis_store::append_cursor(std::vector<std::string>& args, const std::optional<user_cursor>& after) {
    args.push_back(after ? std::to_string(ms(after->deadline)) : std::string());
    args.push_back(after ? member_of(after->id) : std::string());
}

asio::awaitable<result<user_page>> redis_store::list_user(const user_ref& user, std::optional<user_cursor> after,
                                                          std::size_t limit) {
    std::vector<std::string> keys{user_key(user)};
    std::vector<std::string> args{slot_prefix(user.bucket) + "s:", bucket_arg(user.bucket), user.user_id,
                                  std::to_string(std::clamp<std::size_t>(limit, 1, max_walk)),
                                  std::to_string(max_walk)};
    append_cursor(args, after);
    add_events(keys, args, user.bucket, {});
    timed_op timing(metrics::redis_op::list);
    auto [ec, reply] = co_await client_.async_eval(list_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "list");
    if (!reply.is_array() || reply.elements().size() < 2) co_return api_error(redis::error::protocol_error, "list");
    auto elements = reply.elements();
    user_page out;
    if (!elements[0].str().empty()) {
        out.next = decode_cursor(elements[0], elements[1], user);
        if (!out.next) co_return api_error(redis::error::protocol_error, "list");
    }
    auto sessions = decode_pairs(elements, 2, user, &out.unreadable);
    if (!sessions) co_return sessions.error();
    out.sessions = std::move(*sessions);
    co_return out;
}

asio::awaitable<result<user_removal>> redis_store::remove_user(const user_ref& user, std::optional<session_id> except,
                                                               std::optional<user_cursor> after, event_note note) {
    std::vector<std::string> keys{user_key(user)};
    std::vector<std::string> args{slot_prefix(user.bucket) + "s:", bucket_arg(user.bucket),
                                  except ? member_of(*except) : std::string(), user.user_id,
                                  std::to_string(max_removal)};
    append_cursor(args, after);
    args.emplace_back(note.reason);
    args.push_back(std::to_string(note.revoked_before));
    add_events(keys, args, user.bucket, note.caller);
    timed_op timing(metrics::redis_op::remove_user);
    auto [ec, reply] = co_await client_.async_eval_durable(remove_user_script, keys, args, use_tuple);
    timing.done();
    // The sessions deleted are not named: every cache's entries read
    // before now are not served again (they are read anew).
    if (marks_) marks_->mark_all();
    if (ec) co_return api_error(ec, "remove_user");
    auto elements = reply.is_array() ? reply.elements() : std::span<const redis::reply>();
    if ((elements.size() != 1 && elements.size() != 3) || !elements[0].is_integer() || elements[0].integer() < 0)
        co_return api_error(redis::error::protocol_error, "remove_user");
    user_removal out{static_cast<std::size_t>(elements[0].integer()), std::nullopt};
    if (elements.size() == 3) {
        out.next = decode_cursor(elements[1], elements[2], user);
        if (!out.next) co_return api_error(redis::error::protocol_error, "remove_user");
    }
    co_return out;
}

namespace {

// HGETALL of the instants' hash: "all" and "t:<tenant>" fields, each a
// number of milliseconds in the timestamp range. nullopt for anything else.
std::optional<session::not_before> parse_not_before(const redis::reply& reply) {
    if (!reply.is_array() || reply.elements().size() % 2 != 0) return std::nullopt;
    session::not_before out;
    const auto& items = reply.elements();
    for (std::size_t i = 0; i < items.size(); i += 2) {
        if (!items[i].is_string() || !items[i + 1].is_string()) return std::nullopt;
        const std::string_view field = items[i].str(), value = items[i + 1].str();
        std::int64_t ms = -1;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
        const session::timestamp at{std::chrono::milliseconds(ms)};
        if (ec != std::errc() || end != value.data() + value.size() || at < session::min_timestamp ||
            at > session::max_timestamp)
            return std::nullopt;
        if (field == "all")
            out.all = at;
        else if (field.starts_with("t:") && session::valid_name(field.substr(2), session::max_tenant_size))
            out.tenants.insert_or_assign(std::string(field.substr(2)), at);
        else
            return std::nullopt;
    }
    return out;
}

}  // namespace

std::shared_ptr<const session::not_before> redis_store::not_before_now() {
    const auto* tracker = client_.tracker();
    if (!not_before_ || !cache_ || !tracker || !tracker->established() ||
        !tracker->fresh(std::chrono::steady_clock::now()) || marks_->not_before_written_since(not_before_sent_))
        return nullptr;
    return not_before_;
}

asio::awaitable<result<std::shared_ptr<const session::not_before>>> redis_store::not_before() {
    if (auto ready = not_before_now()) co_return ready;
    const auto* tracker = client_.tracker();
    const bool vouched =
        cache_ && tracker && tracker->established() && tracker->fresh(std::chrono::steady_clock::now());
    const auto changes = not_before_changes_;
    const auto sent = write_marks::now();
    timed_op timing(metrics::redis_op::not_before);
    const auto key = not_before_key_name();
    auto [ec, reply] = co_await client_.async_exec(redis::command("HGETALL", key), use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "not_before");
    auto parsed = parse_not_before(reply);
    if (!parsed) co_return api_error(redis::error::protocol_error, "not_before");
    auto out = std::make_shared<const session::not_before>(std::move(*parsed));
    // Kept only if no change was announced while the read was on its way
    // (the links being up is checked again when it is used).
    if (vouched && changes == not_before_changes_) {
        not_before_ = out;
        not_before_sent_ = sent;
    }
    co_return out;
}

asio::awaitable<result<void>> redis_store::set_not_before(std::string_view tenant, session::timestamp at,
                                                          event_note note) {
    // (Named locals: GCC 12 mishandles temporaries across a co_await.)
    std::vector<std::string> keys{not_before_key_name()};
    std::vector<std::string> args;
    args.push_back(tenant.empty() ? std::string("all") : "t:" + std::string(tenant));
    args.push_back(std::to_string(at.time_since_epoch().count()));
    args.push_back(std::to_string(session::max_tenant_instants));
    add_events(keys, args, session::events_meta_stream, note.caller);
    timed_op timing(metrics::redis_op::set_not_before);
    auto [ec, reply] = co_await client_.async_eval_durable(set_not_before_script, keys, args, use_tuple);
    timing.done();
    not_before_.reset();
    ++not_before_changes_;
    if (marks_) marks_->mark_not_before();
    if (ec) co_return api_error(ec, "set_not_before");
    if (!reply.is_integer()) co_return api_error(redis::error::protocol_error, "set_not_before");
    if (reply.integer() == 0) co_return sessiond::error::session_limit;
    co_return result<void>();
}

std::string redis_store::user_instant_key(const user_ref& user) const {
    return slot_prefix(user.bucket).append("n:").append(user.index_name);
}

asio::awaitable<result<void>> redis_store::set_user_not_before(const user_ref& user, session::timestamp at,
                                                               session::timestamp until, event_note note) {
    std::vector<std::string> keys{user_instant_key(user)};
    std::vector<std::string> args{std::to_string(ms(at)), user.user_id, std::to_string(ms(until))};
    add_events(keys, args, user.bucket, note.caller);
    timed_op timing(metrics::redis_op::set_not_before);
    auto [ec, reply] = co_await client_.async_eval_durable(set_user_not_before_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "set_user_not_before");
    if (!reply.is_integer()) co_return api_error(redis::error::protocol_error, "set_user_not_before");
    co_return result<void>();
}

asio::awaitable<result<std::optional<session::timestamp>>> redis_store::user_not_before(const user_ref& user) {
    const auto key = user_instant_key(user);
    timed_op timing(metrics::redis_op::not_before);
    auto [ec, reply] = co_await client_.async_exec(redis::command("GET", key), use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "user_not_before");
    if (reply.is_nil()) co_return std::nullopt;
    if (!reply.is_string()) co_return api_error(redis::error::protocol_error, "user_not_before");
    // "<ms> <user id>": another user's, sharing the index name, is none.
    const std::string_view value = reply.str();
    const auto space = value.find(' ');
    std::int64_t at = 0;
    if (space == std::string_view::npos ||
        std::from_chars(value.data(), value.data() + space, at).ptr != value.data() + space)
        co_return api_error(redis::error::protocol_error, "user_not_before");
    if (value.substr(space + 1) != user.user_id) co_return std::nullopt;
    co_return session::timestamp(std::chrono::milliseconds(at));
}

// --- OIDC back-channel logout: sessions by their provider's session ---

std::string redis_store::provider_key(const provider_ref& ref) const {
    return slot_prefix(ref.bucket) + "o:" + ref.name;
}

asio::awaitable<result<void>> redis_store::add_provider_session(const provider_ref& ref, const session_id& id,
                                                                session::timestamp until) {
    std::vector<std::string> keys{provider_key(ref)};
    std::vector<std::string> args{id.to_string(), std::to_string(ms(until))};
    timed_op timing(metrics::redis_op::provider_index);
    // Durable as the create that follows: a failover must not lose the
    // entry of a session it keeps.
    auto [ec, reply] = co_await client_.async_eval_durable(provider_add_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "provider_add");
    co_return result<void>();
}

asio::awaitable<result<std::vector<session_id>>> redis_store::provider_sessions(const provider_ref& ref) {
    std::vector<std::string> keys{provider_key(ref)};
    std::vector<std::string> args{std::to_string(max_walk)};
    timed_op timing(metrics::redis_op::provider_index);
    auto [ec, reply] = co_await client_.async_eval(provider_read_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "provider_read");
    if (!reply.is_array()) co_return api_error(redis::error::protocol_error, "provider_read");
    std::vector<session_id> out;
    for (const auto& item : reply.elements()) {
        // Written by sessiond only; anything else in the set is skipped.
        if (auto id = item.is_string() ? session_id::parse(item.str()) : std::nullopt) out.push_back(*id);
    }
    co_return out;
}

asio::awaitable<result<void>> redis_store::remove_provider_sessions(const provider_ref& ref,
                                                                    const std::vector<session_id>& ids) {
    std::vector<std::string> keys{provider_key(ref)};
    std::vector<std::string> args;
    args.reserve(ids.size());
    for (const auto& id : ids)
        args.push_back(id.to_string());
    timed_op timing(metrics::redis_op::provider_index);
    auto [ec, reply] = co_await client_.async_eval_durable(provider_remove_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "provider_remove");
    co_return result<void>();
}

// --- end OIDC back-channel logout ---

}  // namespace sessiond::store

// --- Session events ---

namespace sessiond::store {

std::string redis_store::events_key(std::uint32_t stream) const {
    if (stream == session::events_meta_stream) return prefix_ + "{meta}:ev";
    return slot_prefix(static_cast<std::uint16_t>(stream)).append("ev");
}

void redis_store::enable_events(event_settings settings) {
    events_ = std::move(settings);
    age_trimmed_.assign(events_.enabled ? session::events_stream_count : 0, session::timestamp{});
}

void redis_store::add_events(std::vector<std::string>& keys, std::vector<std::string>& args, std::uint32_t stream,
                             std::string_view caller) {
    if (!events_.enabled) return;
    keys.push_back(events_key(stream));
    args.push_back(events_.instance);
    args.emplace_back(caller);
    args.push_back(std::to_string(events_.max_per_stream));
    const auto now = clock_.now();
    const auto period = std::min<std::chrono::milliseconds>(events_.retention / 8, std::chrono::minutes(1));
    if (stream < age_trimmed_.size() && now - age_trimmed_[stream] >= period) {
        age_trimmed_[stream] = now;
        // Redis' clock stamps the ids; sessiond's may differ from it by
        // the hosts' skew, small against any retention.
        args.push_back(std::to_string((now - events_.retention).time_since_epoch().count()) + "-0");
    } else {
        args.emplace_back();
    }
}

namespace {

// One stream entry ([id, [field, value, ...]]) as an event; nullopt for
// an entry sessiond did not write.
std::optional<session::event> parse_event(const redis::reply& entry, std::uint32_t stream) {
    if (!entry.is_array() || entry.elements().size() != 2) return std::nullopt;
    const auto& id = entry.elements()[0];
    const auto& fields = entry.elements()[1];
    if (!id.is_string() || !fields.is_array() || fields.elements().size() % 2 != 0) return std::nullopt;
    const auto position = session::event_position::parse(id.str());
    if (!position) return std::nullopt;
    session::event e;
    e.id = std::string(id.str());
    e.stream = stream;
    e.at = session::timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(position->ms)));
    bool typed = false;
    const auto items = fields.elements();
    for (std::size_t i = 0; i < items.size(); i += 2) {
        if (!items[i].is_string() || !items[i + 1].is_string()) return std::nullopt;
        const std::string_view name = items[i].str(), value = items[i + 1].str();
        if (name.size() != 1) continue;  // a field a later version added
        switch (name[0]) {
            case 't': {
                const auto type = session::parse_event_type(value);
                if (!type) return std::nullopt;  // a type a later version added
                e.type = *type;
                typed = true;
                break;
            }
            case 's':
                e.session_id = std::string(value);
                break;
            case 'u':
                e.user_id = std::string(value);
                break;
            case 'i':
                e.instance = std::string(value);
                break;
            case 'c':
                e.caller = std::string(value);
                break;
            case 'r':
                e.reason = std::string(value);
                break;
            case 'e':
                e.tenant = std::string(value);
                break;
            case 'n':
                std::from_chars(value.data(), value.data() + value.size(), e.instant_ms);
                break;
            case 'k':
                std::from_chars(value.data(), value.data() + value.size(), e.count);
                break;
            default:
                break;
        }
    }
    if (!typed) return std::nullopt;
    return e;
}

void parse_entries(const redis::reply& entries, std::uint32_t stream, std::vector<session::event>& out) {
    if (!entries.is_array()) return;
    for (const auto& entry : entries.elements())
        if (auto e = parse_event(entry, stream)) out.push_back(std::move(*e));
}

// The exclusive start of a read after `p`: Redis reads "(<id>" as after it.
std::string after_arg(const session::event_position& p) {
    return "(" + p.to_string();
}

}  // namespace

asio::awaitable<result<std::vector<session::event>>> redis_store::read_events(std::uint32_t stream,
                                                                              session::event_position after,
                                                                              std::size_t limit) {
    if (stream >= session::events_stream_count) co_return std::vector<session::event>();
    const auto key = events_key(stream);
    const auto start = after_arg(after);
    const auto count = std::to_string(std::clamp<std::size_t>(limit, 1, max_event_read));
    timed_op timing(metrics::redis_op::events);
    auto [ec, reply] =
        co_await client_.async_exec(redis::command("XRANGE", key, start, "+", "COUNT", count), use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "read_events");
    if (!reply.is_array()) co_return api_error(redis::error::protocol_error, "read_events");
    std::vector<session::event> out;
    parse_entries(reply, stream, out);
    co_return out;
}

asio::awaitable<result<std::vector<session::event>>> redis_store::read_all_events(event_cursor& cursor,
                                                                                  std::size_t limit) {
    limit = std::clamp<std::size_t>(limit, 1, max_event_read);
    std::vector<session::event> out;
    constexpr std::uint32_t n = session::events_stream_count;
    if (cursor.at.size() != n) cursor.at.resize(n);
    const bool cluster = client_.status().mode == redis::topology::cluster;
    // One pass over every stream at most, from where the last call ended.
    std::uint32_t visited = 0;
    while (visited < n && out.size() < limit) {
        const std::uint32_t first = (cursor.next_stream + visited) % n;
        if (cluster) {
            // One XRANGE per stream (a multi-key read must stay in one
            // slot), a window of them at once: the client pipelines them on
            // each node's connection, so a pass costs a round trip per
            // window rather than one per stream.
            constexpr std::uint32_t window = 64;
            const std::uint32_t m = std::min({window, n - visited, n - first});
            const auto count = std::to_string(limit - out.size());
            using read_op = decltype(client_.async_exec(std::declval<redis::command>(), asio::deferred));
            std::vector<read_op> reads;
            reads.reserve(m);
            for (std::uint32_t i = 0; i < m; ++i)
                reads.push_back(client_.async_exec(redis::command("XRANGE", events_key(first + i),
                                                                  after_arg(cursor.at[first + i]), "+", "COUNT", count),
                                                   asio::deferred));
            auto group = asio::experimental::make_parallel_group(std::move(reads));
            timed_op timing(metrics::redis_op::events);
            auto [order, errors, replies] =
                co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
            timing.done();
            for (std::uint32_t i = 0; i < m; ++i) {
                if (errors[i]) co_return api_error(errors[i], "read_all_events");
                if (!replies[i].is_array()) co_return api_error(redis::error::protocol_error, "read_all_events");
                parse_entries(replies[i], first + i, out);
            }
            visited += m;
            continue;
        }
        // XREAD COUNT c STREAMS k1..km id1..idm: the streams of one batch
        // (without a wrap past the last one), all on the one primary.
        constexpr std::uint32_t batch = 512;
        const std::uint32_t m = std::min({batch, n - visited, n - first});
        std::vector<std::string> argv{"XREAD", "COUNT", std::to_string(limit - out.size()), "STREAMS"};
        argv.reserve(4 + 2 * m);
        for (std::uint32_t i = 0; i < m; ++i)
            argv.push_back(events_key(first + i));
        for (std::uint32_t i = 0; i < m; ++i)
            argv.push_back(cursor.at[first + i].to_string());
        const auto cmd = redis::command::from_args(std::span<const std::string>(argv), 5);
        timed_op timing(metrics::redis_op::events);
        auto [ec, reply] = co_await client_.async_exec(cmd, use_tuple);
        timing.done();
        if (ec) co_return api_error(ec, "read_all_events");
        if (reply.is_array()) {
            const std::string head = slot_prefix(0).substr(0, prefix_.size() + 1);  // "<prefix>{"
            for (const auto& item : reply.elements()) {
                if (!item.is_array() || item.elements().size() != 2 || !item.elements()[0].is_string())
                    co_return api_error(redis::error::protocol_error, "read_all_events");
                std::string_view key = item.elements()[0].str();
                std::uint32_t stream = session::events_meta_stream;
                if (!key.starts_with(prefix_ + "{meta}")) {
                    key.remove_prefix(std::min(key.size(), head.size()));
                    std::from_chars(key.data(), key.data() + key.size(), stream);
                }
                parse_entries(item.elements()[1], stream, out);
            }
        } else if (!reply.is_nil()) {
            co_return api_error(redis::error::protocol_error, "read_all_events");
        }
        visited += m;
    }
    // XREAD's COUNT is per stream: keep `limit` in all, each stream's first.
    if (out.size() > limit) out.resize(limit);
    cursor.next_stream = (cursor.next_stream + visited) % n;
    co_return out;
}

}  // namespace sessiond::store

// --- Webhooks ---

namespace sessiond::store {

std::string redis_store::webhook_key(std::string_view endpoint, std::string_view what) const {
    std::string key = prefix_;
    key.append("{meta}:wh:").append(endpoint).append(1, ':').append(what);
    return key;
}

namespace {

// A lease script's reply, 0 or 1.
result<bool> lease_reply(const boost::system::error_code& ec, const redis::reply& reply, std::string_view op) {
    if (ec) return result<bool>(boost::system::in_place_error, api_error(ec, op));
    if (!reply.is_integer() || (reply.integer() != 0 && reply.integer() != 1))
        return result<bool>(boost::system::in_place_error, api_error(redis::error::protocol_error, op));
    return reply.integer() == 1;
}

}  // namespace

asio::awaitable<result<bool>> redis_store::acquire_webhook_lease(std::string_view endpoint, std::string_view token,
                                                                 std::chrono::milliseconds ttl) {
    std::vector<std::string> keys{webhook_key(endpoint, "lease")};
    std::vector<std::string> args{std::string(token), std::to_string(std::max<std::int64_t>(ttl.count(), 1)), "1"};
    timed_op timing(metrics::redis_op::webhooks);
    auto [ec, reply] = co_await client_.async_eval(webhook_lease_renew_script, keys, args, use_tuple);
    timing.done();
    co_return lease_reply(ec, reply, "webhook_lease");
}

asio::awaitable<result<bool>> redis_store::renew_webhook_lease(std::string_view endpoint, std::string_view token,
                                                               std::chrono::milliseconds ttl) {
    std::vector<std::string> keys{webhook_key(endpoint, "lease")};
    std::vector<std::string> args{std::string(token), std::to_string(std::max<std::int64_t>(ttl.count(), 1)), "0"};
    timed_op timing(metrics::redis_op::webhooks);
    auto [ec, reply] = co_await client_.async_eval(webhook_lease_renew_script, keys, args, use_tuple);
    timing.done();
    co_return lease_reply(ec, reply, "webhook_lease");
}

asio::awaitable<result<void>> redis_store::release_webhook_lease(std::string_view endpoint, std::string_view token) {
    std::vector<std::string> keys{webhook_key(endpoint, "lease")};
    std::vector<std::string> args{std::string(token)};
    timed_op timing(metrics::redis_op::webhooks);
    auto [ec, reply] = co_await client_.async_eval(webhook_lease_release_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "webhook_lease");
    co_return result<void>();
}

asio::awaitable<result<webhook_progress>> redis_store::load_webhook_progress(std::string_view endpoint) {
    std::vector<std::string> keys{webhook_key(endpoint, "pos")};
    std::vector<std::string> args;
    timed_op timing(metrics::redis_op::webhooks);
    auto [ec, reply] = co_await client_.async_eval(webhook_progress_load_script, keys, args, use_tuple);
    timing.done();
    if (ec) co_return api_error(ec, "webhook_progress");
    if (!reply.is_array() || reply.elements().size() % 2 != 0)
        co_return api_error(redis::error::protocol_error, "webhook_progress");
    webhook_progress out;
    bool started = false;
    const auto& items = reply.elements();
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
        if (!items[i].is_string() || !items[i + 1].is_string())
            co_return api_error(redis::error::protocol_error, "webhook_progress");
        const std::string_view field = items[i].str();
        const std::string_view value = items[i + 1].str();
        if (field == "start") {
            started = std::from_chars(value.data(), value.data() + value.size(), out.start_ms).ptr ==
                      value.data() + value.size();
            continue;
        }
        std::uint32_t stream = 0;
        const auto pos = session::event_position::parse(value);
        // A field sessiond did not write is skipped, as an unknown stream entry is.
        if (std::from_chars(field.data(), field.data() + field.size(), stream).ptr != field.data() + field.size() ||
            stream >= session::events_stream_count || !pos)
            continue;
        out.at.emplace_back(stream, *pos);
    }
    if (!started) co_return api_error(redis::error::protocol_error, "webhook_progress");
    co_return out;
}

asio::awaitable<result<bool>> redis_store::save_webhook_progress(
    std::string_view endpoint, std::string_view token,
    const std::vector<std::pair<std::uint32_t, session::event_position>>& changed) {
    std::vector<std::string> keys{webhook_key(endpoint, "lease"), webhook_key(endpoint, "pos")};
    std::vector<std::string> args;
    args.reserve(1 + 2 * changed.size());
    args.emplace_back(token);
    for (const auto& [stream, at] : changed) {
        args.push_back(std::to_string(stream));
        args.push_back(at.to_string());
    }
    timed_op timing(metrics::redis_op::webhooks);
    // Durable: a failover that lost it would have the next deliverer send
    // a batch again, which receivers tolerate (at least once), but not often.
    auto [ec, reply] = co_await client_.async_eval_durable(webhook_progress_save_script, keys, args, use_tuple);
    timing.done();
    co_return lease_reply(ec, reply, "webhook_progress");
}

}  // namespace sessiond::store
