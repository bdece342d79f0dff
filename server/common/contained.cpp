#include "common/contained.hpp"

#include "common/metrics.hpp"

namespace sessiond {

namespace {
const metrics::counter_family exceptions_contained{
    "sessiond_exceptions_contained_total",
    "Exceptions that escaped a detached coroutine or handler: logged, the work restarted or ended."};
}  // namespace

std::string contain_exception(const std::exception_ptr& e) noexcept {
    if (!e) return {};
    exceptions_contained.inc();
    try {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            std::string text = x.what();
            if (text.size() > 300) text.resize(300);
            return text.empty() ? std::string("exception without a message") : text;
        } catch (...) {
            return "an exception that is not a std::exception";
        }
    } catch (...) {
        return "exception";  // copying the text failed (out of memory)
    }
}

}  // namespace sessiond
