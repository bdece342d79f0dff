#pragma once
// Small text helpers that several layers need: trimming, hex digits and
// percent-decoding. One copy each.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sessiond {

// `s` without spaces, tabs, CRs and LFs at either end.
std::string_view trim(std::string_view s) noexcept;

// 0..15 for a hex digit of either case, -1 for anything else.
int hex_value(char c) noexcept;

// Lowercase hex of `bytes`, two digits a byte.
std::string to_hex(std::span<const std::uint8_t> bytes);

// %XX sequences decoded (no '+' rule); nullopt for a '%' that is not followed
// by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace sessiond
