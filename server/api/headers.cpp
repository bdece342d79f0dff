#include "api/headers.hpp"

#include <boost/beast/core/string.hpp>

#include <iterator>

namespace sessiond::api {

std::string header_safe(std::string_view s) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c > 0x20 && c < 0x7f && c != '%') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

namespace {

template <class Name>
std::optional<std::string_view> single_of(const http::request& req, Name name) {
    // Fields are kept ordered by name: find gives the first of its name, and
    // a second one would be next to it.
    const auto it = req.find(name);
    if (it == req.end()) return std::string_view();
    const auto next = std::next(it);
    if (next != req.end() && boost::beast::iequals(next->name_string(), it->name_string())) return std::nullopt;
    return std::string_view(it->value());
}

}  // namespace

std::optional<std::string_view> single_header(const http::request& req, std::string_view name) {
    return single_of(req, name);
}

std::optional<std::string_view> single_header(const http::request& req, http::field name) {
    return single_of(req, name);
}

std::string_view token_from_request(const http::request& req, std::string_view cookie_name) {
    return find_token(req, cookie_name).token;
}

presented_token find_token(const http::request& req, std::string_view cookie_name) {
    std::string_view auth = req[http::field::authorization];
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
        auto t = auth.substr(7);
        while (!t.empty() && t.front() == ' ')
            t.remove_prefix(1);
        while (!t.empty() && t.back() == ' ')
            t.remove_suffix(1);
        return {t, false};
    }
    for (auto it = req.find(http::field::cookie); it != req.end() && it->name() == http::field::cookie; ++it) {
        std::string_view cookies = it->value();
        while (!cookies.empty()) {
            auto semi = cookies.find(';');
            auto pair = cookies.substr(0, semi);
            while (!pair.empty() && pair.front() == ' ')
                pair.remove_prefix(1);
            auto eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == cookie_name) {
                auto v = pair.substr(eq + 1);
                if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
                return {v, true};
            }
            if (semi == std::string_view::npos) break;
            cookies.remove_prefix(semi + 1);
        }
    }
    return {};
}

void set_no_store(http::response& res) {
    res.set(http::field::cache_control, "no-store");
    res.set(http::field::pragma, "no-cache");
}

}  // namespace sessiond::api
