#pragma once
// JSON string escaping, shared by the API's hand-written JSON (responses,
// problems) and the JSON log lines: quotes, backslashes and control
// characters are escaped, C0, DEL and, as UTF-8, the C1 controls
// (U+0080..U+009F: U+009B is a terminal's CSI), the line and paragraph
// separators (U+2028, U+2029) and the bidirectional controls (U+200E,
// U+200F, U+202A..U+202E, U+2066..U+2069), so that a log line or a JSON
// document shown on a terminal cannot drive it or reorder what it shows.
// Other bytes (UTF-8) pass through.

#include <cstddef>
#include <string>
#include <string_view>

namespace sessiond {

// The length (2 or 3) of the UTF-8 sequence at s[i] when it encodes a C1
// control, U+2028, U+2029 or a bidirectional control, and its code point;
// 0 for anything else (an ill-formed sequence included).
inline std::size_t terminal_control_at(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 == 0xc2 && i + 1 < s.size()) {
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        if (b1 >= 0x80 && b1 <= 0x9f) {
            cp = b1;
            return 2;
        }
    } else if (b0 == 0xe2 && i + 2 < s.size()) {
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        const auto b2 = static_cast<unsigned char>(s[i + 2]);
        if (b1 != 0x80 && b1 != 0x81) return 0;
        if ((b2 & 0xc0) != 0x80) return 0;
        cp = 0x2000 + ((b1 & 0x3fU) << 6U) + (b2 & 0x3fU);
        if (cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 3;
    }
    return 0;
}

// "\uXXXX" for a code point below U+10000.
inline void append_u_escape(std::string& out, char32_t cp) {
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4)
        out.push_back(hex[(cp >> static_cast<unsigned>(shift)) & 0xFU]);
}

// If s[i] starts a control (C0, DEL, or a code point terminal_control_at
// names): its "\u009b"-style escape appended, `i` moved to its last byte,
// true; otherwise nothing done, false.
inline bool append_if_control(std::string& out, std::string_view s, std::size_t& i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u == 0x7f) {
        append_u_escape(out, u);
        return true;
    }
    char32_t cp = 0;
    const std::size_t n = u >= 0xc2 ? terminal_control_at(s, i, cp) : 0;
    if (n == 0) return false;
    append_u_escape(out, cp);
    i += n - 1;
    return true;
}

inline void append_json_escaped(std::string& out, std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (!append_if_control(out, s, i)) out.push_back(c);
        }
    }
}

// `s` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    append_json_escaped(out, s);
    out.push_back('"');
}

// `s` for a terminal or a table: C0 controls, DEL and the code points of
// terminal_control_at as a visible "\u009b"-style escape; everything else
// as is.
inline std::string visible_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!append_if_control(out, s, i)) out.push_back(s[i]);
    return out;
}

}  // namespace sessiond
