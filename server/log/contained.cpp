#include "log/contained.hpp"

#include "common/contained.hpp"
#include "log/log.hpp"

namespace sessiond::log {

void contained_exception(std::string_view task, const std::exception_ptr& e) noexcept {
    if (!e) return;
    const std::string text = contain_exception(e);
    try {
        error("exception contained", {{"task", task}, {"error", text}});
    } catch (...) {
        // Logging itself failed (out of memory): the count is kept.
    }
}

}  // namespace sessiond::log
