#pragma once
// One interface for where sessions live: the embedded in-memory store and the
// Redis store implement it, and one contract test suite runs against both.
// Every operation is atomic on its own. Errors are sessiond::error values
// (store_unavailable, store_busy, store_full, session_limit), never a store's
// own codes.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <vector>

#include "session/rules.hpp"
#include "session/session_id.hpp"
#include "session/session_record.hpp"

namespace sessiond::store {

template <class T>
using result = boost::system::result<T>;

// A user's sessions are found through their bucket and a keyed hash of the
// user id (so a store's key names say nothing about the user). The hash is
// short: two users of one bucket may, very rarely, share an index name, and
// a store must then still act only on each user's own sessions.
struct user_ref {
    std::string user_id;
    std::uint16_t bucket = 0;
    std::string index_name;  // keyring::user_index_name(user_id): 8 bytes, base64url
};

struct created {
    std::vector<session::session_record> evicted;  // sessions revoked to make room (evict_lru)
};

class session_store {
public:
    virtual ~session_store() = default;

    // Stores a new session, enforcing the per-user limit of `p` atomically:
    // session_limit when the policy rejects, otherwise the evicted sessions.
    virtual boost::asio::awaitable<result<created>> create(const session::session_record& r, const user_ref& user,
                                                           const session::policy& p) = 0;

    // The live session with this id, or nullopt.
    virtual boost::asio::awaitable<result<std::optional<session::session_record>>> get(
        const session::session_id& id) = 0;

    // Compare-and-set: writes `next` only if the stored session is still the
    // one read as `expected` (same version). false if it changed or is gone.
    virtual boost::asio::awaitable<result<bool>> replace(const session::session_record& expected,
                                                         const session::session_record& next, const user_ref& user) = 0;

    // Deletes the session; returns what was stored, or nullopt if nothing was.
    // (A store may leave the id in the user's index, to be pruned later.)
    virtual boost::asio::awaitable<result<std::optional<session::session_record>>> remove(
        const session::session_id& id) = 0;

    // The user's live sessions, in no particular order.
    virtual boost::asio::awaitable<result<std::vector<session::session_record>>> list_user(const user_ref& user) = 0;

    // Deletes all of the user's sessions but `except`; returns how many.
    virtual boost::asio::awaitable<result<std::size_t>> remove_user(const user_ref& user,
                                                                    std::optional<session::session_id> except) = 0;

    // Whether the store can serve requests now (readiness).
    virtual bool ready() const = 0;
};

}  // namespace sessiond::store
