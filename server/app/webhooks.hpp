#pragma once
// Webhooks wired (docs/webhooks.md): each endpoint's secrets read and
// checked at start-up (and by --check-config), a sender over the HTTP
// client per endpoint, and the deliverers on I/O thread 0 over its store,
// stopped (their leases released) as the daemon drains.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "http/client.hpp"
#include "service/webhooks.hpp"
#include "session/rules.hpp"
#include "store/session_store.hpp"

namespace sessiond::app {

// The endpoints as configured, with their secrets read and checked.
struct webhook_setup {
    std::vector<service::webhook_endpoint> endpoints;
    std::vector<std::string> urls;                   // the endpoints' in the same order
    std::shared_ptr<boost::asio::ssl::context> tls;  // for https:// endpoints (null: none)
};

// Reads each endpoint's secret file (one or two whsec_ secrets, one a
// line) and checks its event types; null without webhooks. Throws
// config_error naming the option and the endpoint, never a secret.
std::shared_ptr<webhook_setup> load_webhooks(const config& cfg);

// A webhook_sender over the HTTP client: Standard Webhooks headers.
class http_webhook_sender final : public service::webhook_sender {
public:
    http_webhook_sender(boost::asio::any_io_executor ex, http::client::settings s,
                        std::shared_ptr<boost::asio::ssl::context> tls);
    boost::asio::awaitable<service::send_result> send(const service::webhook_message& m) override;
    void cancel() noexcept override { client_.cancel(); }

private:
    http::client client_;
};

// The deliverers of one instance.
class webhooks {
public:
    webhooks(boost::asio::io_context& ioc, store::session_store& store, const session::clock& clock,
             webhook_setup& setup, const webhook_config& cfg, const std::string& instance);
    void start();
    // Stops every deliverer (leases released); `done` runs once all have.
    void stop(std::function<void()> done);

private:
    std::vector<std::unique_ptr<http_webhook_sender>> senders_;
    std::vector<std::unique_ptr<service::webhook_deliverer>> deliverers_;
};

}  // namespace sessiond::app
