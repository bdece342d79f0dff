#include "api/cursors.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "api/session_json.hpp"

namespace sessiond::api {

namespace {

constexpr std::size_t cursor_position_bytes = 8 + 16;
constexpr std::size_t cursor_tag_bytes = 16;
constexpr std::size_t cursor_bytes = cursor_position_bytes + cursor_tag_bytes;
constexpr std::string_view cursor_context = "sessiond list cursor";

using cursor_array = std::array<std::uint8_t, cursor_bytes>;

// The tag of the position in `raw` for `user_id`, written after it.
void tag_cursor(cursor_array& raw, const session::keyring& keys, std::string_view user_id) {
    auto mac = keys.derive_secret(cursor_context, session::bytes_view(raw.data(), cursor_position_bytes), user_id);
    std::copy(mac.begin(), mac.begin() + cursor_tag_bytes, raw.begin() + cursor_position_bytes);
}

}  // namespace

std::string encode_cursor(const service::user_cursor& c, const session::keyring& keys, std::string_view user_id) {
    cursor_array raw{};
    auto ms = static_cast<std::uint64_t>(c.deadline.time_since_epoch().count());
    for (int i = 7; i >= 0; --i, ms >>= 8)
        raw[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms & 0xFF);
    std::copy(c.id.id.begin(), c.id.id.end(), raw.begin() + 8);
    tag_cursor(raw, keys, user_id);
    return session::base64url_encode(raw);
}

std::string page_json(const service::user_sessions& page, const session::keyring& keys, std::string_view user_id,
                      const session::session_id* current) {
    std::string out = R"({"sessions":[)";
    bool first = true;
    for (const auto& r : page.sessions) {
        if (!first) out += ',';
        first = false;
        append_json(r, out);
        if (current) {
            out.pop_back();  // the object's '}'
            out += r.id == *current ? R"(,"current":true})" : R"(,"current":false})";
        }
    }
    out += ']';
    if (page.unreadable > 0) out.append(R"(,"unreadable":)").append(std::to_string(page.unreadable));
    if (page.next) out.append(R"(,"next_cursor":")").append(encode_cursor(*page.next, keys, user_id)).append(1, '"');
    out += '}';
    return out;
}

std::optional<service::user_cursor> decode_cursor(std::string_view text, const session::keyring& keys,
                                                  std::string_view user_id) {
    cursor_array raw{};
    if (text.size() != session::base64url_encoded_size(cursor_bytes)) return std::nullopt;
    auto n = session::base64url_decode(text, raw);
    if (!n || *n != cursor_bytes) return std::nullopt;
    cursor_array expected = raw;
    tag_cursor(expected, keys, user_id);
    if (!session::equal_ct(session::bytes_view(expected).subspan(cursor_position_bytes),
                           session::bytes_view(raw).subspan(cursor_position_bytes)))
        return std::nullopt;
    std::uint64_t ms = 0;
    for (std::size_t i = 0; i < 8; ++i)
        ms = (ms << 8) | raw[i];
    if (ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    service::user_cursor c{session::timestamp(std::chrono::milliseconds(static_cast<std::int64_t>(ms))), {}};
    std::copy(raw.begin() + 8, raw.begin() + cursor_position_bytes, c.id.id.begin());
    return c;
}

}  // namespace sessiond::api
