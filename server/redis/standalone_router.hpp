#pragma once
// Routes commands over a pool of connections to one Redis instance: a key's
// commands go to the connection its hash picks (so they keep their order), or
// to the next ready one while that one is down; keyless commands go round-robin.

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "redis/connection.hpp"
#include "redis/router.hpp"

namespace sessiond::redis {

class standalone_router final : public router {
public:
    standalone_router(boost::asio::io_context& ioc, std::shared_ptr<const connection_settings> settings,
                      std::size_t connections);
    ~standalone_router() override;

    void start() override;
    void stop() override;
    bool ready() const noexcept override;
    boost::system::error_code last_error() const override;
    void submit(const command& cmd, detail::completion&& done) override;

    std::size_t size() const noexcept { return connections_.size(); }

private:
    boost::asio::io_context::executor_type io_ex_;
    std::shared_ptr<const connection_settings> settings_;
    std::vector<std::shared_ptr<connection>> connections_;
    std::size_t next_ = 0;  // round-robin position (the owning thread only)
};

}  // namespace sessiond::redis
