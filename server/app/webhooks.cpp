#include "app/webhooks.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "app/security.hpp"
#include "app/settings.hpp"
#include "common/secure_memory.hpp"
#include "common/text.hpp"
#include "log/log.hpp"
#include "session/events.hpp"

namespace sessiond::app {

namespace asio = boost::asio;

namespace {

// The secrets of one endpoint's file: one or two whsec_ lines.
std::vector<secret_bytes> read_secrets(const webhook_entry& e) {
    std::string text = secret_file(e.secret_file, "webhooks");
    std::vector<secret_bytes> out;
    std::string_view rest = text;
    bool ill_formed = false;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        auto line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (line.empty()) continue;
        auto key = service::parse_webhook_secret(line);
        if (!key) {
            ill_formed = true;
            break;
        }
        out.push_back(std::move(*key));
    }
    secure_wipe(text);
    if (ill_formed)
        throw invalid_value("webhooks", "webhook " + e.name + ": its secret file (" + e.secret_file +
                                            ") holds a line that is not a whsec_ secret of 24 to 64 bytes (base64)");
    if (out.empty() || out.size() > 2)
        throw invalid_value("webhooks", "webhook " + e.name + ": its secret file (" + e.secret_file +
                                            ") must hold one whsec_ secret, or two during a rotation");
    return out;
}

}  // namespace

std::shared_ptr<webhook_setup> load_webhooks(const config& cfg) {
    const auto& entries = cfg.webhooks.endpoints.entries();
    if (entries.empty()) return nullptr;
    auto setup = std::make_shared<webhook_setup>();
    bool https = !cfg.webhooks.ca_file.empty();
    for (const auto& e : entries)
        https = https || e.url.starts_with("https://");
    if (https) {
        try {
            setup->tls = http::make_client_tls(cfg.webhooks.ca_file);
        } catch (const std::exception& ex) {
            throw invalid_value("webhook-ca-file", ex.what());
        }
    }
    for (const auto& e : entries) {
        service::webhook_endpoint ep;
        ep.name = e.name;
        ep.secrets = read_secrets(e);
        for (const auto& t : e.types) {
            auto type = session::parse_event_type(t);
            if (!type) throw invalid_value("webhooks", "webhook " + e.name + ": " + t + " is not an event type");
            ep.types.push_back(*type);
        }
        try {
            // The URL's shape, checked as the client will read it.
            const http::client probe(asio::system_executor(), {e.url}, setup->tls);
        } catch (const std::exception& ex) {
            throw invalid_value("webhooks", "webhook " + e.name + ": " + ex.what());
        }
        setup->endpoints.push_back(std::move(ep));
        setup->urls.push_back(e.url);
    }
    return setup;
}

http_webhook_sender::http_webhook_sender(asio::any_io_executor ex, http::client::settings s,
                                         std::shared_ptr<asio::ssl::context> tls)
    : client_(std::move(ex), std::move(s), std::move(tls)) {}

asio::awaitable<service::send_result> http_webhook_sender::send(const service::webhook_message& m) {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                             {"webhook-id", m.id},
                                                             {"webhook-timestamp", std::to_string(m.timestamp)},
                                                             {"webhook-signature", m.signature}};
    auto out = co_await client_.post(m.body, std::move(headers));
    service::send_result r;
    r.status = out.status;
    if (out.error) r.error = out.error.message();
    co_return r;
}

webhooks::webhooks(asio::io_context& ioc, store::session_store& store, const session::clock& clock,
                   webhook_setup& setup, const webhook_config& cfg, const std::string& instance) {
    std::array<std::uint8_t, 12> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("no random bytes for the webhook lease token");
    service::webhook_settings s;
    s.token = instance + ":" + to_hex(nonce);
    s.retry_for = cfg.retry_for;
    s.retry_delay = cfg.retry_delay;
    s.retry_max_delay = cfg.retry_max_delay;
    s.lease_ttl = cfg.lease_ttl;
    s.poll_interval = cfg.poll_interval;
    s.batch_size = cfg.batch_size;
    for (std::size_t i = 0; i < setup.endpoints.size(); ++i) {
        http::client::settings hs;
        hs.url = setup.urls[i];
        hs.timeout = cfg.timeout;
        hs.user_agent = std::string("sessiond/") + SESSIOND_VERSION + " (webhooks)";
        senders_.push_back(std::make_unique<http_webhook_sender>(ioc.get_executor(), hs,
                                                                 hs.url.starts_with("https://") ? setup.tls : nullptr));
        deliverers_.push_back(std::make_unique<service::webhook_deliverer>(
            ioc, store, clock, std::move(setup.endpoints[i]), s, *senders_.back()));
    }
}

void webhooks::start() {
    for (auto& d : deliverers_)
        d->start();
}

void webhooks::stop(std::function<void()> done) {
    if (deliverers_.empty()) {
        done();
        return;
    }
    auto left = std::make_shared<std::size_t>(deliverers_.size());
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    for (auto& d : deliverers_)
        d->stop([left, shared_done] {
            if (--*left == 0) (*shared_done)();
        });
}

}  // namespace sessiond::app
