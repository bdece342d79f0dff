#include "redis/standalone_router.hpp"

namespace sessiond::redis {

standalone_router::standalone_router(boost::asio::io_context& ioc,
                                     const std::shared_ptr<const connection_settings>& settings,
                                     std::size_t connections)
    : io_ex_(ioc.get_executor()), pool_(ioc, settings, endpoint{settings->cfg.host, settings->cfg.port}, connections) {}

standalone_router::~standalone_router() = default;

void standalone_router::start() {
    pool_.start();
}

void standalone_router::stop() {
    pool_.stop();
}

bool standalone_router::ready() const noexcept {
    return pool_.ready();
}

boost::system::error_code standalone_router::last_error() const {
    return pool_.last_error();
}

void standalone_router::submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) {
    if (auto ec = pool_.submit(cmd, route, done, pool_.deadline(), durable)) done.post(ec, io_ex_);
}

topology_status standalone_router::status() const {
    return {topology::standalone, to_string(pool_.where()), 0, 0};
}

}  // namespace sessiond::redis
