#pragma once
// The key material a configuration names: the token keys, the callers and
// the signed assertions' keys, read from the options or their files (each
// file's text wiped once parsed), and the secret files others could read.

#include <memory>
#include <string>
#include <vector>

#include "api/callers.hpp"
#include "common/secret_file.hpp"
#include "config/config.hpp"
#include "service/assertions.hpp"
#include "service/oidc_providers.hpp"
#include "session/keyring.hpp"

namespace sessiond::app {

// A warning to log once logging is set up; `option` and `file` name a
// secret file (never its content) when it is about one.
struct startup_warning {
    std::string message;
    std::string option;
    std::string file;
};

// What the security settings resolve to; refuses to run insecurely unless
// in development mode (which config validation limits to loopback).
struct security {
    std::shared_ptr<const session::keyring> keys;
    api::shared_callers callers;
    std::vector<startup_warning> warnings;
};

// The token keys and the callers; throws config_error.
security load_security(const config& cfg);

// The signed assertions' keys and rules (null when assertion-keys is empty).
// The private keys are read from their files and wiped once parsed; throws
// config_error.
std::shared_ptr<const service::assertion_signer> load_assertions(const assertion_config& a);

// The assertion keys' ids, comma-separated ("" for none).
std::string assertion_kids(const service::assertion_signer* signer);

// A provider's JWKS file that cannot be read or used.
struct jwks_load_error : config_error {
    using config_error::config_error;
};

// The OIDC providers of back-channel logout, their JWKS files read (null:
// none configured). Throws jwks_load_error naming the provider and its file.
std::shared_ptr<const service::oidc_providers> load_oidc(const oidc_config& o);

// "name:kid,kid;name:kid" for the start-up and reload log lines.
std::string oidc_kids(const service::oidc_providers* providers);

// The files that hold secrets, by option: each should be readable by
// sessiond's user alone; a warning for each that is not.
std::vector<startup_warning> exposed_secret_files(const config& cfg);

// A secret file's content (the caller wipes it); an unreadable file (not a
// regular file, larger than `max_bytes`) stops start-up, or fails a reload,
// naming its option and path, never its content.
std::string secret_file(const std::string& path, const char* option, std::size_t max_bytes = secret_file_max_bytes);

}  // namespace sessiond::app
