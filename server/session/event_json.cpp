#include "session/event_json.hpp"

#include <charconv>

#include "common/json_text.hpp"
#include "session/rfc3339.hpp"

namespace sessiond::session {

std::string event_ref::to_string() const {
    return std::to_string(stream) + ':' + at.to_string();
}

std::optional<event_ref> event_ref::parse(std::string_view text) noexcept {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::uint32_t stream = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + colon, stream);
    if (ec != std::errc() || end != text.data() + colon || stream >= events_stream_count) return std::nullopt;
    const auto at = event_position::parse(text.substr(colon + 1));
    if (!at) return std::nullopt;
    return event_ref{stream, *at};
}

event_ref event_ref::of(const event& e) noexcept {
    return {e.stream, event_position::parse(e.id).value_or(event_position{})};
}

namespace {
void field(std::string& out, std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    append_json_string(out, value);
}
}  // namespace

void append_event_json(const event& e, std::string& out) {
    // The id as parsed, not as the store spelled it: only digits, '-' and ':'.
    out += "{\"id\":\"";
    out += event_ref::of(e).to_string();
    out += "\",\"type\":\"";
    out += event_name(e.type);
    out += "\",\"time\":\"";
    out += format_rfc3339(e.at);
    out += '"';
    if (!e.session_id.empty()) field(out, "session_id", e.session_id);
    if (!e.user_id.empty()) field(out, "user_id", e.user_id);
    if (!e.instance.empty()) field(out, "instance", e.instance);
    if (!e.caller.empty()) field(out, "caller", e.caller);
    if (!e.reason.empty()) field(out, "reason", e.reason);
    if (!e.tenant.empty()) field(out, "tenant", e.tenant);
    if (e.type == event_type::epoch_changed)
        field(out, "not_before", format_rfc3339(timestamp{std::chrono::milliseconds{e.instant_ms}}));
    if (e.type == event_type::user_sessions_revoked) {
        out += ",\"count\":";
        out += std::to_string(e.count);
    }
    out += '}';
}

std::string event_json(const event& e) {
    std::string out;
    append_event_json(e, out);
    return out;
}

}  // namespace sessiond::session
