#pragma once
// The options table: every fact about an option in its one row. The name
// gives the flag --name, the variable SESSIOND_NAME and the file line
// "name = value"; the row holds the help text, the typed field it fills
// (through the field type's value_codec), the checks of its value alone,
// whether it is a secret, and what a reload (SIGHUP) does with it. --help,
// describe, the secret wiping and the reload's restart warning all read the
// table; cross-option rules are in validate.cpp.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace sessiond {

// What a reload does with an option whose value changed: only a restart
// applies it (the reload names it in a warning), or the reload rebuilds the
// part of the running server the option feeds. app/reload.cpp applies each
// part; a unit test holds the two together.
enum class on_reload : std::uint8_t {
    restart,
    token_keys,  // the keyring (the user index key is only compared: it cannot change)
    callers,     // API keys and certificate callers
    assertions,  // the assertion signer: its keys and its rules
    oidc,        // the OIDC providers of back-channel logout: their JWKS files and rules
    log_level,
};

struct option_def {
    std::string name;
    std::string help;
    // Parses the text into the field; throws std::invalid_argument saying why.
    std::function<void(config&, const std::string&)> set;
    // The field as text, as set would read it.
    std::function<std::string(const config&)> get;
    // The checks of the value alone (ranges, shapes); throws
    // std::invalid_argument saying why. Runs on defaults too.
    std::function<void(const config&)> check;
    // Secret options: wipes the field's text once the application parsed it.
    std::function<void(config&)> wipe;
    // Redacted by describe, left out of --help's defaults, wiped from the
    // arguments, the environment and parsing's copies, never compared by a
    // reload (its text is gone).
    bool secret = false;
    bool flag = false;  // boolean: may be given on the command line without a value
    on_reload reload = on_reload::restart;
};

// Every option, in the order of --help and describe.
const std::vector<option_def>& options();

// The row named `name`, or null.
const option_def* find_option(std::string_view name);

// The environment variable of an option: SESSIOND_ and its name in capitals,
// '-' as '_'.
std::string env_name(std::string_view option);

// Wipes the text of every secret option in `cfg` (token keys, the user
// index key, API key hashes, the Redis URL, the sentinels' password), once
// the application has parsed them into key material.
void wipe_secret_values(config& cfg) noexcept;

}  // namespace sessiond
