#include "redis/cluster_map.hpp"

#include <array>
#include <charconv>

namespace sessiond::redis {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
        for (int b = 0; b < 8; ++b)
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        table[i] = crc;
    }
    return table;
}
constexpr auto crc_table = make_crc_table();

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

std::string node_host(std::string_view host, std::string_view asked_host) {
    return std::string(host.empty() || host == "?" ? asked_host : host);
}

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept {
    std::uint16_t crc = 0;
    for (unsigned char c : data)
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc_table[((crc >> 8) ^ c) & 0xFF]);
    return crc;
}

std::uint16_t key_slot(std::string_view key) noexcept {
    if (const auto open = key.find('{'); open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
    }
    return static_cast<std::uint16_t>(crc16(key) % cluster_slots);
}

std::optional<redirect> parse_redirect(std::string_view message, std::string_view asked_host) {
    redirect out;
    if (message.starts_with("MOVED ")) {
        message.remove_prefix(6);
    } else if (message.starts_with("ASK ")) {
        message.remove_prefix(4);
        out.ask = true;
    } else {
        return std::nullopt;
    }
    const auto space = message.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    unsigned slot = 0;
    const auto [p, ec] = std::from_chars(message.data(), message.data() + space, slot);
    if (ec != std::errc{} || p != message.data() + space || slot >= cluster_slots) return std::nullopt;
    out.slot = static_cast<std::uint16_t>(slot);
    const std::string_view address = message.substr(space + 1);
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto port = parse_port(address.substr(colon + 1));
    if (!port) return std::nullopt;
    std::string_view host = address.substr(0, colon);
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    out.where = endpoint{node_host(host, asked_host), *port};
    return out;
}

namespace {

// [ip, port, id, …] of a CLUSTER SLOTS range.
std::optional<endpoint> slots_node(const reply& r, std::string_view asked_host) {
    if (!r.is_array()) return std::nullopt;
    const auto node = r.elements();
    if (node.size() < 2 || !node[0].is_string() || !node[1].is_integer()) return std::nullopt;
    const long long port = node[1].integer();
    if (port <= 0 || port > 65535) return std::nullopt;
    return endpoint{node_host(node[0].str(), asked_host), static_cast<std::uint16_t>(port)};
}

}  // namespace

std::optional<std::vector<slot_range>> parse_cluster_slots(const reply& r, std::string_view asked_host) {
    if (!r.is_array()) return std::nullopt;
    std::vector<slot_range> out;
    out.reserve(r.elements().size());
    for (const auto& range : r.elements()) {
        const auto e = range.elements();
        if (e.size() < 3 || !e[0].is_integer() || !e[1].is_integer() || !e[2].is_array()) return std::nullopt;
        const long long first = e[0].integer();
        const long long last = e[1].integer();
        if (first < 0 || last < first || last >= static_cast<long long>(cluster_slots)) return std::nullopt;
        auto primary = slots_node(e[2], asked_host);
        if (!primary) return std::nullopt;
        slot_range parsed{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last), *primary, {}};
        for (std::size_t i = 3; i < e.size(); ++i) {
            auto replica = slots_node(e[i], asked_host);
            if (!replica) return std::nullopt;
            parsed.replicas.push_back(std::move(*replica));
        }
        out.push_back(std::move(parsed));
    }
    return out;
}

std::optional<cluster_members> parse_cluster_nodes(const reply& r, std::string_view asked_host) {
    if (!r.is_string()) return std::nullopt;
    cluster_members out;
    std::string_view text = r.str();
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        // id, address, flags: the fields read here.
        std::array<std::string_view, 3> field;
        for (auto& f : field) {
            const auto space = line.find(' ');
            if (space == std::string_view::npos) return std::nullopt;
            f = line.substr(0, space);
            line.remove_prefix(space + 1);
        }
        const std::string_view flags = field[2];
        if (flags.find("handshake") != std::string_view::npos || flags.find("noaddr") != std::string_view::npos)
            continue;
        std::string_view address = field[1];
        std::string_view hostname;
        if (const auto comma = address.find(','); comma != std::string_view::npos) {
            hostname = address.substr(comma + 1);
            address = address.substr(0, comma);
        }
        address = address.substr(0, address.find('@'));
        const auto colon = address.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        const auto port = parse_port(address.substr(colon + 1));
        if (!port) continue;  // port 0: no address known yet
        std::string_view host = address.substr(0, colon);
        if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
        endpoint where{node_host(host, asked_host), *port};
        // "fail", not "fail?": a node only this one cannot reach may still be up.
        const bool failed = (',' + std::string(flags) + ',').find(",fail,") != std::string::npos;
        if (!failed) out.live.push_back(where);
        out.addresses.push_back(std::move(where));
        if (!hostname.empty()) out.addresses.push_back(endpoint{std::string(hostname), *port});
    }
    return out;
}

}  // namespace sessiond::redis
