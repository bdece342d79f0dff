#pragma once
// The composition root: the only place that knows how the parts fit
// together (config → logging → store → routes → HTTP server → signals).

#include "config/config.hpp"

namespace sessiond {

// Runs the daemon until SIGTERM/SIGINT and a graceful drain; returns the
// process exit status.
int run(const config& cfg);

}  // namespace sessiond
