#pragma once
// A decoded Redis reply: nil, status, error, integer, bulk string or array.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond::redis {

class reply {
public:
    enum class kind : std::uint8_t { nil, status, error, integer, string, array };

    reply() = default;
    static reply make_nil() { return {}; }
    static reply make_status(std::string s) { return reply(kind::status, std::move(s)); }
    static reply make_error(std::string s) { return reply(kind::error, std::move(s)); }
    static reply make_string(std::string s) { return reply(kind::string, std::move(s)); }
    static reply make_integer(long long v) {
        reply r;
        r.kind_ = kind::integer;
        r.integer_ = v;
        return r;
    }
    static reply make_array(std::vector<reply> elements) {
        reply r;
        r.kind_ = kind::array;
        r.elements_ = std::move(elements);
        return r;
    }

    kind type() const noexcept { return kind_; }
    bool is_nil() const noexcept { return kind_ == kind::nil; }
    bool is_status() const noexcept { return kind_ == kind::status; }
    bool is_error() const noexcept { return kind_ == kind::error; }
    bool is_integer() const noexcept { return kind_ == kind::integer; }
    bool is_string() const noexcept { return kind_ == kind::string; }
    bool is_array() const noexcept { return kind_ == kind::array; }

    // Text of a status, error or bulk string; empty for other kinds.
    std::string_view str() const noexcept { return text_; }
    // Takes the text out (no copy) of a status, error or bulk string.
    std::string take_str() noexcept { return std::move(text_); }
    // Value of an integer reply; 0 for other kinds.
    long long integer() const noexcept { return integer_; }
    // Elements of an array; empty for other kinds.
    std::span<const reply> elements() const noexcept { return elements_; }
    std::vector<reply>& elements() noexcept { return elements_; }

    friend bool operator==(const reply&, const reply&) = default;

private:
    friend class reply_decoder;
    friend struct decoder_callbacks;
    reply(kind k, std::string s) : kind_(k), text_(std::move(s)) {}

    kind kind_ = kind::nil;
    long long integer_ = 0;
    std::string text_;
    std::vector<reply> elements_;
};

// For test failure messages and logs (never log values of session keys).
std::string to_string(const reply& r);

}  // namespace sessiond::redis
