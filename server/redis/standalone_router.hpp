#pragma once
// Routes every command to one Redis instance's connections.

#include <memory>

#include <boost/asio/io_context.hpp>

#include "redis/node_pool.hpp"
#include "redis/router.hpp"

namespace sessiond::redis {

class standalone_router final : public router {
public:
    standalone_router(boost::asio::io_context& ioc, const std::shared_ptr<const connection_settings>& settings,
                      std::size_t connections);
    ~standalone_router() override;

    void start() override;
    void stop() override;
    bool ready() const noexcept override;
    boost::system::error_code last_error() const override;
    void submit(const command& cmd, std::string_view route, detail::completion&& done, bool durable) override;
    topology_status status() const override;
    std::vector<endpoint> primaries() const override { return {pool_.where()}; }

private:
    boost::asio::io_context::executor_type io_ex_;
    node_pool pool_;
};

}  // namespace sessiond::redis
