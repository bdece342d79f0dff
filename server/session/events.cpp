#include "session/events.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace sessiond::session {

namespace {
constexpr std::array<std::pair<event_type, std::string_view>, 7> names{{
    {event_type::session_created, "session.created"},
    {event_type::session_rotated, "session.rotated"},
    {event_type::session_revoked, "session.revoked"},
    {event_type::session_reuse_detected, "session.reuse_detected"},
    {event_type::session_expired, "session.expired"},
    {event_type::user_sessions_revoked, "user.sessions_revoked"},
    {event_type::epoch_changed, "epoch.changed"},
}};

std::optional<std::uint64_t> number(std::string_view text) noexcept {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}
}  // namespace

std::string_view event_name(event_type t) noexcept {
    for (const auto& [type, name] : names)
        if (type == t) return name;
    return {};
}

std::optional<event_type> parse_event_type(std::string_view name) noexcept {
    for (const auto& [type, text] : names)
        if (text == name) return type;
    return std::nullopt;
}

std::string event_position::to_string() const {
    return std::to_string(ms) + '-' + std::to_string(seq);
}

std::optional<event_position> event_position::parse(std::string_view text) noexcept {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto ms = number(text.substr(0, dash));
    const auto seq = number(text.substr(dash + 1));
    if (!ms || !seq) return std::nullopt;
    return event_position{*ms, *seq};
}

}  // namespace sessiond::session
