#pragma once
// The composition root: the only place that knows how the parts fit
// together (config → logging → store → routes → HTTP server → signals).

#include <functional>

#include "config/config.hpp"

namespace sessiond {

// Reads the configuration again as at start: the same flags and
// environment, the files' current content. Throws config_error.
using config_source = std::function<config()>;

// Runs the daemon until SIGTERM/SIGINT and a graceful drain; returns the
// process exit status. Wipes the secrets in `cfg` (token keys, user index
// key, Redis URL) once they are parsed. On SIGHUP, `reread` gives the
// configuration to reload (token keys, callers, log level, the TLS
// certificate); without it a SIGHUP is refused and logged.
int run(config& cfg, const config_source& reread = {});

// What run() checks before it starts anything: keys, API keys, secret
// files, the Redis URL and the session policy. Prints the first problem and
// returns 2, or returns 0. For --check-config.
int check_startup(const config& cfg);

}  // namespace sessiond
