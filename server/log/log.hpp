#pragma once
// Structured logging: one event = a message plus key/value fields, written as
// a JSON line (default) or as plain text, through spdlog's async logger so an
// I/O thread never waits for the terminal or a pipe.
//
// Never pass a token or a secret as a field: sessions are named by public id.

#include <spdlog/spdlog.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/json_text.hpp"
#include "config/config.hpp"

namespace sessiond::log {

struct field {
    std::string_view key;
    std::variant<std::string_view, std::int64_t, std::uint64_t, bool, double> value;

    field(std::string_view k, std::string_view v) : key(k), value(v) {}
    field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    field(std::string_view k, bool v) : key(k), value(v) {}
    field(std::string_view k, double v) : key(k), value(v) {}
    template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>) field(std::string_view k, Int v) : key(k) {
        if constexpr (std::is_signed_v<Int>)
            value = static_cast<std::int64_t>(v);
        else
            value = static_cast<std::uint64_t>(v);
    }
};

// Sets up the process-wide loggers. Call once, before the I/O threads start.
void init(const log_config& cfg);
// Another level (a reload): trace, debug, info, warn, error or off.
void set_level(std::string_view level);
// Writes out what is queued and stops the loggers (at exit).
void shutdown();

// Lines lost so far: pushed out of a full queue (access lines and all other
// lines have separate queues, so access lines never push out an audit event
// or an error), or not written (stdout closed or failing).
struct drop_counts {
    std::uint64_t access_queue = 0;
    std::uint64_t events_queue = 0;
    std::uint64_t write_failed = 0;
};
drop_counts dropped() noexcept;

bool enabled(spdlog::level::level_enum level);
void write(spdlog::level::level_enum level, std::string_view message, std::span<const field> fields);
inline void write(spdlog::level::level_enum level, std::string_view message, std::initializer_list<field> fields) {
    write(level, message, std::span<const field>(fields.begin(), fields.size()));
}

// One access line (the HTTP server's, per request), on the access queue.
void access(std::string_view message, std::initializer_list<field> fields);

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
    write(spdlog::level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
    write(spdlog::level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
    write(spdlog::level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
    write(spdlog::level::err, m, f);
}

}  // namespace sessiond::log
