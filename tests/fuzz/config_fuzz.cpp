// Config files: parse_config_text (what --config reads) either refuses the
// text with config_error or gives option values, which then go through the
// same value parsing and validation as every source (load_config, given as
// the environment so that no file is read).

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

using namespace sessiond;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::map<std::string, std::string> options;
    try {
        options = parse_config_text(text);
    } catch (const config_error&) {
        return 0;
    }
    std::vector<std::string> env;
    for (const auto& [name, value] : options) {
        if (name == "config") continue;  // would name a file to read
        std::string var = "SESSIOND_";
        for (char c : name)
            var += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        env.push_back(var + "=" + value);
    }
    const char* argv[] = {"sessiond"};
    try {
        auto loaded = load_config(1, argv, env);
        (void)describe(loaded.cfg);
    } catch (const config_error&) {
    }
    return 0;
}
