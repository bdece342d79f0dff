#pragma once
// The commands a new connection sends before it takes callers' commands.

#include <vector>

#include "redis/command.hpp"
#include "redis/config.hpp"

namespace sessiond::redis {

struct handshake_step {
    command cmd;
    bool required;  // an error reply fails the connection attempt; otherwise logged
};

// AUTH [user] password (if a password or user is set), SELECT db (if db != 0),
// CLIENT SETNAME name (if set; not required: an ACL user may lack the right);
// PING if none of these applies, so that a connection is ready only once Redis answers.
std::vector<handshake_step> handshake_steps(const config& cfg);

}  // namespace sessiond::redis
