#pragma once
// Where each command goes. The client hands every command to a router; the
// standalone router spreads them over its connections to one instance, and a
// Sentinel or Cluster router (later) picks the master's pool or the key's slot
// owner, with no change for callers.

#include <boost/system/error_code.hpp>

#include "redis/command.hpp"
#include "redis/completion.hpp"

namespace sessiond::redis {

class router {
public:
    virtual ~router() = default;

    virtual void start() = 0;
    virtual void stop() = 0;
    // At least one connection is ready to take commands.
    virtual bool ready() const noexcept = 0;
    // The most recent connection failure (for logs and /readyz details).
    virtual boost::system::error_code last_error() const = 0;
    // Sends `cmd`, routed by cmd.key(); `done` completes with the reply or an
    // error, never inline (any thread).
    virtual void submit(const command& cmd, detail::completion&& done) = 0;
};

}  // namespace sessiond::redis
