#pragma once
// The completion handler for a coroutine nobody awaits, where
// boost::asio::detached would drop an exception that escaped it in silence:
//
//   co_spawn(ex, work(), log::contained{"memory store sweep"});
//
// The exception is logged (error level, "exception contained", with `task`
// and its what()) and counted; the coroutine is over, the process goes on.
// Work that must keep running (an accept loop) restarts itself in a handler
// of its own that calls log::contained_exception first.

#include <exception>
#include <string_view>

namespace sessiond::log {

// Logs and counts `e` as escaped from `task`; nothing for a null `e`.
void contained_exception(std::string_view task, const std::exception_ptr& e) noexcept;

struct contained {
    std::string_view task;  // a literal: names the work in the log line
    void operator()(const std::exception_ptr& e) const noexcept { contained_exception(task, e); }
};

}  // namespace sessiond::log
