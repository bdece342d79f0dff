#pragma once
// Webhooks for the session events (docs/webhooks.md): per endpoint, one
// deliverer among all instances (a lease in the store), which reads the
// event streams from the endpoint's saved progress, sends them in signed
// batches (Standard Webhooks) one at a time, retries a refused batch with
// exponential backoff and full jitter for at most the retry window, then
// counts its events dead and moves on, and saves the progress after each
// acknowledged batch. At least once; in order per user (per stream).
// The HTTP request itself is a webhook_sender, which app implements with
// the HTTP client: this layer knows no HTTP types.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secure_memory.hpp"
#include "session/events.hpp"
#include "session/rules.hpp"
#include "store/session_store.hpp"

namespace sessiond::service {

// One request as the receiver gets it: its headers' values and its body.
struct webhook_message {
    std::string id;              // webhook-id: the batch's, the same on every retry
    std::int64_t timestamp = 0;  // webhook-timestamp: this attempt's, seconds since the epoch
    std::string signature;       // webhook-signature: "v1,<base64>" per secret, space-separated
    std::string body;            // application/json
};

// How a send ended: a status (any 2xx = delivered), or 0 and why not.
struct send_result {
    unsigned status = 0;
    std::string error;  // connect, TLS, timeout…: never the body or a secret
    bool delivered() const noexcept { return status >= 200 && status < 300; }
};

// Sends one message to one endpoint, within its own deadline.
class webhook_sender {
public:
    virtual ~webhook_sender() = default;
    virtual boost::asio::awaitable<send_result> send(const webhook_message& m) = 0;
    // Ends a send in progress (it then returns an error): on shutdown.
    virtual void cancel() noexcept = 0;
};

// --- Standard Webhooks, pure functions ---

// "whsec_<base64>" as its key bytes (24..64 of them), or nullopt.
std::optional<secret_bytes> parse_webhook_secret(std::string_view text);
// "v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>".
std::string webhook_signature(std::span<const std::uint8_t> key, std::string_view id, std::int64_t timestamp,
                              std::string_view body);
// One signature per key, space-separated (two during a rotation).
std::string webhook_signatures(const std::vector<secret_bytes>& keys, std::string_view id, std::int64_t timestamp,
                               std::string_view body);

// The n-th retry's (n from 0) delay ceiling: min(max, first * 2^n).
std::chrono::milliseconds retry_ceiling(std::chrono::milliseconds first, std::chrono::milliseconds max,
                                        unsigned n) noexcept;
// Full jitter: `unit` (in [0, 1)) of the ceiling.
std::chrono::milliseconds retry_delay(std::chrono::milliseconds first, std::chrono::milliseconds max, unsigned n,
                                      double unit) noexcept;

// A batch of events as one request's body, and what its acknowledgement
// moves on: the last event of each stream the read covered.
struct webhook_batch {
    std::string id;  // "msg_" + 22 base64url characters of SHA-256 over the events' ids
    std::string body;
    std::size_t events = 0;
    session::timestamp oldest{};
    std::vector<std::pair<std::uint32_t, session::event_position>> last;  // filled by the deliverer
};
// {"type":"sessiond.events","timestamp":"<now, RFC 3339>","data":{"events":[…]}}, events as
// session::append_event_json writes them, in the order given.
webhook_batch make_batch(std::span<const session::event> events, session::timestamp now);

// --- the deliverer ---

struct webhook_endpoint {
    std::string name;
    std::vector<secret_bytes> secrets;       // one, or two during a rotation
    std::vector<session::event_type> types;  // the types it wants; empty = all
};

struct webhook_settings {
    std::string token;  // this instance's lease token: unique per process
    std::chrono::milliseconds retry_for{3'600'000};
    std::chrono::milliseconds retry_delay{1'000};
    std::chrono::milliseconds retry_max_delay{300'000};
    std::chrono::milliseconds lease_ttl{15'000};
    std::chrono::milliseconds poll_interval{1'000};
    std::size_t batch_size = 100;
};

// What an endpoint's deliverer has done, for the metrics (any thread reads).
struct webhook_stats {
    std::string endpoint;
    std::atomic<std::uint64_t> delivered{0};  // batches acknowledged (2xx)
    std::atomic<std::uint64_t> failed{0};     // attempts refused or failed
    std::atomic<std::uint64_t> dead{0};       // batches given up after the retry window
    std::atomic<std::uint64_t> retries{0};    // attempts after a batch's first
    std::atomic<std::uint64_t> delivered_events{0};
    std::atomic<std::uint64_t> dead_events{0};
    std::atomic<std::int64_t> lag_ms{0};  // age of the oldest event not yet delivered (0: none waiting)
    std::atomic<bool> lease_held{false};
};

class webhook_deliverer {
public:
    webhook_deliverer(boost::asio::io_context& ioc, store::session_store& store, const session::clock& clock,
                      webhook_endpoint endpoint, webhook_settings settings, webhook_sender& sender);
    ~webhook_deliverer();
    webhook_deliverer(const webhook_deliverer&) = delete;
    webhook_deliverer& operator=(const webhook_deliverer&) = delete;

    // Starts delivering on the io_context's thread.
    void start();
    // Stops: the send in progress is cancelled, the lease released; then
    // `done` runs (on the io_context's thread).
    void stop(std::function<void()> done);

    const webhook_stats& stats() const noexcept { return *stats_; }

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> take_lease();
    boost::asio::awaitable<bool> keep_lease();  // false: lost
    boost::asio::awaitable<void> next_batch();
    boost::asio::awaitable<void> deliver();
    boost::asio::awaitable<void> commit();
    boost::asio::awaitable<void> pause(std::chrono::milliseconds d);
    void lose_lease(std::string_view why);
    bool wanted(const session::event& e) const;

    boost::asio::io_context& ioc_;
    store::session_store& store_;
    const session::clock& clock_;
    webhook_endpoint endpoint_;
    webhook_settings settings_;
    webhook_sender& sender_;
    std::shared_ptr<webhook_stats> stats_;
    boost::asio::steady_timer timer_;
    std::mt19937_64 random_;

    bool stopping_ = false;
    bool running_ = false;
    std::function<void()> on_stopped_;

    bool held_ = false;
    std::chrono::steady_clock::time_point renewed_at_{};  // when the last renewal was sent
    std::chrono::steady_clock::time_point held_until_{};  // no send starts after this without a renewal
    std::unique_ptr<store::event_cursor> cursor_;         // read ahead of the delivered position by the batch
    std::optional<webhook_batch> batch_;
    std::chrono::steady_clock::time_point first_attempt_{};
    unsigned attempts_ = 0;
    // Positions acknowledged but not yet saved (a save failed): written with the next.
    std::map<std::uint32_t, session::event_position> unsaved_;
};

}  // namespace sessiond::service
