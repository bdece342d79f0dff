#include "api/session_context.hpp"

#include "api/json_body.hpp"

namespace sessiond::api {

namespace json = boost::json;
using namespace std::string_literals;

namespace {

// An optional object field: nullptr when absent, nullopt after a 400.
std::optional<const json::object*> get_object(http::request_context& ctx, const json::object& body,
                                              std::string_view name) {
    auto it = body.find(name);
    if (it == body.end()) return nullptr;
    if (!it->value().is_object()) {
        malformed(ctx, std::string(name) + " must be a JSON object");
        return std::nullopt;
    }
    return &it->value().get_object();
}

bool read_device(http::request_context& ctx, const json::object& body, session::device_context& out) {
    auto device = get_object(ctx, body, "device");
    if (!device) return false;
    if (*device == nullptr) return true;
    const json::object& d = **device;
    if (!only_fields(ctx, d, {"user_agent", "label"})) return false;
    auto user_agent = get_string(ctx, d, "user_agent", false);
    if (!user_agent) return false;
    // What a browser sent is kept, cleaned; what the caller names must be clean.
    out.user_agent = session::clean_user_agent(*user_agent);
    auto label = get_string(ctx, d, "label", false);
    if (!label) return false;
    if (!label->empty() && !session::valid_display_text(*label, session::max_label_size)) {
        malformed(ctx, "device.label must be 1.." + std::to_string(session::max_label_size) +
                           " bytes of UTF-8 without control characters");
        return false;
    }
    out.label = std::string(*label);
    return true;
}

bool read_auth(http::request_context& ctx, const json::object& body, session::assurance& out) {
    auto aal = get_int(ctx, body, "aal", 1, session::max_aal);
    if (!aal) return false;
    out.aal = static_cast<std::uint8_t>(aal->value_or(0));
    auto it = body.find("amr");
    if (it == body.end()) return true;
    const auto* amr = it->value().if_array();
    const std::string rule = "amr must be an array of at most " + std::to_string(session::max_amr_values) +
                             " distinct method names (1.." + std::to_string(session::max_amr_size) +
                             " letters, digits, '-', '_', '.', ':'), as in RFC 8176";
    if (amr == nullptr || amr->size() > session::max_amr_values) {
        malformed(ctx, rule);
        return false;
    }
    for (const auto& v : *amr) {
        const auto* s = v.if_string();
        if (s == nullptr || !session::valid_name(*s, session::max_amr_size) ||
            std::find(out.amr.begin(), out.amr.end(), std::string_view(*s)) != out.amr.end()) {
            malformed(ctx, rule);
            return false;
        }
        out.amr.emplace_back(*s);
    }
    return true;
}

bool read_tenant(http::request_context& ctx, const json::object& body, std::string& out) {
    auto tenant = get_string(ctx, body, "tenant", false);
    if (!tenant) return false;
    if (!tenant->empty() && !session::valid_name(*tenant, session::max_tenant_size)) {
        malformed(ctx, "tenant must be 1.." + std::to_string(session::max_tenant_size) +
                           " letters, digits, '-', '_', '.' or ':'");
        return false;
    }
    out = std::string(*tenant);
    return true;
}

bool read_provider(http::request_context& ctx, const json::object& body, session::provider_session& out) {
    auto provider = get_object(ctx, body, "provider");
    if (!provider) return false;
    if (*provider == nullptr) return true;
    const json::object& p = **provider;
    if (!only_fields(ctx, p, {"name", "sid"})) return false;
    auto name = get_string(ctx, p, "name", true);
    if (!name) return false;
    auto sid = get_string(ctx, p, "sid", true);
    if (!sid) return false;
    if (!session::valid_name(*name, session::max_provider_size)) {
        malformed(ctx, "provider.name must be 1.." + std::to_string(session::max_provider_size) +
                           " letters, digits, '-', '_', '.' or ':'");
        return false;
    }
    if (!session::valid_provider_sid(*sid)) {
        malformed(ctx, "provider.sid must be 1.." + std::to_string(session::max_provider_sid_size) +
                           " visible ASCII characters");
        return false;
    }
    out = {std::string(*name), std::string(*sid)};
    return true;
}

}  // namespace

std::optional<session_context> read_session_context(http::request_context& ctx, const json::object& body) {
    session_context out;
    if (!read_device(ctx, body, out.device) || !read_auth(ctx, body, out.auth) || !read_tenant(ctx, body, out.tenant) ||
        !read_provider(ctx, body, out.provider))
        return std::nullopt;
    return out;
}

std::optional<std::optional<session::assurance>> read_assurance(http::request_context& ctx, const json::object& body) {
    if (!body.contains("aal") && !body.contains("amr")) return std::optional<session::assurance>();
    session::assurance auth;
    if (!read_auth(ctx, body, auth)) return std::nullopt;
    return std::optional<session::assurance>(std::move(auth));
}

std::size_t given_size(const session_context& c) noexcept {
    std::size_t n = c.device.user_agent.size() + c.device.label.size() + c.tenant.size() + c.provider.provider.size() +
                    c.provider.sid.size();
    for (const auto& m : c.auth.amr)
        n += m.size();
    return n;
}

}  // namespace sessiond::api
