#include "redis/handshake.hpp"

#include "redis/error.hpp"

namespace sessiond::redis {

namespace {

void add_auth(std::vector<handshake_step>& steps, const std::string& user, const secret_string& password) {
    if (!user.empty())
        steps.push_back({command::keyless("AUTH", user, password), true});
    else if (!password.empty())
        steps.push_back({command::keyless("AUTH", password), true});
}

}  // namespace

std::vector<handshake_step> handshake_steps(const config& cfg) {
    std::vector<handshake_step> steps;
    add_auth(steps, cfg.user, cfg.password);
    if (cfg.db != 0) steps.push_back({command::keyless("SELECT", cfg.db), true});
    if (!cfg.client_name.empty()) steps.push_back({command::keyless("CLIENT", "SETNAME", cfg.client_name), false});
    // With nothing else to send, a PING proves that Redis answers (a frozen or
    // overloaded server accepts TCP connections in its backlog).
    if (steps.empty()) steps.push_back({command::keyless("PING"), false});
    // Behind sentinels, a node is used only once it says it is the primary:
    // the sentinels' answer may be stale, and a replica must never be written.
    if (cfg.mode == topology::sentinel) steps.push_back({command::keyless("ROLE"), true, check_primary_role});
    return steps;
}

std::vector<handshake_step> sentinel_handshake_steps(const config& cfg, bool watch) {
    std::vector<handshake_step> steps;
    add_auth(steps, cfg.sentinel_user, cfg.sentinel_password);
    if (!cfg.client_name.empty()) steps.push_back({command::keyless("CLIENT", "SETNAME", cfg.client_name), false});
    if (watch)
        steps.push_back({command::keyless("SUBSCRIBE", "+switch-master"), true});
    else if (steps.empty())
        steps.push_back({command::keyless("PING"), false});
    return steps;
}

boost::system::error_code check_primary_role(const reply& r) {
    const auto e = r.elements();
    if (!e.empty() && e[0].str() == "master") return {};
    return make_error_code(error::not_master);
}

}  // namespace sessiond::redis
