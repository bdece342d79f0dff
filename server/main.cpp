// sessiond: reads its configuration and hands over to the composition root.

#include <cstdio>
#include <string>
#include <vector>

#include "app/application.hpp"
#include "config/config.hpp"

extern char** environ;

int main(int argc, char** argv) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        env.emplace_back(*e);

    sessiond::load_result loaded;
    try {
        loaded = sessiond::load_config(argc, argv, env);
    } catch (const sessiond::config_error& e) {
        std::fprintf(stderr, "sessiond: %s\n", e.what());
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
            std::fputs("configuration is valid\n", stdout);
            return 0;
        case sessiond::run_mode::serve:
            break;
    }
    return sessiond::run(loaded.cfg);
}
