#pragma once
// The checks of a loaded configuration: each option's own (its row in the
// options table), then the rules between options, by topic.

#include <map>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace sessiond {

// Where each option that is not a default came from ("flag --port",
// "environment SESSIOND_PORT", "config file"), so that a refusal points at
// what to fix.
using option_sources = std::map<std::string, std::string, std::less<>>;

// Throws config_error "invalid value for 'option' (source): why"; never
// quotes the value, which may be secret.
[[noreturn]] void refuse(const option_sources& sources, std::string_view option, std::string_view why);

// Throws config_error for the first problem: an option's own checks in the
// order of the table, then the rules between options.
void validate(const config& c, const option_sources& sources);

}  // namespace sessiond
