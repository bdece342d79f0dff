#pragma once
// The Redis client's error codes: one enum, convertible to boost::system::error_code.

#include <string_view>
#include <type_traits>

#include <boost/system/error_code.hpp>

#include "redis/redis_metrics.hpp"

namespace sessiond::redis {

enum class error {
    // Transport and client state.
    timeout = 1,       // no reply within command_timeout; the connection was reset
    connection_lost,   // the connection closed or was reset while the command was pending
    not_connected,     // no connection is ready (connecting, backing off, or Redis down)
    busy,              // the in-flight bound (max_in_flight) is reached: store_busy
    protocol_error,    // the reply stream could not be parsed
    not_master,        // the node is a replica (ROLE), or the primary is not known yet
    not_acknowledged,  // WAIT: fewer replicas than required acknowledged the write in time
    redirect_refused,  // MOVED/ASK named an address that is not a member of the cluster
    // Redis error replies, by their first word.
    server_error,  // "ERR ..." or any error reply not listed below
    readonly,      // READONLY: write sent to a replica
    loading,       // LOADING: Redis is loading its data set
    script_busy,   // BUSY: a script or function is running
    noscript,      // NOSCRIPT: EVALSHA of a script not in the cache
    moved,         // MOVED: cluster redirection
    ask,           // ASK: cluster redirection during resharding
    tryagain,      // TRYAGAIN: cluster multi-key operation during resharding
    clusterdown,   // CLUSTERDOWN
    masterdown,    // MASTERDOWN: replica lost its master
    wrongtype,     // WRONGTYPE: operation against a key holding the wrong kind of value
    wrongpass,     // WRONGPASS (or "ERR invalid password"): bad credentials
    noauth,        // NOAUTH: authentication required
    oom,           // OOM: maxmemory reached, the write refused
    noperm,        // NOPERM: the ACL user may not run this command or touch this key
    // Configuration.
    bad_url_scheme,    // URL scheme is not redis(s)://, redis(s)+sentinel:// or redis(s)+cluster://
    bad_url_host,      // URL host missing or malformed
    bad_url_port,      // URL port not a number in 1..65535
    bad_url_db,        // URL path is not /<database number>
    bad_url_encoding,  // malformed percent-encoding in user or password
    bad_url,           // anything else in the URL (query, fragment, stray characters)
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// Maps an error reply ("WRONGPASS invalid username-password pair…") to its code.
error error_from_reply(std::string_view message) noexcept;

// The one classification of a failed command: what it tells about the
// store, for the store's answer (busy, unacknowledged, out of memory,
// forbidden, rejected, or else unavailable) and for
// sessiond_redis_errors_total. Transport and client failures are their own
// kinds; the failover and login replies (READONLY, LOADING, BUSY, TRYAGAIN,
// CLUSTERDOWN, MASTERDOWN, WRONGPASS, NOAUTH) and a refused redirect are
// error_reply (the store is unavailable for now); OOM and NOPERM are their
// own; every other error reply is rejected. An error of another category
// (asio::error::operation_aborted: the client was stopped) is not_connected.
metrics::redis_failure classify(const boost::system::error_code& ec) noexcept;

}  // namespace sessiond::redis

template <>
struct boost::system::is_error_code_enum<sessiond::redis::error> : std::true_type {};
