#include "log/log.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>

namespace sessiond::log {

namespace {

std::atomic<bool> g_json{true};
std::shared_ptr<spdlog::logger> g_logger;

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
                if (json) {
                    out += '"';
                    append_json_escaped(out, v);
                    out += '"';
                } else if (v.find_first_of(" \"=") != std::string_view::npos || v.empty()) {
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
    spdlog::init_thread_pool(cfg.queue_size, 1);
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    g_logger = std::make_shared<spdlog::async_logger>("sessiond", sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::overrun_oldest);
    g_logger->set_pattern("%v");
    g_logger->set_level(spdlog::level::from_str(cfg.level));
    g_logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(g_logger);
    // Lines that are not errors reach the pipe within a second even when quiet.
    spdlog::flush_every(std::chrono::seconds(1));
}

void shutdown() {
    if (g_logger) g_logger->flush();
    spdlog::shutdown();
    g_logger.reset();
}

bool enabled(spdlog::level::level_enum level) {
    auto* l = spdlog::default_logger_raw();
    return l && l->should_log(level);
}

void write(spdlog::level::level_enum level, std::string_view message, std::span<const field> fields) {
    auto* logger = spdlog::default_logger_raw();
    if (!logger || !logger->should_log(level)) return;
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
    logger->log(level, "{}", line);
}

}  // namespace sessiond::log
