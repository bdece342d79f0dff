#pragma once
// One Redis command, encoded once into the bytes that go on the wire (RESP,
// byte for byte what hiredis' redisFormatCommandArgv makes), and which
// argument is the key that routes it.

#include <charconv>
#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sessiond::redis {

namespace detail {
// One argument as text: strings are viewed, integers formatted in place.
class arg_view {
public:
    arg_view(std::string_view s) noexcept : view_(s) {}
    arg_view(const std::string& s) noexcept : view_(s) {}
    arg_view(const char* s) noexcept : view_(s) {}
    template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>) arg_view(T v)
    noexcept {
        const auto r = std::to_chars(buf_, buf_ + sizeof buf_, v);
        view_ = std::string_view(buf_, static_cast<std::size_t>(r.ptr - buf_));
    }
    arg_view(const arg_view&) = delete;
    arg_view& operator=(const arg_view&) = delete;
    std::string_view view() const noexcept { return view_; }

private:
    char buf_[24];
    std::string_view view_;
};
}  // namespace detail

class command {
public:
    static constexpr int no_key = -1;

    // command{"SET", key, value, "PXAT", ms}: arguments are strings or integers;
    // the routing key is the first argument after the name (none if there is none).
    template <class... Args>
    command(std::string_view name, const Args&... args) {
        const detail::arg_view argv[] = {detail::arg_view(name), detail::arg_view(args)...};
        encode(argv, sizeof...(Args) + 1, sizeof...(Args) > 0 ? 1 : no_key);
    }
    template <class... Args>
    static command make(std::string_view name, const Args&... args) {
        return command(name, args...);
    }
    // A command without a key (PING, SCRIPT LOAD, INFO…): routed to any connection.
    template <class... Args>
    static command keyless(std::string_view name, const Args&... args) {
        command c(name, args...);
        c.key_index_ = no_key;
        return c;
    }
    // From a list built at run time; key_index is the position of the routing
    // key in argv (0 is the command name), or no_key.
    static command from_args(std::span<const std::string_view> argv, int key_index);
    static command from_args(std::span<const std::string> argv, int key_index);

    command(const command& other);
    command& operator=(const command& other);
    command(command&&) noexcept = default;
    command& operator=(command&&) noexcept = default;
    ~command() = default;

    // The RESP encoding ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").
    std::string_view bytes() const noexcept { return {data_.get(), size_}; }
    std::size_t argc() const noexcept { return argc_; }
    std::string_view arg(std::size_t i) const noexcept;  // empty if out of range
    std::string_view name() const noexcept { return arg(0); }
    bool has_key() const noexcept { return key_index_ != no_key; }
    int key_index() const noexcept { return key_index_; }
    std::string_view key() const noexcept {
        return has_key() ? arg(static_cast<std::size_t>(key_index_)) : std::string_view{};
    }

private:
    command() = default;
    void encode(const detail::arg_view* argv, std::size_t argc, int key_index);
    void encode_views(const std::string_view* argv, std::size_t argc, int key_index);

    struct free_deleter {
        void operator()(char* p) const noexcept;
    };
    std::unique_ptr<char, free_deleter> data_;
    std::size_t size_ = 0;
    std::size_t argc_ = 0;
    int key_index_ = no_key;
};

}  // namespace sessiond::redis
