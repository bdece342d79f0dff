// sessiond: reads its configuration and hands over to the composition root.

#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "api/callers.hpp"
#include "app/application.hpp"
#include "cli/admin.hpp"
#include "common/secure_memory.hpp"
#include "config/config.hpp"

extern char** environ;

namespace {

// `sessiond keygen --scopes a,b [--name NAME]` (also `sessiond admin keygen`,
// its options from argv[first]): a new API key and the config entry holding
// its hash (the key itself is shown once, here).
int keygen(int argc, char** argv, int first) {
    std::string scopes, name = "caller";
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--scopes" && i + 1 < argc)
            scopes = argv[++i];
        else if (a.rfind("--scopes=", 0) == 0)
            scopes = a.substr(9);
        else if (a == "--name" && i + 1 < argc)
            name = argv[++i];
        else if (a.rfind("--name=", 0) == 0)
            name = a.substr(7);
        else {
            std::fprintf(
                stderr,
                "usage: sessiond keygen --scopes "
                "sessions:read,sessions:write,sessions:admin,auth,assertions:mint,assertions:redeem,sessions:self,"
                "events:read "
                "[--name NAME]\n");
            return 2;
        }
    }
    if (scopes.empty() || name.empty() || name.find_first_of("=;: \n") != std::string::npos) {
        std::fprintf(stderr,
                     "sessiond keygen: --scopes is required and --name must not hold '=', ';', ':' or spaces\n");
        return 2;
    }
    try {
        auto k = sessiond::api::generate_key(name, scopes);
        std::printf("API key (give it to the caller; it is not stored anywhere):\n  %s\n\n", k.key.c_str());
        std::printf("Config entry (add to api-keys, ';'-separated, or one per line in api-keys-file):\n  %s\n",
                    k.entry.c_str());
        sessiond::secure_wipe(k.key);
        return 0;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "sessiond keygen: %s\n", e.what());
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Before any secret is read: no core dump, no ptrace or /proc/<pid>/mem
    // by other processes of the same user. Checked (and warned about) at start.
    sessiond::make_undumpable();
    if (argc >= 2 && std::string(argv[1]) == "keygen") return keygen(argc, argv, 2);
    if (argc >= 2 && std::string(argv[1]) == "admin") {
        if (argc >= 3 && std::string(argv[2]) == "keygen") return keygen(argc, argv, 3);
        return sessiond::cli::run_admin(std::span<char* const>(argv + 2, static_cast<std::size_t>(argc - 2)));
    }
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        env.emplace_back(*e);
    // What a reload (SIGHUP) parses again: the same arguments and SESSIOND_*
    // environment, kept on key-material pages (they may hold secrets, as
    // the keys parsed from them do), read with the files' new content.
    std::vector<sessiond::secret_string> kept_args(argv, argv + argc), kept_env;
    for (const auto& kv : env)
        if (kv.starts_with("SESSIOND_")) kept_env.emplace_back(kv);
    const sessiond::config_source reread = [&kept_args, &kept_env] {
        // Reserved: a reallocation would leave copies behind unwiped.
        std::vector<std::string> args, vars;
        args.reserve(kept_args.size());
        vars.reserve(kept_env.size());
        for (const auto& a : kept_args)
            args.emplace_back(a.view());
        for (const auto& v : kept_env)
            vars.emplace_back(v.view());
        std::vector<const char*> argv_again;
        argv_again.reserve(args.size() + 1);
        for (const auto& a : args)
            argv_again.push_back(a.c_str());
        argv_again.push_back(nullptr);
        struct wipe_all {
            std::vector<std::string>& a;
            std::vector<std::string>& b;
            ~wipe_all() {
                for (auto* list : {&a, &b})
                    for (auto& s : *list)
                        sessiond::secure_wipe(s);
            }
        } wipe{args, vars};
        return sessiond::load_config(static_cast<int>(args.size()), argv_again.data(), vars).cfg;
    };

    sessiond::load_result loaded;
    std::optional<std::string> failure;
    try {
        loaded = sessiond::load_config(argc, argv, env);
    } catch (const sessiond::config_error& e) {
        failure = e.what();
    }
    // The copies of the environment may hold secrets (SESSIOND_TOKEN_KEYS...),
    // and so may the arguments and environment /proc shows.
    for (auto& kv : env)
        sessiond::secure_wipe(kv);
    sessiond::wipe_secret_arguments(argc, argv, environ);
    if (failure) {
        std::fprintf(stderr, "sessiond: %s\n", failure->c_str());
        return 2;
    }
    switch (loaded.mode) {
        case sessiond::run_mode::help:
            std::fputs(loaded.help_text.c_str(), stdout);
            return 0;
        case sessiond::run_mode::version:
            std::printf("sessiond %s\n", SESSIOND_VERSION);
            return 0;
        case sessiond::run_mode::check_config:
            std::fputs(sessiond::describe(loaded.cfg).c_str(), stdout);
            if (int status = sessiond::check_startup(loaded.cfg); status != 0) return status;
            std::fputs("configuration is valid\n", stdout);
            return 0;
        case sessiond::run_mode::serve:
            break;
    }
    return sessiond::run(loaded.cfg, reread);
}
