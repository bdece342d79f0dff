#pragma once
// What every layer does with an exception that escaped work nobody awaits (a
// detached coroutine, a timer or completion handler): it is contained, that
// is counted (sessiond_exceptions_contained_total) and described for a log
// line by the layer's own logger, and the work goes on. asio::detached would
// drop it in silence; left to propagate out of io_context::run() it would end
// the thread, and with it the process.

#include <exception>
#include <string>

namespace sessiond {

// Counts a contained exception and returns the text to log: its what() (at
// most 300 bytes; an exception's text is the thrower's and holds no token,
// as no code formats one into a message), or a fixed text for one that is
// not a std::exception. Empty for a null `e`, which is not counted.
std::string contain_exception(const std::exception_ptr& e) noexcept;

}  // namespace sessiond
