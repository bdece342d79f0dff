#include "cli/admin.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/admin_client.hpp"
#include "common/json_text.hpp"
#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"
#include "common/text.hpp"

namespace sessiond::cli {

namespace json = boost::json;

namespace {

constexpr const char* usage_text =
    R"(usage: sessiond admin <command> [options]

Commands (each a call to a running sessiond's admin API, scope sessions:admin):
  sessions list USER [--json] [--limit N] [--cursor C | --all]
                              the user's live sessions, newest first; one page
                              of N (default 100) unless --all follows the pages
  sessions show ID [--json]   one session by its public id
  sessions revoke ID          revoke one session by its public id
  users revoke USER [--except ID] [--json]
                              revoke all of the user's sessions, but ID
  users revoke-many USER... [--json]
                              revoke all the sessions of each user (offboarding),
                              100 users per request; a user the store failed
                              for is reported, and the exit status is then 1
  not-before show [--tenant T] [--user U] [--json]
                              the "not before" instants: for everyone, each
                              tenant's (or only T's) and, with --user, U's
  not-before set --tenant T | --user U | --yes [--json]
                              end every session created before now: of the
                              tenant T, of the user U, or with --yes alone of
                              everyone (every user is signed out)
  keygen --scopes S [--name N]
                              a new API key and its config entry (as `sessiond keygen`)

Connection (flags win over the environment):
  --url URL              http:// or https:// address of the API
                         [SESSIOND_ADMIN_URL, default http://127.0.0.1:8080]
  --api-key-file FILE    file holding the API key
                         [SESSIOND_ADMIN_API_KEY_FILE, or the key itself in SESSIOND_ADMIN_API_KEY]
  --api-key-header NAME  header carrying the key [SESSIOND_ADMIN_API_KEY_HEADER, default X-API-Key]
  --ca-file FILE         CA certificates for https (default: the system's)
                         [SESSIOND_ADMIN_CA_FILE]
  --timeout D            limit for each request, connect included (default 10s)
  --connect-timeout D    limit for connecting (default 5s); D as 500ms, 5s, 1m
  --allow-insecure-http  allow an http:// URL to a host other than loopback
                         (localhost, 127.0.0.0/8, ::1): the key then crosses
                         the network in clear; refused without it

Put `--` before a USER that starts with '-'. The key is never accepted as a
flag's value: the command line is visible to every user of the machine.

Exit status: 0 done, 1 the server refused or failed (its problem is shown),
2 usage error, 3 the server could not be reached (refused, timeout, TLS).
)";

// Options that take a value, and flags.
const std::set<std::string_view> valued = {
    "--url",   "--api-key-file", "--api-key-header", "--ca-file", "--timeout", "--connect-timeout",
    "--limit", "--cursor",       "--except",         "--tenant",  "--user"};
const std::set<std::string_view> flags = {"--json", "--all", "--yes", "--help", "-h", "--allow-insecure-http"};
const std::set<std::string_view> connection_options = {"--url",     "--api-key-file",    "--api-key-header",
                                                       "--ca-file", "--connect-timeout", "--timeout"};
const std::set<std::string_view> connection_flags = {"--allow-insecure-http"};

struct command_line {
    std::vector<std::string> words;  // positional: noun, verb, argument
    std::map<std::string, std::string, std::less<>> values;
    std::set<std::string, std::less<>> set_flags;

    bool flag(std::string_view name) const { return set_flags.find(name) != set_flags.end(); }
    std::optional<std::string> value(std::string_view name) const {
        auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
};

command_line parse(std::span<char* const> args) {
    command_line c;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (options_done || a.empty() || a[0] != '-' || a == "-") {
            c.words.push_back(std::move(a));
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        std::string name = a, value;
        bool inline_value = false;
        if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
            inline_value = true;
        }
        if (name == "--api-key")
            throw usage_error(
                "--api-key is not accepted: a key on the command line is visible to every user of the machine; "
                "use --api-key-file FILE or the environment (SESSIOND_ADMIN_API_KEY_FILE, SESSIOND_ADMIN_API_KEY)");
        if (flags.count(name) != 0) {
            if (inline_value) throw usage_error(name + " takes no value");
            c.set_flags.insert(name);
        } else if (valued.count(name) != 0) {
            if (!inline_value) {
                if (i + 1 >= args.size()) throw usage_error(name + " needs a value");
                value = args[++i];
            }
            if (c.values.count(name) != 0) throw usage_error(name + " is given twice");
            c.values[name] = value;
        } else {
            throw usage_error("unknown option " + name);
        }
    }
    return c;
}

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): single-threaded here
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

// "500ms", "5s", "2m" or a number of seconds.
std::chrono::milliseconds parse_duration(const std::string& option, const std::string& text) {
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    std::string_view unit(end, text.data() + text.size() - end);
    long long ms = 0;
    if (ec == std::errc() && end != text.data() && n > 0 && n <= 86400) {
        if (unit.empty() || unit == "s")
            ms = n * 1000;
        else if (unit == "ms")
            ms = n;
        else if (unit == "m")
            ms = n * 60000;
    }
    if (ms <= 0) throw usage_error(option + " '" + text + "' is not a duration such as 500ms, 5s or 1m");
    return std::chrono::milliseconds(ms);
}

// localhost, 127.0.0.0/8, ::1 (and 127.0.0.0/8 mapped into IPv6): what
// never leaves the machine. Any other name may resolve anywhere.
bool is_loopback_host(const std::string& host) {
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lower == "localhost" || lower == "localhost.") return true;
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) return false;
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
    return address.is_loopback();
}

bool is_session_id(std::string_view id) {
    return id.size() == 24 && std::all_of(id.begin(), id.end(), [](char ch) {
               return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                      ch == '_';
           });
}

std::string encode(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// A path segment: encode(), and "." or ".." (which '.' being unreserved
// leaves as they are, and which a client, a proxy or a server may resolve
// as the current or the parent path) as %2E and %2E%2E, which none does.
std::string encode_segment(std::string_view s) {
    if (s == ".") return "%2E";
    if (s == "..") return "%2E%2E";
    return encode(s);
}

// What the server or the store sent, made safe for a terminal: control
// characters (C0, DEL, C1 as UTF-8), the line and paragraph separators and
// the bidirectional controls become a visible escape ("\u009b").
std::string printable(std::string_view s) {
    return visible_text(s);
}

// At most `max` bytes, cut on a UTF-8 character boundary, "..." when cut.
std::string shorten(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t at = max - 3;
    while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xc0) == 0x80)
        --at;
    s.resize(at);
    return s + "...";
}

// Display width of UTF-8 text: one column per character (close enough for
// aligning a table of ids, times and metadata).
std::size_t columns(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

void say(const std::string& message) {
    std::fprintf(stderr, "sessiond admin: %s\n", message.c_str());
}

// An API failure: the server answered, but not with what was asked for.
struct refused_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return {};
    return std::string(v->as_string());
}

// "<status> <title> (<code>): <detail> [request id <id>]" from problem+json,
// or the status and the start of whatever else came.
[[noreturn]] void refuse(const api_response& r) {
    std::string message = "the server answered " + std::to_string(r.status);
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("code")) {
        const auto& o = v.as_object();
        auto title = field(o, "title"), code = field(o, "code"), detail = field(o, "detail"),
             request_id = field(o, "request_id");
        if (!title.empty()) message += " " + title;
        if (!code.empty()) message += " (" + code + ")";
        if (!detail.empty()) message += ": " + detail;
        if (!request_id.empty()) message += " [request id " + request_id + "]";
    } else if (!r.body.empty()) {
        message += ", not an API reply: " + shorten(std::string(trim(r.body)), 200);
    }
    if (r.status == 401)
        message += "; check the API key";
    else if (r.status == 403)
        message += "; the API key needs the scope sessions:admin";
    throw refused_error(printable(message));
}

json::object expect_object(const api_response& r) {
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object())
        throw refused_error("the server answered " + std::to_string(r.status) + " with a body that is not JSON");
    return std::move(v.as_object());
}

class admin_session {
public:
    explicit admin_session(client_settings s) : settings_(std::move(s)) {}
    api_response call(std::string_view method, const std::string& target, std::string_view json_body = {}) const {
        return call_api(settings_, method, target, json_body);
    }

private:
    client_settings settings_;
};

client_settings connection(const command_line& c) {
    client_settings s;
    auto url = c.value("--url");
    if (!url) url = env("SESSIOND_ADMIN_URL");
    s.endpoint = parse_endpoint(url.value_or("http://127.0.0.1:8080"));
    // The key goes in a header: over plain HTTP, anyone on the path reads
    // it. Refused before anything is read or sent, unless the operator says
    // the path is trusted (a private network, a tunnel).
    if (!s.endpoint.tls && !is_loopback_host(s.endpoint.host) && !c.flag("--allow-insecure-http"))
        throw usage_error("http:// to " + printable(s.endpoint.host) +
                          " would send the API key in clear over the network; use https://, or give "
                          "--allow-insecure-http if the path to it is trusted (loopback needs neither)");

    if (auto h = c.value("--api-key-header").value_or(env("SESSIOND_ADMIN_API_KEY_HEADER").value_or("X-API-Key"));
        !h.empty()) {
        bool token = std::all_of(h.begin(), h.end(), [](char ch) {
            return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                   ch == '_';
        });
        if (!token) throw usage_error("--api-key-header '" + printable(h) + "' is not a header name");
        s.api_key_header = h;
    }
    s.ca_file = c.value("--ca-file").value_or(env("SESSIOND_ADMIN_CA_FILE").value_or(""));
    if (!s.ca_file.empty() && !s.endpoint.tls) throw usage_error("--ca-file is for an https:// URL");
    if (auto t = c.value("--timeout")) s.timeout = parse_duration("--timeout", *t);
    if (auto t = c.value("--connect-timeout")) s.connect_timeout = parse_duration("--connect-timeout", *t);

    // The key: a file named by flag, else by the environment, else the
    // environment's value itself.
    std::optional<std::string> key_file = c.value("--api-key-file");
    if (!key_file) {
        key_file = env("SESSIOND_ADMIN_API_KEY_FILE");
        if (key_file && env("SESSIOND_ADMIN_API_KEY"))
            throw usage_error("both SESSIOND_ADMIN_API_KEY and SESSIOND_ADMIN_API_KEY_FILE are set; unset one");
    }
    std::string key;
    if (key_file) {
        auto read = read_secret_file(*key_file);
        if (!read) throw usage_error("cannot read the API key file " + *key_file + ": " + read.error().message());
        key = std::move(*read);
        if (readable_by_others(*key_file))
            say("warning: the API key file " + *key_file + " is readable by other users (chmod 600 it)");
    } else if (auto k = env("SESSIOND_ADMIN_API_KEY")) {
        key = std::move(*k);
    } else {
        throw usage_error(
            "no API key: give --api-key-file FILE, or set SESSIOND_ADMIN_API_KEY_FILE or SESSIOND_ADMIN_API_KEY");
    }
    std::string_view trimmed = trim(key);
    bool sendable = !trimmed.empty() && std::all_of(trimmed.begin(), trimmed.end(), [](char ch) {
        auto u = static_cast<unsigned char>(ch);
        return u > 0x20 && u < 0x7f;
    });
    if (!sendable) {
        secure_wipe(key);
        throw usage_error("the API key is empty or holds characters a header cannot carry");
    }
    s.api_key = secret_string(trimmed);
    secure_wipe(key);
    return s;
}

// Times without their milliseconds: a table is for reading.
std::string when(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return "-";
    if (!v->is_string()) return "?";
    std::string t(v->as_string());
    if (auto dot = t.find('.'); dot != std::string::npos && t.back() == 'Z') t = t.substr(0, dot) + "Z";
    return printable(t);
}

std::string metadata_summary(const json::object& session, std::size_t max) {
    const auto* m = session.if_contains("metadata");
    if (m == nullptr || (m->is_object() && m->as_object().empty())) return "-";
    return shorten(printable(json::serialize(*m)), max);
}

// A member of the session's device context made printable, or "-".
std::string device_field(const json::object& session, std::string_view key) {
    const auto* d = session.if_contains("device");
    if (d == nullptr || !d->is_object()) return "-";
    auto value = field(d->as_object(), key);
    return value.empty() ? "-" : printable(value);
}

// A short name for the device in a table: the label the login service
// gave, else its user agent, cut to `max` columns.
std::string device_summary(const json::object& session, std::size_t max) {
    auto name = device_field(session, "label");
    if (name == "-") name = device_field(session, "user_agent");
    return shorten(std::move(name), max);
}

// "2", or "-" when the sign-in's level was not stated.
std::string assurance_level(const json::object& session) {
    const auto* v = session.if_contains("aal");
    if (v == nullptr || v->is_null()) return "-";
    return v->is_int64() ? std::to_string(v->as_int64()) : "?";
}

// "pwd, otp", or "-".
std::string methods(const json::object& session) {
    const auto* v = session.if_contains("amr");
    if (v == nullptr || !v->is_array() || v->as_array().empty()) return "-";
    std::string out;
    for (const auto& m : v->as_array()) {
        if (!out.empty()) out += ", ";
        out += m.is_string() ? printable(m.as_string()) : "?";
    }
    return out;
}

// "corp (sid 4f1c...)": the identity provider's session it was opened
// under, or "-". The sid names that session; it lets no one in.
std::string provider_summary(const json::object& session) {
    const auto* v = session.if_contains("provider");
    if (v == nullptr || !v->is_object()) return "-";
    const auto name = field(v->as_object(), "name"), sid = field(v->as_object(), "sid");
    return printable(name) + (sid.empty() ? "" : " (sid " + printable(sid) + ")");
}

void print_table(const std::vector<json::object>& sessions) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ID", "CREATED", "LAST SEEN", "IDLE EXPIRES", "EXPIRES", "DEVICE", "LAST ADDRESS", "METADATA"});
    for (const auto& s : sessions)
        rows.push_back({printable(field(s, "id")), when(s, "created_at"), when(s, "last_seen_at"),
                        when(s, "idle_expires_at"), when(s, "expires_at"), device_summary(s, 32),
                        shorten(device_field(s, "last_address"), 45), metadata_summary(s, 60)});
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], columns(row[i]));
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - columns(row[i]) + 2, ' ');
        }
        std::printf("%s\n", line.c_str());
    }
}

// JSON for a terminal or a pipe: as serialize() writes it, with the C1
// controls, U+2028, U+2029, the bidirectional controls and DEL escaped as
// \uXXXX too (serialize() escapes C0 only). Outside strings serialize()
// writes ASCII alone, so every such sequence is inside a string, where the
// escape means the same character.
std::string terminal_safe_json(const json::value& v) {
    const std::string text = json::serialize(v);
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        char32_t cp = 0;
        if (u == 0x7f) {
            append_u_escape(out, u);
        } else if (const std::size_t n = u >= 0xc2 ? terminal_control_at(text, i, cp) : 0; n != 0) {
            append_u_escape(out, cp);
            i += n - 1;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

void print_json(const json::value& v) {
    const std::string text = terminal_safe_json(v);
    std::fputs(text.c_str(), stdout);
    std::fputc('\n', stdout);
}

// A session object as sessiond sends it: an id and its times. Anything else
// is a reply from something that is not sessiond (or a broken one), which
// must not pass for a listing of nothing.
const json::object& checked_session(const json::value& v) {
    if (!v.is_object()) throw refused_error("the server's reply holds a session that is not an object");
    const auto& o = v.as_object();
    if (!is_session_id(field(o, "id")))
        throw refused_error("the server's reply holds a session without a valid id: not a sessiond reply");
    for (const char* time : {"created_at", "expires_at"})
        if (field(o, time).empty())
            throw refused_error(std::string("the server's reply holds a session without ") + time +
                                ": not a sessiond reply");
    return o;
}

std::vector<json::object> sessions_of(const json::object& page) {
    std::vector<json::object> out;
    const auto* list = page.if_contains("sessions");
    if (list == nullptr || !list->is_array()) throw refused_error("the server's reply has no session list");
    for (const auto& s : list->as_array())
        out.push_back(checked_session(s));
    return out;
}

// What `sessions list` asks for: the page size, where to start, every page
// or one, JSON or a table.
struct list_request {
    std::string query;  // "limit=N" or empty
    std::optional<std::string> cursor;
    bool all = false;
    bool json = false;
};

list_request list_request_of(const command_line& c) {
    list_request req;
    if (auto limit = c.value("--limit")) {
        int n = 0;
        auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
        if (ec != std::errc() || end != limit->data() + limit->size() || n < 1 || n > 1000)
            throw usage_error("--limit must be a number from 1 to 1000");
        req.query = "limit=" + std::to_string(n);
    }
    req.cursor = c.value("--cursor");
    req.all = c.flag("--all");
    req.json = c.flag("--json");
    if (req.cursor && req.all) throw usage_error("--cursor and --all exclude each other");
    return req;
}

std::string page_target(const std::string& user, const list_request& req, const std::optional<std::string>& at) {
    std::string q = req.query;
    if (at) q += (q.empty() ? "" : "&") + std::string("cursor=") + encode(*at);
    return "/v1/users/" + encode_segment(user) + "/sessions" + (q.empty() ? "" : "?" + q);
}

json::object fetch_page(const admin_session& api, const std::string& target) {
    auto r = api.call("GET", target);
    if (r.status != 200) refuse(r);
    return expect_object(r);
}

// The sessions of the pages read, what they could not show, and the cursor
// of the page after the last one read (none: that was the last).
struct listing {
    std::vector<json::object> sessions;
    std::int64_t unreadable = 0;
    std::optional<std::string> next;
};

// One page, or with --all every page to the last.
listing collect_pages(const admin_session& api, const std::string& user, const list_request& req) {
    listing out;
    auto cursor = req.cursor;
    std::set<std::string> cursors_seen;
    for (;;) {
        auto page = fetch_page(api, page_target(user, req, cursor));
        auto more = sessions_of(page);
        out.sessions.insert(out.sessions.end(), more.begin(), more.end());
        if (const auto* u = page.if_contains("unreadable"); u != nullptr && u->is_int64())
            out.unreadable += u->as_int64();
        out.next.reset();
        if (auto n = field(page, "next_cursor"); !n.empty()) out.next = n;
        if (!req.all || !out.next) return out;
        // A server that hands back a cursor twice would keep us here forever.
        if (!cursors_seen.insert(*out.next).second) throw refused_error("the server repeated a page cursor");
        cursor = out.next;
    }
}

// A session used during a walk over every page may come twice: its later
// copy is kept. Pages are newest first each; the whole list is made so too
// (the times are fixed-width RFC 3339, so text order is time order).
std::vector<json::object> newest_first_unique(std::vector<json::object> sessions) {
    std::map<std::string, std::size_t> at;
    std::vector<json::object> unique;
    for (auto& s : sessions) {
        auto id = field(s, "id");
        if (auto it = at.find(id); it != at.end()) {
            unique[it->second] = std::move(s);
        } else {
            at.emplace(id, unique.size());
            unique.push_back(std::move(s));
        }
    }
    std::stable_sort(unique.begin(), unique.end(), [](const json::object& a, const json::object& b) {
        return field(a, "created_at") > field(b, "created_at");
    });
    return unique;
}

void print_listing_json(listing& found) {
    json::object out;
    json::array list;
    for (auto& s : found.sessions)
        list.emplace_back(std::move(s));
    out["sessions"] = std::move(list);
    if (found.unreadable > 0) out["unreadable"] = found.unreadable;
    print_json(out);
}

void print_listing(const std::string& user, const listing& found) {
    if (found.sessions.empty())
        say("user '" + printable(user) + "' has no live sessions");
    else
        print_table(found.sessions);
    if (found.unreadable > 0)
        say(std::to_string(found.unreadable) +
            " more session(s) were stored by a newer sessiond and are not shown; list them through an upgraded "
            "instance");
    if (found.next) say("more sessions follow: add --cursor " + printable(*found.next) + ", or --all for every page");
}

int list_sessions(const admin_session& api, const command_line& c, const std::string& user) {
    const list_request req = list_request_of(c);
    if (req.json && !req.all) {
        // One page, as the server sent it, once it is known to be a listing.
        auto page = fetch_page(api, page_target(user, req, req.cursor));
        sessions_of(page);
        print_json(page);
        return exit_ok;
    }
    listing found = collect_pages(api, user, req);
    if (req.all) found.sessions = newest_first_unique(std::move(found.sessions));
    if (req.json)
        print_listing_json(found);
    else
        print_listing(user, found);
    return exit_ok;
}

int show_session(const admin_session& api, const command_line& c, const std::string& id) {
    auto r = api.call("GET", "/v1/sessions/" + encode(id));
    if (r.status != 200) refuse(r);
    auto reply = expect_object(r);
    const auto* s = reply.if_contains("session");
    if (s == nullptr) throw refused_error("the server's reply has no session");
    const auto& o = checked_session(*s);
    if (c.flag("--json")) {
        print_json(reply);
        return exit_ok;
    }
    const std::pair<const char*, std::string> lines[] = {
        {"id", printable(field(o, "id"))},
        {"user", printable(field(o, "user_id"))},
        {"created", when(o, "created_at")},
        {"last seen", when(o, "last_seen_at")},
        {"idle expires", when(o, "idle_expires_at")},
        {"expires", when(o, "expires_at")},
        {"rotated", o.contains("rotated_at") && o.at("rotated_at").is_null() ? "never" : when(o, "rotated_at")},
        {"authenticated", when(o, "authenticated_at")},
        {"user agent", device_field(o, "user_agent")},
        {"label", device_field(o, "label")},
        {"created from", device_field(o, "created_address")},
        {"last seen from", device_field(o, "last_address")},
        {"tenant", field(o, "tenant").empty() ? "-" : printable(field(o, "tenant"))},
        {"aal", assurance_level(o)},
        {"amr", methods(o)},
        {"provider", provider_summary(o)},
        {"metadata", metadata_summary(o, 4096)},
    };
    for (const auto& [name, value] : lines)
        std::printf("%-14s %s\n", name, value.c_str());
    return exit_ok;
}

int revoke_session(const admin_session& api, const std::string& id) {
    auto r = api.call("DELETE", "/v1/sessions/" + encode(id));
    if (r.status != 204 && r.status != 200) refuse(r);
    std::printf("revoked session %s\n", id.c_str());
    return exit_ok;
}

int revoke_user(const admin_session& api, const command_line& c, const std::string& user) {
    std::string target = "/v1/users/" + encode_segment(user) + "/sessions";
    auto except = c.value("--except");
    if (except) {
        if (!is_session_id(*except)) throw usage_error("--except '" + printable(*except) + "' is not a session id");
        target += "?except=" + encode(*except);
    }
    auto r = api.call("DELETE", target);
    if (r.status != 200) refuse(r);
    auto reply = expect_object(r);
    const auto* n = reply.if_contains("revoked");
    if (n == nullptr || !n->is_int64()) throw refused_error("the server's reply has no count");
    if (c.flag("--json")) {
        print_json(reply);
        return exit_ok;
    }
    std::printf("revoked %lld session(s) of user '%s'%s\n", static_cast<long long>(n->as_int64()),
                printable(user).c_str(), except ? (", except " + *except).c_str() : "");
    return exit_ok;
}

// The users' sessions, a request of at most 100 users at a time; each
// user's outcome is printed (or, with --json, all of them as one
// {"results": [...]}). Exit status 1 when the store failed for any user.
int revoke_many(const admin_session& api, const command_line& c, std::span<const std::string> given) {
    constexpr std::size_t batch = 100;  // the server's bound
    // Each user once (the server refuses a repeated id), in the order given.
    std::vector<std::string> users;
    std::set<std::string_view> seen;
    for (const auto& u : given)
        if (seen.insert(u).second) users.push_back(u);
    json::array results;
    for (std::size_t at = 0; at < users.size(); at += batch) {
        json::array ids;
        for (std::size_t i = at; i < std::min(users.size(), at + batch); ++i)
            ids.emplace_back(users[i]);
        auto r = api.call("POST", "/v1/users/revoke", json::serialize(json::object{{"user_ids", std::move(ids)}}));
        if (r.status != 200) refuse(r);
        auto reply = expect_object(r);
        const auto* list = reply.if_contains("results");
        if (list == nullptr || !list->is_array() || list->as_array().size() != std::min(batch, users.size() - at))
            throw refused_error("the server's reply does not hold one result per user");
        for (const auto& v : list->as_array()) {
            if (!v.is_object() || !v.as_object().contains("revoked") || !v.as_object().at("revoked").is_int64())
                throw refused_error("the server's reply holds a result without a count");
            results.push_back(v);
        }
    }
    bool failed = false;
    for (const auto& v : results)
        failed = failed || v.as_object().contains("error");
    if (c.flag("--json")) {
        print_json(json::object{{"results", results}});
        return failed ? exit_refused : exit_ok;
    }
    for (const auto& v : results) {
        const auto& o = v.as_object();
        const auto error = field(o, "error");
        std::printf("revoked %lld session(s) of user '%s'%s\n", static_cast<long long>(o.at("revoked").as_int64()),
                    printable(field(o, "user_id")).c_str(),
                    error.empty() ? "" : ("; the store failed (" + printable(error) + "): others may remain").c_str());
    }
    if (failed) say("the store failed for some users: repeat the command for them");
    return failed ? exit_refused : exit_ok;
}

// An instant of /v1/not-before as text: its RFC 3339 time, milliseconds
// kept (a session opened in that millisecond is ended too), or "never".
std::string instant(const json::value* v) {
    if (v == nullptr || v->is_null()) return "never";
    if (!v->is_string() || v->as_string().empty())
        throw refused_error("the server's reply holds an instant that is not a time");
    return printable(v->as_string());
}

// The not-before options, checked before the key is read or anything is
// sent. An empty --tenant or --user is refused: the API takes an empty
// tenant as none, and `set` would then sign everyone out.
void check_not_before(const std::string& command, const command_line& c) {
    for (const char* option : {"--tenant", "--user"})
        if (auto v = c.value(option); v && v->empty()) throw usage_error(std::string(option) + " is empty");
    if (command != "not-before set") return;
    const bool tenant = c.value("--tenant").has_value(), user = c.value("--user").has_value();
    if (tenant && user) throw usage_error("--tenant and --user exclude each other");
    if (!tenant && !user && !c.flag("--yes"))
        throw usage_error(
            "'not-before set' without --tenant or --user signs everyone out: every session created before now "
            "is ended, for every user; give --yes to do so");
}

int show_not_before(const admin_session& api, const command_line& c) {
    const auto tenant = c.value("--tenant");
    const auto user = c.value("--user");
    auto r = api.call("GET", "/v1/not-before" + (user ? "?user=" + encode(*user) : std::string()));
    if (r.status != 200) refuse(r);
    auto reply = expect_object(r);
    const auto* tenants = reply.if_contains("tenants");
    if (!reply.contains("all") || tenants == nullptr || !tenants->is_object())
        throw refused_error("the server's reply has no instants: not a sessiond reply");
    std::vector<std::pair<std::string, std::string>> rows = {{"everyone", instant(reply.if_contains("all"))}};
    if (tenant) {
        // Only T's instant, in the JSON too.
        const auto* at = tenants->as_object().if_contains(*tenant);
        rows.emplace_back("tenant " + printable(*tenant), instant(at));
        json::object only;
        if (at != nullptr) only[*tenant] = *at;
        reply["tenants"] = std::move(only);
    } else {
        for (const auto& [name, at] : tenants->as_object())
            rows.emplace_back("tenant " + printable(name), instant(&at));
    }
    if (user) {
        const auto* u = reply.if_contains("user");
        if (u == nullptr || !u->is_object() || field(u->as_object(), "id") != *user ||
            !u->as_object().contains("not_before"))
            throw refused_error("the server's reply has no instant for user '" + printable(*user) +
                                "': is it older than --user?");
        rows.emplace_back("user " + printable(*user), instant(u->as_object().if_contains("not_before")));
    }
    if (c.flag("--json")) {
        print_json(reply);
        return exit_ok;
    }
    std::size_t width = 0;
    for (const auto& row : rows)
        width = std::max(width, columns(row.first));
    for (const auto& [who, at] : rows)
        std::printf("%s%s%s\n", who.c_str(), std::string(width - columns(who) + 2, ' ').c_str(), at.c_str());
    return exit_ok;
}

// After check_not_before().
int set_not_before(const admin_session& api, const command_line& c) {
    const auto tenant = c.value("--tenant");
    const auto user = c.value("--user");
    json::object body;
    if (tenant) body["tenant"] = *tenant;
    if (user) body["user"] = *user;
    auto r = api.call("POST", "/v1/not-before", json::serialize(body));
    if (r.status != 200) refuse(r);
    auto reply = expect_object(r);
    const auto at = instant(reply.if_contains("not_before"));
    if (at == "never") throw refused_error("the server's reply has no instant");
    // The reply names what was signed out: it must be what was asked.
    std::int64_t revoked = 0;
    if (user) {
        const auto* n = reply.if_contains("revoked");
        if (field(reply, "user") != *user || n == nullptr || !n->is_int64())
            throw refused_error("the server's reply is not for user '" + printable(*user) + "'");
        revoked = n->as_int64();
    } else if (const auto* t = reply.if_contains("tenant");
               t == nullptr || (tenant ? field(reply, "tenant") != *tenant : !t->is_null())) {
        throw refused_error("the server's reply is not for " +
                            (tenant ? "tenant '" + printable(*tenant) + "'" : std::string("everyone")));
    }
    if (c.flag("--json")) {
        print_json(reply);
        return exit_ok;
    }
    if (user)
        std::printf("signed user '%s' out: sessions created before %s are ended (%lld revoked)\n",
                    printable(*user).c_str(), at.c_str(), static_cast<long long>(revoked));
    else if (tenant)
        std::printf("signed tenant '%s' out: its sessions created before %s are ended\n", printable(*tenant).c_str(),
                    at.c_str());
    else
        std::printf("signed everyone out: every session created before %s is ended\n", at.c_str());
    return exit_ok;
}

// What each command takes after its two words, and its options besides
// the connection's.
enum class operand { none, user, users, id };
struct command_spec {
    operand takes = operand::none;
    std::set<std::string_view> options = {};
};
const std::map<std::string, command_spec, std::less<>> commands = {
    {"sessions list", {operand::user, {"--json", "--limit", "--cursor", "--all"}}},
    {"sessions show", {operand::id, {"--json"}}},
    {"sessions revoke", {operand::id, {}}},
    {"users revoke", {operand::user, {"--json", "--except"}}},
    {"users revoke-many", {operand::users, {"--json"}}},
    {"not-before show", {operand::none, {"--json", "--tenant", "--user"}}},
    {"not-before set", {operand::none, {"--json", "--tenant", "--user", "--yes"}}},
};

// The operands of `command` as its spec says, or a usage error.
void check_operands(const std::string& command, operand takes, const command_line& c) {
    const auto given = c.words.size() - 2;
    switch (takes) {
        case operand::none:
            if (given != 0)
                throw usage_error("'" + command +
                                  "' takes no argument (a tenant is given with --tenant, a user with --user)");
            return;
        case operand::users:
            if (given == 0) throw usage_error("'" + command + "' takes one USER or more");
            break;
        case operand::user:
        case operand::id:
            if (given != 1)
                throw usage_error("'" + command + "' takes one " + (takes == operand::user ? "USER" : "ID") +
                                  (given == 0 ? "" : ", not more"));
            break;
    }
    if (takes == operand::id) {
        if (!is_session_id(c.words[2]))
            throw usage_error("'" + printable(c.words[2]) + "' is not a session id (24 characters of A-Z a-z 0-9 - _)");
        return;
    }
    for (std::size_t i = 2; i < c.words.size(); ++i)
        if (c.words[i].empty()) throw usage_error("the user id is empty");
}

[[noreturn]] void not_taken(const std::string& command, std::string_view option) {
    std::string message = "'" + command + "' does not take ";
    message += option;
    throw usage_error(message);
}

int run(std::span<char* const> args) {
    auto c = parse(args);
    if (c.flag("--help") || c.flag("-h") || (c.words.size() == 1 && c.words[0] == "help")) {
        std::fputs(usage_text, stdout);
        return exit_ok;
    }
    if (c.words.size() < 2) throw usage_error(c.words.empty() ? "no command given" : "incomplete command");
    std::string command = c.words[0] + " " + c.words[1];
    auto spec = commands.find(command);
    if (spec == commands.end()) throw usage_error("unknown command '" + printable(command) + "'");
    const auto& allowed = spec->second.options;
    check_operands(command, spec->second.takes, c);
    for (const auto& [name, value] : c.values)
        if (connection_options.count(name) == 0 && allowed.count(name) == 0) not_taken(command, name);
    for (const auto& name : c.set_flags)
        if (connection_flags.count(name) == 0 && allowed.count(name) == 0) not_taken(command, name);

    if (c.words[0] == "not-before") check_not_before(command, c);
    admin_session api(connection(c));
    if (command == "not-before show") return show_not_before(api, c);
    if (command == "not-before set") return set_not_before(api, c);
    const std::string& arg = c.words[2];
    if (command == "sessions list") return list_sessions(api, c, arg);
    if (command == "sessions show") return show_session(api, c, arg);
    if (command == "sessions revoke") return revoke_session(api, arg);
    if (command == "users revoke-many") return revoke_many(api, c, std::span<const std::string>(c.words).subspan(2));
    return revoke_user(api, c, arg);
}

}  // namespace

int run_admin(std::span<char* const> args) {
    try {
        int status = run(args);
        // A full disk or a closed pipe must not pass for a listing.
        if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
            say("cannot write the output");
            return exit_refused;
        }
        return status;
    } catch (const usage_error& e) {
        say(e.what());
        std::fputs("run `sessiond admin --help` for the commands and options\n", stderr);
        return exit_usage;
    } catch (const refused_error& e) {
        say(e.what());
        return exit_refused;
    } catch (const unreachable_error& e) {
        say(e.what());
        return exit_unreachable;
    } catch (const std::exception& e) {
        say(std::string("failed: ") + e.what());
        return exit_refused;
    }
}

}  // namespace sessiond::cli
