#include "redis/error.hpp"

#include <array>
#include <string>
#include <utility>

#include <boost/asio/error.hpp>

namespace sessiond::redis {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sessiond.redis"; }

    std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
            case error::timeout:
                return "Redis command timed out";
            case error::connection_lost:
                return "connection to Redis lost";
            case error::not_connected:
                return "not connected to Redis";
            case error::busy:
                return "too many Redis commands in flight";
            case error::protocol_error:
                return "Redis protocol error";
            case error::not_master:
                return "the Redis node is not a primary (ROLE)";
            case error::not_acknowledged:
                return "the write was not acknowledged by enough replicas in time";
            case error::redirect_refused:
                return "Redis Cluster redirect to a node that is not a member of the cluster";
            case error::server_error:
                return "Redis error reply";
            case error::readonly:
                return "Redis READONLY: write to a replica";
            case error::loading:
                return "Redis LOADING: data set is being loaded";
            case error::script_busy:
                return "Redis BUSY: a script is running";
            case error::noscript:
                return "Redis NOSCRIPT: script not in cache";
            case error::moved:
                return "Redis MOVED: key served by another node";
            case error::ask:
                return "Redis ASK: key being migrated";
            case error::tryagain:
                return "Redis TRYAGAIN";
            case error::clusterdown:
                return "Redis CLUSTERDOWN";
            case error::masterdown:
                return "Redis MASTERDOWN: replica has no master";
            case error::wrongtype:
                return "Redis WRONGTYPE: key holds the wrong kind of value";
            case error::wrongpass:
                return "Redis WRONGPASS: invalid user name or password";
            case error::noauth:
                return "Redis NOAUTH: authentication required";
            case error::oom:
                return "Redis OOM: out of memory (maxmemory), the write was refused";
            case error::noperm:
                return "Redis NOPERM: ACL user lacks permission";
            case error::bad_url_scheme:
                return "Redis URL: scheme must be redis://, rediss://, redis+sentinel://, rediss+sentinel://, "
                       "redis+cluster:// or rediss+cluster://";
            case error::bad_url_host:
                return "Redis URL: missing or malformed host";
            case error::bad_url_port:
                return "Redis URL: port must be a number in 1..65535";
            case error::bad_url_db:
                return "Redis URL: path must be /<database number>";
            case error::bad_url_encoding:
                return "Redis URL: malformed percent-encoding in user or password";
            case error::bad_url:
                return "Redis URL: unexpected characters (query, fragment or stray text)";
        }
        return "unknown Redis client error";
    }
};

const category the_category;

}  // namespace

const boost::system::error_category& error_category() noexcept {
    return the_category;
}

error error_from_reply(std::string_view message) noexcept {
    const auto space = message.find(' ');
    const std::string_view word = message.substr(0, space);
    static constexpr std::array<std::pair<std::string_view, error>, 15> table{{
        {"READONLY", error::readonly},
        {"LOADING", error::loading},
        {"BUSY", error::script_busy},
        {"NOSCRIPT", error::noscript},
        {"MOVED", error::moved},
        {"ASK", error::ask},
        {"TRYAGAIN", error::tryagain},
        {"CLUSTERDOWN", error::clusterdown},
        {"MASTERDOWN", error::masterdown},
        {"WRONGTYPE", error::wrongtype},
        {"WRONGPASS", error::wrongpass},
        {"NOAUTH", error::noauth},
        {"NOPERM", error::noperm},
        {"OOM", error::oom},
        {"ERR", error::server_error},
    }};
    for (const auto& [prefix, e] : table)
        if (word == prefix) {
            // Redis before 6 answers a bad requirepass password with a plain ERR.
            if (e == error::server_error && message.starts_with("ERR invalid password")) return error::wrongpass;
            return e;
        }
    return error::server_error;
}

metrics::redis_failure classify(const boost::system::error_code& ec) noexcept {
    using metrics::redis_failure;
    if (ec.category() != error_category()) return redis_failure::not_connected;
    switch (static_cast<error>(ec.value())) {
        case error::timeout:
            return redis_failure::timeout;
        case error::connection_lost:
            return redis_failure::connection_lost;
        case error::not_connected:
        case error::not_master:
            return redis_failure::not_connected;
        case error::busy:
            return redis_failure::busy;
        case error::not_acknowledged:
            return redis_failure::unacknowledged;
        case error::protocol_error:
            return redis_failure::protocol;
        case error::oom:
            return redis_failure::oom;
        case error::noperm:
            return redis_failure::noperm;
        case error::server_error:
        case error::noscript:
        case error::moved:
        case error::ask:
        case error::wrongtype:
            return redis_failure::rejected;
        default:
            return redis_failure::error_reply;
    }
}

}  // namespace sessiond::redis
