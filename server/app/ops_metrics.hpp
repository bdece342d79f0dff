#pragma once
// The metric families read when /metrics is scraped rather than counted as
// they happen: the Redis topology as the I/O threads see it, the HTTPS
// certificate's end of validity, the process and the running version, in
// the Prometheus text format (api::ops_probes::extra_metrics).

#include <memory>
#include <string>
#include <vector>

#include "app/worker.hpp"
#include "http/tls.hpp"

namespace sessiond::app {

std::string ops_metrics(const std::vector<std::unique_ptr<worker>>& workers, const http::tls_provider* tls);

}  // namespace sessiond::app
