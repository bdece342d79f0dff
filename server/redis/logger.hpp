#pragma once
// Where the Redis client reports what happens to its connections (up, down,
// refused handshake steps, protocol errors): a callback the application sets
// in config::log to route events into its own logger. Unset = silent; the
// client itself never writes anywhere.

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string_view>
#include <variant>

namespace sessiond::redis {

enum class log_level { debug, info, warn, error };

// One key/value of an event; the views live only as long as the call.
struct log_field {
    std::string_view key;
    std::variant<std::string_view, std::int64_t> value;

    log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
    template <std::integral Int>
    log_field(std::string_view k, Int v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

// Called on the client's I/O thread; must not block (hand the event to an
// asynchronous logger).
using logger = std::function<void(log_level, std::string_view message, std::span<const log_field> fields)>;

// Reports an event to `log`, if set.
inline void emit(const logger& log, log_level level, std::string_view message,
                 std::initializer_list<log_field> fields) {
    if (log) log(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

}  // namespace sessiond::redis
