#include "log/log.hpp"

#include <spdlog/async.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/metrics.hpp"

namespace sessiond::log {

namespace {

std::atomic<bool> g_json{true};
std::atomic<std::uint64_t> g_write_failed{0};

// Writes each line to a file descriptor (stdout) with write(2). A failed
// write (the reader went away: EPIPE, with SIGPIPE ignored; a full disk)
// drops the line and counts it, and never throws or stops the process.
class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit fd_sink(int fd) : fd_(fd) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        const char* p = line.data();
        std::size_t left = line.size();
        while (left > 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                g_write_failed.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    void flush_() override {}

private:
    int fd_;
};

// Two queues, each with its own bound and worker: access lines, which a
// flood of requests can fill, and every other line (audit events, warnings,
// errors), which access lines can then never push out. A full queue drops
// its oldest line, counted by its pool.
struct loggers {
    std::shared_ptr<spdlog::details::thread_pool> events_pool, access_pool;
    std::shared_ptr<spdlog::logger> events, access;
};
loggers g;

std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace:
            return "trace";
        case spdlog::level::debug:
            return "debug";
        case spdlog::level::info:
            return "info";
        case spdlog::level::warn:
            return "warn";
        case spdlog::level::err:
            return "error";
        case spdlog::level::critical:
            return "critical";
        default:
            return "off";
    }
}

void append_value(std::string& out, const field& f, bool json) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
                // Text values are quoted only where a reader could not tell where they end.
                if (json || v.empty() || v.find_first_of(" \"=") != std::string_view::npos) {
                    out += '"';
                    append_json_escaped(out, v);
                    out += '"';
                } else {
                    append_json_escaped(out, v);
                }
            } else if constexpr (std::is_same_v<T, bool>) {
                out += v ? "true" : "false";
            } else {
                fmt::format_to(std::back_inserter(out), "{}", v);
            }
        },
        f.value);
}

// The time stamp is written by us rather than by spdlog's pattern so that a
// JSON line is produced by one formatting path.
void append_timestamp(std::string& out) {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace

void init(const log_config& cfg) {
    g_json = cfg.format == log_format::json;
    auto sink = std::make_shared<fd_sink>(STDOUT_FILENO);
    sink->set_pattern("%v");
    g.events_pool = std::make_shared<spdlog::details::thread_pool>(cfg.queue_size, 1);
    g.access_pool = std::make_shared<spdlog::details::thread_pool>(cfg.queue_size, 1);
    g.events = std::make_shared<spdlog::async_logger>("sessiond", sink, g.events_pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
    g.access = std::make_shared<spdlog::async_logger>("sessiond.access", sink, g.access_pool,
                                                      spdlog::async_overflow_policy::overrun_oldest);
    for (auto* l : {&g.events, &g.access}) {
        (*l)->set_level(spdlog::level::from_str(std::string(to_string(cfg.level))));
        (*l)->set_error_handler([](const std::string&) { g_write_failed.fetch_add(1, std::memory_order_relaxed); });
    }
    spdlog::set_default_logger(g.events);
}

void set_level(std::string_view level) {
    const auto l = spdlog::level::from_str(std::string(level));
    for (auto* logger : {g.events.get(), g.access.get()})
        if (logger) logger->set_level(l);  // atomic in spdlog: any thread
}

void shutdown() {
    // Each pool's worker drains its queue when the pool is destroyed.
    spdlog::drop_all();
    g = loggers{};
    spdlog::shutdown();
}

drop_counts dropped() noexcept {
    drop_counts out;
    if (g.events_pool) out.events_queue = g.events_pool->overrun_counter();
    if (g.access_pool) out.access_queue = g.access_pool->overrun_counter();
    out.write_failed = g_write_failed.load(std::memory_order_relaxed);
    return out;
}

namespace {
const metrics::callback_family lines_dropped{
    "sessiond_log_lines_dropped_total", "Log lines lost: pushed out of a full queue, or not written.",
    metrics::type::counter, [] {
        const auto lost = dropped();
        return std::vector<metrics::sample>{
            {R"(queue="access",reason="queue_full")", static_cast<double>(lost.access_queue)},
            {R"(queue="events",reason="queue_full")", static_cast<double>(lost.events_queue)},
            {R"(queue="any",reason="write_failed")", static_cast<double>(lost.write_failed)}};
    }};
}  // namespace

bool enabled(spdlog::level::level_enum level) {
    auto* l = g.events ? g.events.get() : spdlog::default_logger_raw();
    return l && l->should_log(level);
}

namespace {

std::string format_line(spdlog::level::level_enum level, std::string_view message, std::span<const field> fields) {
    std::string line;
    line.reserve(160);
    if (g_json) {
        line += "{\"ts\":\"";
        append_timestamp(line);
        line += "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"msg\":\"";
        append_json_escaped(line, message);
        line += '"';
        for (const auto& f : fields) {
            line += ",\"";
            append_json_escaped(line, f.key);
            line += "\":";
            append_value(line, f, true);
        }
        line += '}';
    } else {
        append_timestamp(line);
        line += ' ';
        line += level_name(level);
        line += ' ';
        line += message;
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            append_value(line, f, false);
        }
    }
    return line;
}

void write_to(spdlog::logger* logger, spdlog::level::level_enum level, std::string_view message,
              std::span<const field> fields) {
    if (!logger || !logger->should_log(level)) return;
    logger->log(level, "{}", format_line(level, message, fields));
}

}  // namespace

void write(spdlog::level::level_enum level, std::string_view message, std::span<const field> fields) {
    write_to(g.events ? g.events.get() : spdlog::default_logger_raw(), level, message, fields);
}

void access(std::string_view message, std::initializer_list<field> fields) {
    write_to(g.access ? g.access.get() : spdlog::default_logger_raw(), spdlog::level::info, message,
             std::span<const field>(fields.begin(), fields.size()));
}

}  // namespace sessiond::log
