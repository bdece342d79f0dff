#pragma once
// The composition root: the only place that knows how the parts fit
// together (config → logging → store → routes → HTTP server → signals).

#include "config/config.hpp"

namespace sessiond {

// Runs the daemon until SIGTERM/SIGINT and a graceful drain; returns the
// process exit status. Wipes the secrets in `cfg` (token keys, user index
// key, Redis URL) once they are parsed.
int run(config& cfg);

// What run() checks before it starts anything: keys, API keys, secret
// files, the Redis URL and the session policy. Prints the first problem and
// returns 2, or returns 0. For --check-config.
int check_startup(const config& cfg);

}  // namespace sessiond
