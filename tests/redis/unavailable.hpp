#pragma once
// Whether a client's failure is one the store answers with
// store_unavailable: Redis cannot be reached now (by redis::classify).

#include <boost/system/error_code.hpp>

#include "redis/error.hpp"

namespace sessiond::test {

inline bool unavailable(const boost::system::error_code& ec) {
    using metrics::redis_failure;
    switch (redis::classify(ec)) {
        case redis_failure::timeout:
        case redis_failure::connection_lost:
        case redis_failure::not_connected:
        case redis_failure::error_reply:
            return ec.failed();
        default:
            return false;
    }
}

}  // namespace sessiond::test
