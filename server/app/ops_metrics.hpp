#pragma once
// The metric families read when /metrics is scraped rather than counted as
// they happen: open connections, the store's readiness, the Redis topology
// as the I/O threads see it, the HTTPS certificate's end of validity. They
// read the running daemon's threads, so they are registered while it runs
// (an ops_metrics object); the process families, the running version and
// the reload outcomes are registered once, in ops_metrics.cpp.

#include "app/threads.hpp"
#include "common/metrics.hpp"

namespace sessiond::app {

class ops_metrics {
public:
    // `io` outlives this object.
    explicit ops_metrics(const io_threads& io);

private:
    metrics::callback_family connections_open_;
    metrics::callback_family store_ready_;
    metrics::callback_family topology_;
    metrics::callback_family primary_;
    metrics::callback_family slots_covered_;
    metrics::callback_family cluster_primaries_;
    metrics::callback_family certificate_;
};

}  // namespace sessiond::app
