#include "store/redis_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <iterator>
#include <cstring>

#include "common/error.hpp"
#include "log/log.hpp"
#include "redis/error.hpp"
#include "store/record_codec.hpp"

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

// Index members are the 16 random bytes of each session id (not its
// 24-character public id: two members then fit a 64-byte listpack). Scripts
// that reach sessions through the index rebuild each session key from the
// session key prefix "<prefix>{<bucket>}:s:" and the bucket's two bytes
// (big-endian, as in the public id) with this prelude.
//
// Two users of one bucket share an index if their index names (keyed hashes:
// see keyring::user_index_name) collide, so these scripts also read the user
// id from each record's header and act only on the sessions of the user they
// were called for: another user's session in the index is neither returned,
// counted, evicted nor deleted.
//
// Every script touches only keys of one hash slot: the declared keys', and
// session keys built from the same "<prefix>{<bucket>}:" they start with.
constexpr std::string_view prelude_lua = R"lua(
-- prefix .. base64url(bucket .. m): 18 bytes, exactly 24 characters, as
-- session_id::to_string spells them. nil for a member that is no id.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local function session_key(prefix, bucket, m)
  if #m ~= 16 or #bucket ~= 2 then return nil end
  local s, c = bucket .. m, {}
  for i = 1, 18, 3 do
    local a, b, d = string.byte(s, i, i + 2)
    local n = a * 65536 + b * 256 + d
    c[#c + 1] = string.byte(B64, math.floor(n / 262144) + 1)
    c[#c + 1] = string.byte(B64, math.floor(n / 4096) % 64 + 1)
    c[#c + 1] = string.byte(B64, math.floor(n / 64) % 64 + 1)
    c[#c + 1] = string.byte(B64, n % 64 + 1)
  end
  return prefix .. string.char(unpack(c))
end
-- Whether record v belongs to the user id uid. A record (format 2, see
-- store/record_codec.hpp) starts: format byte, flags byte, version (LEB128
-- varint), user id length (varint, at most 256), user id. A record of
-- another format is nobody's here.
local function owned(v, uid)
  if string.byte(v, 1) ~= 2 then return false end
  local i = 3
  repeat
    local b = string.byte(v, i)
    if not b then return false end
    i = i + 1
  until b < 128
  local n, scale = 0, 1
  repeat
    local b = string.byte(v, i)
    if not b or scale > 128 then return false end
    i = i + 1
    n = n + (b % 128) * scale
    scale = scale * 128
  until b < 128
  return n == #uid and string.sub(v, i, i + n - 1) == uid
end
)lua";

// KEYS[1] session key, KEYS[2] user index; ARGV: record, deadline, member,
// now, limit, reject (1/0), session key prefix, bucket, user id. Returns {0,
// evicted member, evicted record, ...} or {1} when the limit rejects. Only
// the user's own live sessions count against the limit.
const redis::script create_script(std::string(prelude_lua) + R"lua(
local index = KEYS[2]
redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[4])
local limit = tonumber(ARGV[5])
local out = {0}
if limit > 0 and redis.call('ZCARD', index) >= limit then
  -- The user's live sessions, earliest deadline first; members whose
  -- session is gone are dropped on the way.
  local own = {}
  for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local key = session_key(ARGV[7], ARGV[8], m)
    local v = key and redis.call('GET', key)
    if not v then
      redis.call('ZREM', index, m)
    elseif owned(v, ARGV[9]) then
      own[#own + 1] = {m, key, v}
    end
  end
  if #own >= limit then
    if ARGV[6] == '1' then return {1} end
    for i = 1, #own - limit + 1 do
      local s = own[i]
      redis.call('DEL', s[2])
      redis.call('ZREM', index, s[1])
      out[#out + 1] = s[1]
      out[#out + 1] = s[3]
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('ZADD', index, ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', index, top[2])
return out
)lua");

// KEYS[1] session key, KEYS[2] user index; ARGV: expected record, new record,
// deadline, member. 1 if written, 0 if the stored record is another one.
const redis::script replace_script(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], top[2])
return 1
)lua");

// KEYS[1] user index; ARGV: now, session key prefix, bucket, user id.
// {member, record, ...} of the user's live sessions; prunes members that
// expired or whose session is gone.
const redis::script list_script(std::string(prelude_lua) + R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = session_key(ARGV[2], ARGV[3], m)
  local v = key and redis.call('GET', key)
  if not v then
    redis.call('ZREM', KEYS[1], m)
  elseif owned(v, ARGV[4]) then
    out[#out + 1] = m
    out[#out + 1] = v
  end
end
return out
)lua");

// KEYS[1] user index; ARGV: session key prefix, bucket, member to keep (or
// ''), user id. The number of the user's live sessions deleted.
const redis::script remove_user_script(std::string(prelude_lua) + R"lua(
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if m ~= ARGV[3] then
    local key = session_key(ARGV[1], ARGV[2], m)
    local v = key and redis.call('GET', key)
    if not v then
      redis.call('ZREM', KEYS[1], m)
    elseif owned(v, ARGV[4]) then
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], m)
      n = n + 1
    end
  end
end
return n
)lua");

// A store failure as the API's error: busy when the client's bound was hit,
// otherwise the store is unavailable (timeouts, lost connections, failover
// replies such as READONLY or LOADING alike).
boost::system::error_code api_error(const boost::system::error_code& ec, std::string_view op) {
    // At most one line a second: an outage must not flood the log.
    static std::atomic<std::int64_t> last_logged{0};
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    auto prev = last_logged.load(std::memory_order_relaxed);
    if (now != prev && last_logged.compare_exchange_strong(prev, now))
        log::warn("redis command failed", {{"operation", op}, {"error", ec.message()}});
    return ec == redis::error::busy ? sessiond::error::store_busy : sessiond::error::store_unavailable;
}

}  // namespace

redis_store::redis_store(redis::client& client, const session::clock& clock, std::string key_prefix)
    : client_(client), clock_(clock), prefix_(std::move(key_prefix)) {}

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

result<std::optional<session_record>> redis_store::decode_value(std::string_view value, const session_id& id) const {
    auto r = decode_record(value, id);
    if (!r) {
        log::error("unreadable session value in redis", {{"error", r.error().message()}});
        return sessiond::error::store_unavailable;
    }
    if (session::store_deadline(*r) <= clock_.now()) return std::optional<session_record>();
    return std::optional<session_record>(std::move(*r));
}

result<std::vector<session_record>> redis_store::decode_pairs(std::span<const redis::reply> items, std::size_t first,
                                                              const user_ref& user) const {
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
        auto decoded = decode_value(items[i + 1].str(), id);
        if (!decoded) return decoded.error();
        // The scripts return only the user's sessions; checked again here,
        // as a shared index must never show one user another's session.
        if (*decoded && (*decoded)->user_id == user.user_id) out.push_back(std::move(**decoded));
    }
    return out;
}

asio::awaitable<result<created>> redis_store::create(const session_record& r, const user_ref& user,
                                                     const session::policy& p) {
    // Arguments are built before the co_await: GCC 12 rejects braced lists
    // of temporaries that live across a suspension point.
    std::string value = encode_record(r);
    auto slot = slot_prefix(r.id.bucket);
    std::vector<std::string> keys{session_key(r.id), user_key(user)};
    std::vector<std::string> args;
    args.reserve(9);
    args.push_back(std::move(value));
    args.push_back(std::to_string(ms(session::store_deadline(r))));
    args.push_back(member_of(r.id));
    args.push_back(std::to_string(ms(clock_.now())));
    args.push_back(std::to_string(p.max_sessions_per_user));
    args.push_back(std::string(p.on_limit == session::limit_policy::reject ? "1" : "0"));
    args.push_back(slot + "s:");
    args.push_back(bucket_arg(r.id.bucket));
    args.push_back(user.user_id);
    auto [ec, reply] = co_await client_.async_eval(create_script, keys, args, use_tuple);
    if (ec) co_return api_error(ec, "create");
    if (!reply.is_array()) co_return api_error(redis::error::protocol_error, "create");
    auto elements = reply.elements();
    if (elements.empty() || !elements[0].is_integer()) co_return api_error(redis::error::protocol_error, "create");
    if (elements[0].integer() == 1) co_return sessiond::error::session_limit;
    auto evicted = decode_pairs(elements, 1, user);
    if (!evicted) co_return evicted.error();
    co_return created{std::move(*evicted)};
}

asio::awaitable<result<std::optional<session_record>>> redis_store::get(const session_id& id) {
    auto [ec, reply] = co_await client_.async_exec(redis::command("GET", session_key(id)), use_tuple);
    if (ec) co_return api_error(ec, "get");
    if (reply.is_nil()) co_return std::optional<session_record>();
    if (!reply.is_string()) co_return api_error(redis::error::protocol_error, "get");
    co_return decode_value(reply.str(), id);
}

asio::awaitable<result<bool>> redis_store::replace(const session_record& expected, const session_record& next,
                                                   const user_ref& user) {
    std::vector<std::string> keys{session_key(next.id), user_key(user)};
    std::vector<std::string> args;
    args.reserve(4);
    args.push_back(encode_record(expected));
    args.push_back(encode_record(next));
    args.push_back(std::to_string(ms(session::store_deadline(next))));
    args.push_back(member_of(next.id));
    auto [ec, reply] = co_await client_.async_eval(replace_script, keys, args, use_tuple);
    if (ec) co_return result<bool>(boost::system::in_place_error, api_error(ec, "replace"));
    if (!reply.is_integer())
        co_return result<bool>(boost::system::in_place_error, api_error(redis::error::protocol_error, "replace"));
    co_return reply.integer() == 1;
}

asio::awaitable<result<std::optional<session_record>>> redis_store::remove(const session_id& id) {
    // One command; the id stays in the user's index until the index is next
    // written or listed, or its deadline passes (the index heals itself).
    auto [ec, reply] = co_await client_.async_exec(redis::command("GETDEL", session_key(id)), use_tuple);
    if (ec) co_return api_error(ec, "remove");
    if (reply.is_nil()) co_return std::optional<session_record>();
    if (!reply.is_string()) co_return api_error(redis::error::protocol_error, "remove");
    auto decoded = decode_value(reply.str(), id);
    if (!decoded) co_return std::optional<session_record>();  // it is gone either way
    co_return std::move(*decoded);
}

asio::awaitable<result<std::vector<session_record>>> redis_store::list_user(const user_ref& user) {
    std::vector<std::string> keys{user_key(user)};
    std::vector<std::string> args{std::to_string(ms(clock_.now())),
                                  slot_prefix(user.bucket) + "s:", bucket_arg(user.bucket), user.user_id};
    auto [ec, reply] = co_await client_.async_eval(list_script, keys, args, use_tuple);
    if (ec) co_return api_error(ec, "list");
    if (!reply.is_array()) co_return api_error(redis::error::protocol_error, "list");
    co_return decode_pairs(reply.elements(), 0, user);
}

asio::awaitable<result<std::size_t>> redis_store::remove_user(const user_ref& user, std::optional<session_id> except) {
    std::vector<std::string> keys{user_key(user)};
    std::vector<std::string> args{slot_prefix(user.bucket) + "s:", bucket_arg(user.bucket),
                                  except ? member_of(*except) : std::string(), user.user_id};
    auto [ec, reply] = co_await client_.async_eval(remove_user_script, keys, args, use_tuple);
    if (ec) co_return api_error(ec, "remove_user");
    if (!reply.is_integer() || reply.integer() < 0) co_return api_error(redis::error::protocol_error, "remove_user");
    co_return static_cast<std::size_t>(reply.integer());
}

}  // namespace sessiond::store
