#include "session/context.hpp"

#include <algorithm>

namespace sessiond::session {
namespace {

// The length of the UTF-8 sequence starting `text` if it is a valid one,
// else 0.
std::size_t sequence_length(std::string_view text) noexcept {
    const auto c = static_cast<unsigned char>(text[0]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || n > text.size()) return 0;
    std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(text[k]);
        if ((cc & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

// C0, DEL, or C1 (U+0080..U+009F, encoded C2 80..C2 9F): what a terminal
// or a page would act on rather than show.
bool control_at(std::string_view text, std::size_t n) noexcept {
    const auto c = static_cast<unsigned char>(text[0]);
    if (n == 1) return c < 0x20 || c == 0x7f;
    return n == 2 && c == 0xc2 && static_cast<unsigned char>(text[1]) <= 0x9f;
}

}  // namespace

bool valid_utf8(std::string_view text) noexcept {
    while (!text.empty()) {
        const std::size_t n = sequence_length(text);
        if (n == 0) return false;
        text.remove_prefix(n);
    }
    return true;
}

bool valid_display_text(std::string_view text, std::size_t max) noexcept {
    if (text.empty() || text.size() > max) return false;
    while (!text.empty()) {
        const std::size_t n = sequence_length(text);
        if (n == 0 || control_at(text, n)) return false;
        text.remove_prefix(n);
    }
    return true;
}

std::string clean_user_agent(std::string_view user_agent) {
    std::string out;
    out.reserve(std::min(user_agent.size(), max_user_agent_size));
    while (!user_agent.empty()) {
        std::size_t n = sequence_length(user_agent);
        const bool keep = n != 0 && !control_at(user_agent, n);
        if (n == 0) n = 1;
        const std::size_t adds = keep ? n : 1;
        if (out.size() + adds > max_user_agent_size) break;
        if (keep)
            out.append(user_agent.substr(0, n));
        else
            out.push_back('?');
        user_agent.remove_prefix(n);
    }
    return out;
}

bool valid_name(std::string_view name, std::size_t max) noexcept {
    return !name.empty() && name.size() <= max && std::all_of(name.begin(), name.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == ':';
    });
}

bool valid_provider_sid(std::string_view sid) noexcept {
    return !sid.empty() && sid.size() <= max_provider_sid_size && std::all_of(sid.begin(), sid.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c > 0x20 && c < 0x7f;
    });
}

}  // namespace sessiond::session
