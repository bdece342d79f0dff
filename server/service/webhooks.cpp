#include "service/webhooks.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>

#include "common/metrics.hpp"
#include "log/contained.hpp"
#include "log/log.hpp"
#include "session/crypto.hpp"
#include "session/event_json.hpp"
#include "session/rfc3339.hpp"

namespace sessiond::service {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// --- Standard Webhooks ---

namespace {

std::string base64(std::span<const std::uint8_t> in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    return out;
}

}  // namespace

std::optional<secret_bytes> parse_webhook_secret(std::string_view text) {
    static constexpr std::string_view prefix = "whsec_";
    if (!text.starts_with(prefix)) return std::nullopt;
    text.remove_prefix(prefix.size());
    auto key = session::base64_decode_secret(text);
    if (!key || key->size() < 24 || key->size() > 64) return std::nullopt;
    return key;
}

std::string webhook_signature(std::span<const std::uint8_t> key, std::string_view id, std::int64_t timestamp,
                              std::string_view body) {
    std::string signed_text;
    signed_text.reserve(id.size() + 24 + body.size());
    signed_text.append(id).append(1, '.').append(std::to_string(timestamp)).append(1, '.').append(body);
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
    unsigned mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac.data(), &mac_size);
    return "v1," + base64(std::span<const std::uint8_t>(mac.data(), mac_size));
}

std::string webhook_signatures(const std::vector<secret_bytes>& keys, std::string_view id, std::int64_t timestamp,
                               std::string_view body) {
    std::string out;
    for (const auto& key : keys) {
        if (!out.empty()) out += ' ';
        out += webhook_signature(key.view(), id, timestamp, body);
    }
    return out;
}

milliseconds retry_ceiling(milliseconds first, milliseconds max, unsigned n) noexcept {
    const auto first_ms = std::max<std::int64_t>(first.count(), 0);
    const auto max_ms = std::max<std::int64_t>(max.count(), 0);
    if (n >= 62 || first_ms > (max_ms >> std::min(n, 62U))) return milliseconds(max_ms);
    return milliseconds(std::min(max_ms, first_ms << n));
}

milliseconds retry_delay(milliseconds first, milliseconds max, unsigned n, double unit) noexcept {
    const auto ceiling = retry_ceiling(first, max, n).count();
    const double u = std::clamp(unit, 0.0, 1.0);
    return milliseconds(std::min<std::int64_t>(ceiling, static_cast<std::int64_t>(u * static_cast<double>(ceiling))));
}

webhook_batch make_batch(std::span<const session::event> events, session::timestamp now) {
    webhook_batch b;
    b.events = events.size();
    b.oldest = now;
    std::string refs;
    b.body = R"({"type":"sessiond.events","timestamp":")";
    b.body += session::format_rfc3339(now);
    b.body += R"(","data":{"events":[)";
    bool first = true;
    for (const auto& e : events) {
        if (!first) b.body += ',';
        first = false;
        session::append_event_json(e, b.body);
        refs += session::event_ref::of(e).to_string();
        refs += '\n';
        b.oldest = std::min(b.oldest, e.at);
    }
    b.body += "]}}";
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned digest_size = 0;
    EVP_Digest(refs.data(), refs.size(), digest.data(), &digest_size, EVP_sha256(), nullptr);
    b.id = "msg_" + session::base64url_encode(session::bytes_view(digest.data(), 16));
    return b;
}

// --- metrics: read from every deliverer's stats when scraped ---

namespace {

std::mutex registry_mutex;
std::vector<std::weak_ptr<const webhook_stats>>& registry() {
    static std::vector<std::weak_ptr<const webhook_stats>> all;
    return all;
}

std::vector<std::shared_ptr<const webhook_stats>> registered_stats() {
    std::lock_guard lock(registry_mutex);
    std::vector<std::shared_ptr<const webhook_stats>> out;
    auto& all = registry();
    std::erase_if(all, [](const auto& w) { return w.expired(); });
    for (const auto& w : all)
        if (auto s = w.lock()) out.push_back(std::move(s));
    return out;
}

std::string endpoint_label(const webhook_stats& s) {
    return "endpoint=\"" + s.endpoint + "\"";  // names are [A-Za-z0-9._-]: nothing to escape
}

template <class Read>
metrics::callback_family::collect per_endpoint(Read read) {
    return [read] {
        std::vector<metrics::sample> out;
        for (const auto& s : registered_stats())
            out.push_back({endpoint_label(*s), read(*s)});
        return out;
    };
}

// Registered with the first deliverer: without webhooks they would have no
// sample to render.
struct webhook_families {
    const metrics::callback_family deliveries{
        "sessiond_webhook_deliveries_total",
        "Webhook batches by endpoint and outcome: delivered (2xx), failed (an attempt refused or failed; retried), "
        "dead (given up after webhook-retry-for).",
        metrics::type::counter, [] {
            std::vector<metrics::sample> out;
            for (const auto& s : registered_stats()) {
                const auto l = endpoint_label(*s);
                out.push_back({l + ",outcome=\"delivered\"", static_cast<double>(s->delivered.load())});
                out.push_back({l + ",outcome=\"failed\"", static_cast<double>(s->failed.load())});
                out.push_back({l + ",outcome=\"dead\"", static_cast<double>(s->dead.load())});
            }
            return out;
        }};
    const metrics::callback_family retries{
        "sessiond_webhook_retries_total", "Webhook attempts after a batch's first, by endpoint.",
        metrics::type::counter,
        per_endpoint([](const webhook_stats& s) { return static_cast<double>(s.retries.load()); })};
    const metrics::callback_family delivered_events{
        "sessiond_webhook_delivered_events_total", "Session events delivered to a webhook endpoint.",
        metrics::type::counter,
        per_endpoint([](const webhook_stats& s) { return static_cast<double>(s.delivered_events.load()); })};
    const metrics::callback_family dead_events{
        "sessiond_webhook_dead_events_total",
        "Session events given up on (their batch was refused for webhook-retry-for), by endpoint.",
        metrics::type::counter,
        per_endpoint([](const webhook_stats& s) { return static_cast<double>(s.dead_events.load()); })};
    const metrics::callback_family lag{
        "sessiond_webhook_lag_seconds",
        "Age of the oldest session event this instance is delivering to the endpoint and has not delivered (0: none).",
        metrics::type::gauge,
        per_endpoint([](const webhook_stats& s) { return static_cast<double>(s.lag_ms.load()) / 1000.0; })};
    const metrics::callback_family lease_held{
        "sessiond_webhook_lease_held", "1 while this instance holds the endpoint's delivery lease.",
        metrics::type::gauge, per_endpoint([](const webhook_stats& s) { return s.lease_held.load() ? 1.0 : 0.0; })};
};

void register_families() {
    static const webhook_families families;
}

}  // namespace

// --- the deliverer ---

webhook_deliverer::webhook_deliverer(asio::io_context& ioc, store::session_store& store, const session::clock& clock,
                                     webhook_endpoint endpoint, webhook_settings settings, webhook_sender& sender)
    : ioc_(ioc),
      store_(store),
      clock_(clock),
      endpoint_(std::move(endpoint)),
      settings_(std::move(settings)),
      sender_(sender),
      stats_(std::make_shared<webhook_stats>()),
      timer_(ioc),
      random_(std::random_device{}()) {
    stats_->endpoint = endpoint_.name;
    register_families();
    std::lock_guard lock(registry_mutex);
    registry().push_back(stats_);
}

webhook_deliverer::~webhook_deliverer() = default;

void webhook_deliverer::start() {
    running_ = true;
    asio::co_spawn(ioc_, run(), log::contained{"webhook deliverer"});
}

void webhook_deliverer::stop(std::function<void()> done) {
    asio::post(ioc_, [this, done = std::move(done)]() mutable {
        stopping_ = true;
        if (!running_) {
            done();
            return;
        }
        on_stopped_ = std::move(done);
        timer_.cancel();
        sender_.cancel();
    });
}

bool webhook_deliverer::wanted(const session::event& e) const {
    return endpoint_.types.empty() ||
           std::find(endpoint_.types.begin(), endpoint_.types.end(), e.type) != endpoint_.types.end();
}

asio::awaitable<void> webhook_deliverer::pause(milliseconds d) {
    if (stopping_) co_return;
    timer_.expires_after(d);
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void webhook_deliverer::lose_lease(std::string_view why) {
    if (held_) log::warn("webhook lease lost", {{"endpoint", endpoint_.name}, {"why", why}});
    held_ = false;
    stats_->lease_held = false;
    stats_->lag_ms = 0;
    batch_.reset();
    cursor_.reset();
    unsaved_.clear();
}

asio::awaitable<void> webhook_deliverer::take_lease() {
    const auto sent = steady::now();
    auto got = co_await store_.acquire_webhook_lease(endpoint_.name, settings_.token, settings_.lease_ttl);
    if (!got || !*got) co_return;
    auto progress = co_await store_.load_webhook_progress(endpoint_.name);
    if (!progress) co_return;  // taken again (renewed) on the next turn
    // Events of the endpoint's first instant on, and after what was delivered.
    cursor_ = std::make_unique<store::event_cursor>();
    const session::event_position start{static_cast<std::uint64_t>(std::max<std::int64_t>(progress->start_ms - 1, 0)),
                                        std::numeric_limits<std::uint64_t>::max()};
    std::fill(cursor_->at.begin(), cursor_->at.end(), start);
    for (const auto& [stream, at] : progress->at)
        if (stream < cursor_->at.size()) cursor_->at[stream] = std::max(cursor_->at[stream], at);
    held_ = true;
    renewed_at_ = sent;
    held_until_ = sent + settings_.lease_ttl;
    stats_->lease_held = true;
    log::info("webhook lease taken", {{"endpoint", endpoint_.name}, {"streams_delivered", progress->at.size()}});
}

asio::awaitable<bool> webhook_deliverer::keep_lease() {
    const auto now = steady::now();
    if (now - renewed_at_ >= settings_.lease_ttl / 3) {
        auto renewed = co_await store_.renew_webhook_lease(endpoint_.name, settings_.token, settings_.lease_ttl);
        if (renewed && *renewed) {
            renewed_at_ = now;
            held_until_ = now + settings_.lease_ttl;
        } else if (renewed) {
            lose_lease("another instance holds it");
            co_return false;
        }
    }
    // Unrenewed (the store unreachable) for most of its life: another
    // instance may take it soon, so no send starts.
    if (steady::now() + settings_.lease_ttl / 4 >= held_until_) {
        lose_lease("not renewed in time");
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> webhook_deliverer::next_batch() {
    auto read = co_await store_.read_all_events(*cursor_, settings_.batch_size);
    if (!read) {
        co_await pause(settings_.poll_interval);
        co_return;
    }
    if (read->empty()) {
        stats_->lag_ms = 0;
        co_await pause(settings_.poll_interval);
        co_return;
    }
    std::map<std::uint32_t, session::event_position> last;
    std::vector<session::event> kept;
    for (const auto& e : *read) {
        cursor_->advance(e);
        if (auto at = session::event_position::parse(e.id)) last[e.stream] = std::max(last[e.stream], *at);
        if (wanted(e)) kept.push_back(e);
    }
    auto batch = make_batch(kept, clock_.now());
    batch.last.assign(last.begin(), last.end());
    if (kept.empty()) {
        // Nothing it wants: moved past, saved with the next batch's positions.
        for (const auto& [stream, at] : batch.last)
            unsaved_[stream] = std::max(unsaved_[stream], at);
        co_return;
    }
    batch_ = std::move(batch);
    attempts_ = 0;
    first_attempt_ = steady::now();
}

asio::awaitable<void> webhook_deliverer::commit() {
    for (const auto& [stream, at] : batch_->last)
        unsaved_[stream] = std::max(unsaved_[stream], at);
    batch_.reset();
    stats_->lag_ms = 0;
    // Only the streams that moved are written. A failed save is tried again
    // with the next batch's; a takeover meanwhile sends those events again.
    const std::vector<std::pair<std::uint32_t, session::event_position>> fields(unsaved_.begin(), unsaved_.end());
    auto saved = co_await store_.save_webhook_progress(endpoint_.name, settings_.token, fields);
    if (saved && !*saved) {
        lose_lease("another instance holds it");
        co_return;
    }
    if (saved) unsaved_.clear();
}

asio::awaitable<void> webhook_deliverer::deliver() {
    webhook_message m;
    m.id = batch_->id;
    m.timestamp = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    m.body = batch_->body;
    m.signature = webhook_signatures(endpoint_.secrets, m.id, m.timestamp, m.body);
    stats_->lag_ms = std::max<std::int64_t>(0, (clock_.now() - batch_->oldest).count());
    if (attempts_ > 0) ++stats_->retries;
    ++attempts_;
    auto sent = co_await sender_.send(m);
    if (stopping_) co_return;
    if (sent.delivered()) {
        ++stats_->delivered;
        stats_->delivered_events += batch_->events;
        co_await commit();
        co_return;
    }
    ++stats_->failed;
    const auto now = steady::now();
    const auto window_end = first_attempt_ + settings_.retry_for;
    if (now >= window_end) {
        ++stats_->dead;
        stats_->dead_events += batch_->events;
        log::warn("webhook batch given up: its events are dead", {{"endpoint", endpoint_.name},
                                                                  {"webhook_id", batch_->id},
                                                                  {"events", batch_->events},
                                                                  {"attempts", attempts_},
                                                                  {"status", sent.status},
                                                                  {"error", sent.error}});
        co_await commit();
        co_return;
    }
    if (attempts_ == 1 || attempts_ % 10 == 0)
        log::warn("webhook delivery failed, retrying", {{"endpoint", endpoint_.name},
                                                        {"webhook_id", batch_->id},
                                                        {"attempts", attempts_},
                                                        {"status", sent.status},
                                                        {"error", sent.error}});
    const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    auto wait = retry_delay(settings_.retry_delay, settings_.retry_max_delay, attempts_ - 1, unit);
    // The last attempt comes at the window's end.
    wait = std::min(wait, std::chrono::duration_cast<milliseconds>(window_end - now));
    co_await pause(wait);
}

asio::awaitable<void> webhook_deliverer::run() {
    while (!stopping_) {
        if (!held_) {
            co_await take_lease();
            if (!held_) co_await pause(std::min(settings_.lease_ttl / 3, settings_.poll_interval * 2));
            continue;
        }
        if (!co_await keep_lease()) continue;
        if (!batch_) {
            co_await next_batch();
            continue;
        }
        co_await deliver();
    }
    if (held_) {
        co_await store_.release_webhook_lease(endpoint_.name, settings_.token);
        held_ = false;
        stats_->lease_held = false;
        log::info("webhook lease released", {{"endpoint", endpoint_.name}});
    }
    running_ = false;
    if (auto done = std::exchange(on_stopped_, nullptr)) done();
}

}  // namespace sessiond::service
