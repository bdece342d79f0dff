#pragma once
// `sessiond admin ...`: the operator's commands (list, show and revoke
// sessions; show and set the "not before" instants that sign everyone, a
// tenant or a user out), each one or a few calls to a running sessiond's
// admin API. Never touches the store: what an operator does goes through the
// same checks, audit events and metrics as any other caller.

#include <span>

namespace sessiond::cli {

// Exit statuses, for scripts.
enum exit_status : int {
    exit_ok = 0,
    exit_refused = 1,      // the server answered with an error
    exit_usage = 2,        // the command line (or its files, environment) is wrong
    exit_unreachable = 3,  // no answer: connection refused, timeout, TLS failure
};

// Runs the command in `args` (what follows "admin" on the command line):
// data to stdout, messages to stderr; returns the exit status. Reads the
// SESSIOND_ADMIN_* environment variables.
int run_admin(std::span<char* const> args);

}  // namespace sessiond::cli
