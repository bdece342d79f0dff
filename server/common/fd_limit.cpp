#include "common/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace sessiond {

fd_limits raise_fd_limit() {
    fd_limits out;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
    out.previous = out.soft = lim.rlim_cur;
    out.hard = lim.rlim_max;
    if (lim.rlim_cur >= lim.rlim_max) return out;
    rlimit raised{lim.rlim_max, lim.rlim_max};
    // An unlimited hard limit is capped by fs.nr_open: halve until accepted.
    for (int i = 0; i < 32 && raised.rlim_cur > lim.rlim_cur; ++i) {
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            out.soft = raised.rlim_cur;
            break;
        }
        raised.rlim_cur = raised.rlim_cur == RLIM_INFINITY ? (rlim_t{1} << 30) : raised.rlim_cur / 2;
    }
    return out;
}

std::size_t connections_within(std::size_t wanted, std::uint64_t fd_limit, std::size_t reserved) {
    if (fd_limit >= wanted + static_cast<std::uint64_t>(reserved)) return wanted;
    if (fd_limit <= reserved) return 1;
    return std::max<std::size_t>(1, static_cast<std::size_t>(fd_limit - reserved));
}

}  // namespace sessiond
