#pragma once
// The commands a new connection sends before it takes callers' commands.

#include <vector>

#include <boost/system/error_code.hpp>

#include "redis/command.hpp"
#include "redis/config.hpp"
#include "redis/reply.hpp"

namespace sessiond::redis {

struct handshake_step {
    command cmd;
    bool required;  // an error reply fails the connection attempt; otherwise logged
    // Judges a reply that is not an error (ROLE must say "master"); an error
    // fails the connection attempt. Null = any such reply will do.
    boost::system::error_code (*check)(const reply&) = nullptr;
};

// AUTH [user] password (if a password or user is set), SELECT db (if db != 0),
// CLIENT SETNAME name (if set; not required: an ACL user may lack the right);
// PING if none of these applies, so that a connection is ready only once Redis answers.
std::vector<handshake_step> handshake_steps(const config& cfg);

// The steps of a connection to a sentinel: AUTH with the sentinel
// credentials, CLIENT SETNAME; with `watch`, SUBSCRIBE +switch-master last.
std::vector<handshake_step> sentinel_handshake_steps(const config& cfg, bool watch);

// ROLE's reply names a primary ("master"); error::not_master otherwise.
boost::system::error_code check_primary_role(const reply& r);

}  // namespace sessiond::redis
