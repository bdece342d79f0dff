// Loading the configuration: the command line, the environment and the
// config file read through program_options, each value set through its row
// in the options table (options.cpp), then checked (validate.cpp). Also
// --help, describe and the wiping of secrets from the arguments.
#include "config/config.hpp"

#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"
#include "config/options.hpp"
#include "config/validate.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <sstream>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace sessiond {

namespace {

// Keeps what an operator needs to read (a URL's scheme and host) and hides
// the secret part: a URL's whole userinfo (a lone userinfo is a password in
// the Redis URI convention, and a user name says which credentials to try),
// or the whole value.
std::string redact(const std::string& value) {
    auto scheme = value.find("://");
    if (scheme == std::string::npos) return "<redacted>";
    auto at = value.rfind('@');
    if (at == std::string::npos || at < scheme) return value;
    return value.substr(0, scheme + 3) + "<redacted>" + value.substr(at);
}

std::string help_text() {
    std::ostringstream out;
    out << "usage: sessiond [options]\n"
           "\n"
           "Session-service daemon: issues, validates, rotates and revokes opaque session tokens.\n"
           "Each option may also come from the environment (SESSIOND_<NAME>, '-' as '_') or from\n"
           "the config file (name = value); a flag wins over the environment, which wins over the file.\n"
           "\n"
           "  --config FILE        config file (also SESSIOND_CONFIG)\n"
           "  --check-config       validate, print the effective configuration (secrets redacted), exit\n"
           "  --help               this text\n"
           "  --version            print the version\n"
           "\n";
    config defaults;
    for (const auto& o : options()) {
        std::string lhs = "  --" + o.name + (o.flag ? "[=BOOL]" : " VALUE");
        out << lhs;
        for (std::size_t i = lhs.size(); i < 34; ++i)
            out << ' ';
        out << ' ' << o.help;
        std::string def = o.secret ? "" : o.get(defaults);
        out << " [default: " << (def.empty() ? "\"\"" : def) << "]\n";
    }
    return out.str();
}

// How far apart two names are (Levenshtein distance), for suggestions.
// `b` is a known option's name: short, so the row lives on the stack.
std::size_t distance(std::string_view a, std::string_view b) {
    std::array<std::size_t, 64> row{};
    if (b.size() >= row.size()) return std::max(a.size(), b.size());
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

bool known_option(std::string_view name) {
    if (name == "config") return true;
    for (const auto& o : options())
        if (o.name == name) return true;
    return false;
}

// " (did you mean 'X'?)" for the known option closest to `name`, if one is
// close. Only a known name is shown, never what was written.
std::string suggestion(std::string_view name, std::string_view dashes) {
    const option_def* best = nullptr;
    std::size_t best_distance = 3;  // at most two edits
    for (const auto& o : options()) {
        // The lengths' difference is a lower bound of the distance: a long
        // name costs no comparison.
        auto longer = std::max(name.size(), o.name.size()), shorter = std::min(name.size(), o.name.size());
        if (longer - shorter >= best_distance) continue;
        if (auto d = distance(name, o.name); d < best_distance) {
            best_distance = d;
            best = &o;
        }
    }
    if (!best) return {};
    return " (did you mean '" + std::string(dashes) + best->name + "'?)";
}

// An option name as written on the command line, when it may be shown: the
// part before any '=' (the value may be a secret: --token-key=1:<key>), and
// only if it looks like an option name (a key or password pasted in its
// place is not echoed). Empty when it must not be shown.
std::string shown_name(std::string text) {
    if (auto eq = text.find('='); eq != std::string::npos) text.resize(eq);
    auto bare = std::string_view(text);
    while (bare.starts_with('-'))
        bare.remove_prefix(1);
    if (bare.empty() || bare.size() > 48 ||
        bare.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
        return {};
    return text;
}

// program_options' message for `e`, rewritten so that nothing the user wrote
// is echoed but a plausible option name: its own messages quote the whole
// token ("option '--token-key=1:<key>' is ambiguous") or a config line (a
// bare key pasted on a line of its own), and a typo must not print a secret
// to a terminal, a CI log or a journal.
//
// Its what() also fills a template's placeholders (%canonical_option%,
// %invalid_line%, ...) by replacing each until none is left, which never
// ends when the text put in holds a placeholder itself (Boost 1.81): a config
// line or a flag named "%canonical_option%" hung sessiond at start. what() is
// therefore called only on errors that quote nothing.
std::string message_of(const po::error& e) {
    const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
    if (!named) return e.what();
    if (dynamic_cast<const po::invalid_config_file_syntax*>(&e))
        return "invalid line: expected 'name = value' (the line is not shown: it may hold a secret)";
    const std::string raw = named->get_option_name();
    const std::string name = shown_name(raw);
    if (raw.substr(0, raw.find('=')).find('%') != std::string::npos)
        return "unrecognised or misused option (a '%' in an option name)";
    const std::string quoted = name.empty() ? std::string("an option") : "option '" + name + "'";
    if (dynamic_cast<const po::unknown_option*>(&e)) {
        if (name.empty()) return "unrecognised option (not shown: it may hold a secret)";
        auto bare = std::string_view(name);
        while (bare.starts_with('-'))
            bare.remove_prefix(1);
        return "unrecognised " + quoted + suggestion(bare, name.substr(0, name.size() - bare.size()));
    }
    if (const auto* ambiguous = dynamic_cast<const po::ambiguous_option*>(&e)) {
        std::string out = quoted + " is ambiguous: write the whole name of one of";
        for (const auto& alternative : ambiguous->alternatives())
            if (known_option(alternative)) out += " --" + alternative;
        return out;
    }
    if (dynamic_cast<const po::multiple_occurrences*>(&e)) return quoted + " is given more than once";
    if (const auto* syntax = dynamic_cast<const po::invalid_syntax*>(&e)) {
        switch (syntax->kind()) {
            case po::invalid_syntax::missing_parameter:
                return quoted + " needs a value";
            case po::invalid_syntax::extra_parameter:
                return quoted + " takes no value";
            default:
                return quoted + " is not written as --name=value or --name value";
        }
    }
    return "invalid value for " + quoted;
}

// What program_options would refuse in a config file's text, checked first
// so that the message can name the line without quoting it: a line that is
// not "name = value" or names no option is, as often as not, a key or a
// password pasted on a line of its own. Same reading as
// po::parse_config_file: '#' starts a comment, blanks around are trimmed.
void check_config_lines(std::string_view text) {
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        line = line.substr(0, line.find('#'));
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        const std::string where = "line " + std::to_string(number);
        if (line.front() == '[') throw config_error(where + ": sections ([name]) are not supported");
        const auto eq = line.find('=');
        if (eq == std::string_view::npos)
            throw config_error(where + ": expected 'name = value' (the line is not shown: it may hold a secret)");
        auto name = line.substr(0, eq);
        name = name.substr(0, name.find_last_not_of(" \t") + 1);
        if (!known_option(name))
            throw config_error(where + ": unknown option (not shown: it may hold a secret)" + suggestion(name, ""));
    }
}

// Every option as program_options sees it: a string value each ("config"
// too, which a file may name but which has no effect there).
po::options_description option_descriptions() {
    po::options_description desc;
    desc.add_options()("config", po::value<std::string>());
    for (const auto& o : options()) {
        auto* v = po::value<std::string>();
        if (o.flag) v->implicit_value("true");
        desc.add_options()(o.name.c_str(), v);
    }
    return desc;
}

// Wipes, on every way out of load_config, the copies of secret options'
// values (token keys, the user index key, the Redis URL) that parsing left
// in program_options' maps and ours; the config struct keeps the one copy
// the application parses and then wipes.
struct secret_values_wiper {
    std::vector<po::variables_map*> parsed;
    std::vector<std::map<std::string, std::string>*> texts;
    std::vector<std::string*> strings;
    ~secret_values_wiper() {
        for (const auto& o : options()) {
            if (!o.secret) continue;
            for (auto* m : parsed)
                if (auto it = m->find(o.name); it != m->end())
                    if (auto* v = boost::any_cast<std::string>(&it->second.value())) secure_wipe(*v);
            for (auto* m : texts)
                if (auto it = m->find(o.name); it != m->end()) secure_wipe(it->second);
        }
        for (auto* s : strings)
            secure_wipe(*s);
    }
};

}  // namespace

std::map<std::string, std::string> parse_config_text(std::string_view text) {
    static const po::options_description desc = option_descriptions();
    po::variables_map file;
    check_config_lines(text);
    std::istringstream in{std::string(text)};
    std::string stream_copy;
    const secret_values_wiper wipe{{&file}, {}, {&stream_copy}};
    try {
        po::store(po::parse_config_file(in, desc, false), file);
    } catch (const po::error& e) {
        stream_copy = std::move(in).str();  // the stream's copy of the text, for the wiper
        throw config_error(message_of(e));
    }
    stream_copy = std::move(in).str();
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : file)
        out.emplace(name, value.as<std::string>());
    return out;
}

namespace {

// The command line into `cli` (which the caller wipes, also when this
// throws), refusing a word that belongs to no option.
void read_command_line(int argc, const char* const* argv, po::variables_map& cli) {
    static const po::options_description cli_only = [] {
        po::options_description all;
        all.add(option_descriptions());
        all.add_options()("help,h", "")("version", "")("check-config", "");
        return all;
    }();
    try {
        auto parsed = po::command_line_parser(argc, argv).options(cli_only).run();
        // A word that belongs to no option (a value after a flag that takes
        // none, a quote gone wrong) would otherwise be ignored in silence;
        // it is not shown, as it may be a secret.
        for (const auto& o : parsed.options)
            if (o.position_key >= 0 || o.string_key.empty())
                throw config_error(
                    "command line: an argument that is not an option (not shown: it may hold a secret); values go "
                    "after their option, as --name=value or --name value");
        po::store(parsed, cli);
    } catch (const po::error& e) {
        throw config_error("command line: " + message_of(e));
    }
}

run_mode mode_of(const po::variables_map& cli) {
    if (cli.count("help")) return run_mode::help;
    if (cli.count("version")) return run_mode::version;
    if (cli.count("check-config")) return run_mode::check_config;
    return run_mode::serve;
}

// The SESSIOND_ variables, by option name. Only names that belong to an
// option are read; an unknown SESSIOND_ variable is most likely a typo and
// is refused.
void read_environment(const std::vector<std::string>& env, std::map<std::string, std::string>& out) {
    static const std::map<std::string, std::string> env_names = [] {
        std::map<std::string, std::string> names{{env_name("config"), "config"}};
        for (const auto& o : options())
            names[env_name(o.name)] = o.name;
        return names;
    }();
    for (const auto& kv : env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || kv.rfind("SESSIOND_", 0) != 0) continue;
        auto name = kv.substr(0, eq);
        auto it = env_names.find(name);
        if (it == env_names.end()) throw config_error("unknown environment variable " + name);
        out[it->second] = kv.substr(eq + 1);
    }
}

// The config file's options into `out`, its text (for the wiper) into
// `text`. Bounded, and never blocking on a FIFO.
void read_config_file(const std::string& path, std::string& text, std::map<std::string, std::string>& out) {
    auto content = read_secret_file(path, list_file_max_bytes);
    if (!content) {
        std::string why = content.error().message();
        if (content.error() == file_errc::too_large) why += " (4 MiB)";
        throw config_error("cannot read config file '" + path + "': " + why);
    }
    text = std::move(*content);
    try {
        out = parse_config_text(text);
    } catch (const config_error& e) {
        throw config_error("config file '" + path + "': " + e.what());
    }
}

// The values as read from each source, before any is parsed.
struct source_texts {
    po::variables_map cli;
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> file;
};

// Sets each option given by a source into `cfg`, the flag over the
// environment over the file; returns where each came from. `value` holds
// each text while it is parsed (wiped by the caller).
option_sources apply_sources(config& cfg, const source_texts& in, std::string& value) {
    option_sources sources;
    for (const auto& o : options()) {
        std::string source;
        secure_wipe(value);
        if (in.cli.count(o.name)) {
            value = in.cli[o.name].as<std::string>();
            source = "flag --" + o.name;
        } else if (auto e = in.env.find(o.name); e != in.env.end()) {
            value = e->second;
            source = "environment " + env_name(o.name);
        } else if (auto f = in.file.find(o.name); f != in.file.end()) {
            value = f->second;
            source = "config file";
        } else {
            continue;
        }
        try {
            o.set(cfg, value);
        } catch (const std::invalid_argument& e) {
            throw config_error("invalid value for '" + o.name + "' (" + source + "): " + e.what());
        }
        sources[o.name] = source;
    }
    return sources;
}

}  // namespace

load_result load_config(int argc, const char* const* argv, const std::vector<std::string>& env) {
    load_result result;
    source_texts in;
    std::string value, file_text;
    const secret_values_wiper wipe{{&in.cli}, {&in.env, &in.file}, {&value, &file_text}};
    read_command_line(argc, argv, in.cli);
    result.mode = mode_of(in.cli);
    if (result.mode == run_mode::help) result.help_text = help_text();
    if (result.mode == run_mode::help || result.mode == run_mode::version) return result;

    read_environment(env, in.env);
    std::string config_path;
    if (in.cli.count("config"))
        config_path = in.cli["config"].as<std::string>();
    else if (auto it = in.env.find("config"); it != in.env.end())
        config_path = it->second;
    if (!config_path.empty()) {
        read_config_file(config_path, file_text, in.file);
        result.cfg.config_file = config_path;
    }
    validate(result.cfg, apply_sources(result.cfg, in, value));
    return result;
}

void wipe_secret_arguments(int argc, char** argv, char** envp) noexcept {
    auto secret = [](std::string_view name, bool env) {
        for (const auto& o : options())
            if (o.secret && (env ? env_name(o.name) == name : o.name == name)) return true;
        return false;
    };
    auto wipe_after = [](char* s, std::size_t at) { secure_wipe(s + at, std::strlen(s) - at); };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (!arg.starts_with("--")) continue;
        const std::size_t eq = arg.find('=');
        if (eq != std::string_view::npos) {
            if (secret(arg.substr(2, eq - 2), false)) wipe_after(argv[i], eq + 1);
        } else if (secret(arg.substr(2), false) && i + 1 < argc) {
            wipe_after(argv[++i], 0);
        }
    }
    for (char** e = envp; e && *e; ++e) {
        const std::string_view kv(*e);
        const std::size_t eq = kv.find('=');
        if (eq != std::string_view::npos && secret(kv.substr(0, eq), true)) wipe_after(*e, eq + 1);
    }
}

std::string describe(const config& cfg) {
    std::ostringstream out;
    out << "# effective configuration";
    if (!cfg.config_file.empty()) out << " (file: " << cfg.config_file << ")";
    out << "\n";
    for (const auto& o : options()) {
        std::string v = o.get(cfg);
        if (o.secret && !v.empty()) v = redact(v);
        out << o.name << " = " << v << "\n";
    }
    return out.str();
}

}  // namespace sessiond
