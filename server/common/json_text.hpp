#pragma once
// JSON string escaping, shared by the API's hand-written JSON (responses,
// problems) and the JSON log lines: quotes, backslashes and control
// characters are escaped; other bytes (UTF-8) pass through.

#include <string>
#include <string_view>

namespace sessiond {

inline void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
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
                if (u < 0x20 || u == 0x7f) {
                    out += "\\u00";
                    out.push_back(hex[u >> 4]);
                    out.push_back(hex[u & 0xF]);
                } else {
                    out.push_back(c);
                }
        }
    }
}

// `s` as a JSON string literal, quotes included.
inline void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    append_json_escaped(out, s);
    out.push_back('"');
}

}  // namespace sessiond
