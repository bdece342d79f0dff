#include "redis/handshake.hpp"

namespace sessiond::redis {

std::vector<handshake_step> handshake_steps(const config& cfg) {
    std::vector<handshake_step> steps;
    if (!cfg.user.empty())
        steps.push_back({command::keyless("AUTH", cfg.user, cfg.password), true});
    else if (!cfg.password.empty())
        steps.push_back({command::keyless("AUTH", cfg.password), true});
    if (cfg.db != 0) steps.push_back({command::keyless("SELECT", cfg.db), true});
    if (!cfg.client_name.empty()) steps.push_back({command::keyless("CLIENT", "SETNAME", cfg.client_name), false});
    // With nothing else to send, a PING proves that Redis answers (a frozen or
    // overloaded server accepts TCP connections in its backlog).
    if (steps.empty()) steps.push_back({command::keyless("PING"), false});
    return steps;
}

}  // namespace sessiond::redis
