// The parsers of option values that are more than a number or a word: the
// lists (metadata headers, redirect hosts, header families, assertion keys,
// names), the header names that may not carry session data, durations.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>

namespace sessiond {

namespace {

constexpr std::string_view header_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The comma-separated items of `text`, trimmed, none empty.
std::vector<std::string_view> list_items(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        item.remove_prefix(std::min(item.find_first_not_of(" \t"), item.size()));
        item = item.substr(0, item.find_last_not_of(" \t") + 1);
        if (item.empty()) throw std::invalid_argument("an empty item in the list");
        out.push_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
        if (text.empty()) throw std::invalid_argument("an empty item in the list");
    }
    return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_metadata_headers(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto item : list_items(text)) {
        auto colon = item.find(':');
        if (colon == std::string_view::npos) throw std::invalid_argument("expected field:Header items");
        auto field = item.substr(0, colon);
        auto header = item.substr(colon + 1);
        if (field.empty() || field.size() > 64 ||
            field.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
                std::string_view::npos)
            throw std::invalid_argument("a metadata field is 1..64 letters, digits, '-', '_' or '.'");
        if (header.empty() || header.size() > 64 || header.find_first_not_of(header_chars) != std::string_view::npos)
            throw std::invalid_argument("not a valid header name after '" + std::string(field) + ":'");
        for (const auto& [f, h] : out)
            if (f == field || h == header) throw std::invalid_argument("a field or header is named twice");
        out.emplace_back(field, header);
    }
    if (out.size() > 16) throw std::invalid_argument("at most 16 metadata headers");
    return out;
}

std::optional<std::string> reserved_header_reason(std::string_view name) {
    std::string n(name);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return std::tolower(ch); });
    struct rule {
        std::string_view name;
        bool prefix;
        std::string_view why;
    };
    static constexpr std::string_view browser_state = "it sets state in the browser";
    static constexpr std::string_view redirects = "it redirects the client";
    static constexpr std::string_view routing = "it routes the request";
    static constexpr std::string_view caching = "it controls caching";
    static constexpr std::string_view framing = "it frames or describes the message body";
    static constexpr std::string_view hop = "it is a hop-by-hop header";
    static constexpr std::string_view credentials = "it carries or asks for credentials";
    static constexpr std::string_view own = "sessiond sets it itself";
    static constexpr std::string_view original = "it describes the original request to proxies and sessiond";
    static constexpr std::string_view proxy = "a proxy acts on it";
    static constexpr rule rules[] = {
        {"set-cookie", false, browser_state},
        {"set-cookie2", false, browser_state},
        {"clear-site-data", false, browser_state},
        {"strict-transport-security", false, browser_state},
        {"access-control-", true, browser_state},
        {"location", false, redirects},
        {"refresh", false, redirects},
        {"host", false, routing},
        {":", true, routing},
        {"cache-control", false, caching},
        {"pragma", false, caching},
        {"expires", false, caching},
        {"age", false, caching},
        {"vary", false, caching},
        {"etag", false, caching},
        {"last-modified", false, caching},
        {"content-", true, framing},
        {"transfer-encoding", false, framing},
        {"trailer", false, framing},
        {"connection", false, hop},
        {"keep-alive", false, hop},
        {"te", false, hop},
        {"upgrade", false, hop},
        {"proxy-", true, hop},
        {"http2-settings", false, hop},
        {"authorization", false, credentials},
        {"cookie", false, credentials},
        {"www-authenticate", false, credentials},
        {"x-request-id", false, own},
        {"date", false, own},
        {"server", false, own},
        {"retry-after", false, own},
        {"forwarded", false, original},
        {"x-forwarded-", true, original},
        {"x-original-", true, original},
        {"x-real-ip", false, original},
        {"x-accel-", true, proxy},
        {"x-sendfile", false, proxy},
        {"x-envoy-", true, proxy},
    };
    for (const auto& r : rules)
        if (r.prefix ? n.starts_with(r.name) : n == r.name)
            return std::string("cannot carry session data: ") + std::string(r.why);
    return std::nullopt;
}

std::vector<std::string> parse_host_list(std::string_view text) {
    std::vector<std::string> out;
    for (auto item : list_items(text)) {
        auto name = item.starts_with("*.") ? item.substr(2) : item;
        if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
            name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") !=
                std::string_view::npos)
            throw std::invalid_argument("expected host names or *.domain entries, without ports or schemes");
        std::string host(item);
        std::transform(host.begin(), host.end(), host.begin(), [](unsigned char ch) { return std::tolower(ch); });
        out.push_back(std::move(host));
    }
    return out;
}

std::chrono::milliseconds parse_duration(std::string_view text) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data())
        throw std::invalid_argument("expected a duration such as 250ms, 10s, 5m, 1h or 2d");
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = 0;
    if (unit == "ms")
        scale = 1;
    else if (unit == "s")
        scale = 1000;
    else if (unit == "m")
        scale = 60'000;
    else if (unit == "h")
        scale = 3'600'000;
    else if (unit == "d")
        scale = 86'400'000;
    else
        throw std::invalid_argument("expected a duration with a unit: ms, s, m, h or d (as in 10s)");
    if (n > std::numeric_limits<std::int64_t>::max() / scale / 1000) throw std::invalid_argument("duration too large");
    return std::chrono::milliseconds(static_cast<std::int64_t>(n * scale));
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::vector<std::string> parse_list(std::string_view text) {
    std::vector<std::string> out;
    if (text.find_first_not_of(" \t") == std::string_view::npos) return out;
    for (auto entry : list_items(text)) {
        if (entry.size() > 256 || std::any_of(entry.begin(), entry.end(), [](unsigned char ch) {
                return ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\';
            }))
            throw std::invalid_argument("an entry is longer than 256 bytes or holds a control character, '\"' or '\\'");
        out.emplace_back(entry);
    }
    return out;
}

std::vector<header_family> parse_original_headers(std::string_view text) {
    std::vector<header_family> out;
    for (const auto& entry : parse_list(text)) {
        std::string name(entry);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
        header_family f{};
        if (name == "x-original")
            f = header_family::x_original;
        else if (name == "x-forwarded")
            f = header_family::x_forwarded;
        else
            throw std::invalid_argument("expected x-original and/or x-forwarded, comma-separated");
        if (std::find(out.begin(), out.end(), f) != out.end()) throw std::invalid_argument(name + " is named twice");
        out.push_back(f);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_assertion_keys(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : parse_list(text)) {
        const auto colon = entry.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size())
            throw std::invalid_argument("expected kid:path entries");
        out.emplace_back(entry.substr(0, colon), entry.substr(colon + 1));
    }
    return out;
}

namespace {

// Spaces, tabs and newlines off both ends (a list may span lines in a file).
std::string_view trim_entry(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\n'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\n'))
        v.remove_suffix(1);
    return v;
}

// The entries of a ';'-separated list of "name=field|field|..." (empty
// entries skipped), each part trimmed; an entry without '=' throws `shape`.
std::vector<std::pair<std::string, std::vector<std::string>>> named_entries(std::string_view text,
                                                                            std::string_view shape) {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    while (!text.empty()) {
        const auto semi = text.find(';');
        const auto entry = trim_entry(text.substr(0, semi));
        text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
        if (entry.empty()) continue;
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos) throw std::invalid_argument(std::string(shape));
        auto& [name, fields] =
            out.emplace_back(std::string(trim_entry(entry.substr(0, eq))), std::vector<std::string>{});
        std::string_view rest = entry.substr(eq + 1);
        for (;;) {
            const auto bar = rest.find('|');
            fields.emplace_back(trim_entry(rest.substr(0, bar)));
            if (bar == std::string_view::npos) break;
            rest = rest.substr(bar + 1);
        }
    }
    return out;
}

}  // namespace

std::vector<oidc_provider_entry> parse_oidc_providers(std::string_view text) {
    static constexpr std::string_view shape =
        "expected name=issuer|client_id|jwks-file[|alg,alg...] entries, ';'-separated";
    std::vector<oidc_provider_entry> out;
    for (auto& [name, fields] : named_entries(text, shape)) {
        oidc_provider_entry p;
        p.name = std::move(name);
        if (fields.size() < 3 || fields.size() > 4 || fields[0].empty() || fields[1].empty() || fields[2].empty())
            throw std::invalid_argument(std::string(shape));
        const bool name_ok =
            !p.name.empty() && p.name.size() <= 64 && std::all_of(p.name.begin(), p.name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
            });
        if (!name_ok) throw std::invalid_argument("a provider name is 1..64 letters, digits, '-', '_', '.' or ':'");
        for (const auto& other : out)
            if (other.name == p.name) throw std::invalid_argument("provider " + p.name + " is listed twice");
        p.issuer = fields[0];
        p.client_id = fields[1];
        p.jwks_file = fields[2];
        p.algs = fields.size() == 4 ? parse_list(fields[3]) : std::vector<std::string>{"RS256", "ES256", "EdDSA"};
        for (const auto& alg : p.algs)
            if (alg != "RS256" && alg != "ES256" && alg != "EdDSA")
                throw std::invalid_argument("provider " + p.name + ": alg " + alg +
                                            " is not one of RS256, ES256, EdDSA");
        out.push_back(std::move(p));
    }
    return out;
}

std::string url_host(std::string_view url) {
    std::string_view rest;
    if (url.starts_with("https://"))
        rest = url.substr(8);
    else if (url.starts_with("http://"))
        rest = url.substr(7);
    else
        return {};
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (rest.find('@') != std::string_view::npos) return {};  // no credentials in a URL
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        return close == std::string_view::npos ? std::string() : std::string(rest.substr(1, close - 1));
    }
    return std::string(rest.substr(0, rest.find(':')));
}

std::vector<webhook_entry> parse_webhooks(std::string_view text) {
    static constexpr std::string_view shape = "expected name=url|secret-file[|type,type...] entries, ';'-separated";
    std::vector<webhook_entry> out;
    for (auto& [name, fields] : named_entries(text, shape)) {
        webhook_entry w;
        w.name = std::move(name);
        if (fields.size() < 2 || fields.size() > 3 || fields[0].empty() || fields[1].empty())
            throw std::invalid_argument(std::string(shape));
        const bool name_ok =
            !w.name.empty() && w.name.size() <= 64 && std::all_of(w.name.begin(), w.name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
            });
        if (!name_ok) throw std::invalid_argument("a webhook name is 1..64 letters, digits, '-', '_' or '.'");
        for (const auto& other : out)
            if (other.name == w.name) throw std::invalid_argument("webhook " + w.name + " is listed twice");
        w.url = fields[0];
        if (url_host(w.url).empty())
            throw std::invalid_argument("webhook " + w.name + ": the URL must be https://host[:port][/path]");
        w.secret_file = fields[1];
        if (fields.size() == 3) w.types = parse_list(fields[2]);
        out.push_back(std::move(w));
    }
    return out;
}

}  // namespace sessiond
