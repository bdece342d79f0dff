#include "api/session_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <stdexcept>

#include "common/json_text.hpp"

namespace sessiond::api {

using session::session_id;
using session::session_record;
using session::timestamp;

boost::json::object to_json(const session_record& r) {
    boost::system::error_code ec;
    boost::json::value metadata = boost::json::parse(r.metadata, ec);
    if (ec || !metadata.is_object()) throw std::invalid_argument("session record metadata is not a JSON object");
    auto ts = [](timestamp t) { return boost::json::value(format_rfc3339(t)); };

    boost::json::object o;
    o.reserve(9);
    o.emplace("id", r.id.to_string());
    o.emplace("user_id", r.user_id);
    o.emplace("metadata", std::move(metadata));
    o.emplace("created_at", ts(r.created_at));
    o.emplace("last_seen_at", ts(r.last_seen_at));
    o.emplace("idle_expires_at", ts(r.idle_expires_at));
    o.emplace("expires_at", ts(r.expires_at));
    o.emplace("rotated_at", r.rotated_at ? ts(*r.rotated_at) : boost::json::value(nullptr));
    o.emplace("authenticated_at", ts(r.authenticated_at));
    if (!r.device.empty()) {
        boost::json::object device;
        for (auto [key, value] : {std::pair<std::string_view, std::string_view>{"user_agent", r.device.user_agent},
                                  {"label", r.device.label},
                                  {"created_address", r.device.created_address},
                                  {"last_address", r.device.last_address}})
            if (!value.empty()) device.emplace(key, value);
        o.emplace("device", std::move(device));
    }
    if (r.auth.aal > 0) o.emplace("aal", r.auth.aal);
    if (!r.auth.amr.empty()) o.emplace("amr", boost::json::array(r.auth.amr.begin(), r.auth.amr.end()));
    if (!r.tenant.empty()) o.emplace("tenant", r.tenant);
    if (!r.provider.empty())
        o.emplace("provider", boost::json::object{{"name", r.provider.provider}, {"sid", r.provider.sid}});
    return o;
}

namespace {

// The optional members (device, aal, amr, tenant, provider) of a record
// with a context, each after a comma.
void append_context_json(const session_record& r, std::string& out) {
    auto put = [&out](std::string_view key, std::string_view value, bool& first) {
        if (value.empty()) return;
        out += first ? "{\"" : ",\"";
        first = false;
        out += key;
        out += "\":";
        sessiond::append_json_string(out, value);
    };
    if (!r.device.empty()) {
        bool first = true;
        out += R"(,"device":)";
        put("user_agent", r.device.user_agent, first);
        put("label", r.device.label, first);
        put("created_address", r.device.created_address, first);
        put("last_address", r.device.last_address, first);
        out += '}';
    }
    if (r.auth.aal > 0) {
        out += R"(,"aal":)";
        out += static_cast<char>('0' + r.auth.aal);
    }
    if (!r.auth.amr.empty()) {
        out += R"(,"amr":[)";
        for (std::size_t i = 0; i < r.auth.amr.size(); ++i) {
            if (i > 0) out += ',';
            sessiond::append_json_string(out, r.auth.amr[i]);
        }
        out += ']';
    }
    if (!r.tenant.empty()) {
        out += R"(,"tenant":)";
        sessiond::append_json_string(out, r.tenant);
    }
    if (!r.provider.empty()) {
        out += R"(,"provider":{"name":)";
        sessiond::append_json_string(out, r.provider.provider);
        out += R"(,"sid":)";
        sessiond::append_json_string(out, r.provider.sid);
        out += '}';
    }
}

}  // namespace

void append_json(const session_record& r, std::string& out) {
    auto put_ts = [&out](std::string_view key, timestamp t) {
        out += key;
        const std::size_t at = out.size();
        out.resize(at + rfc3339_size);
        format_rfc3339(t, std::span<char, rfc3339_size>(out.data() + at, rfc3339_size));
        out.push_back('"');
    };
    out.reserve(out.size() + 300 + r.user_id.size() + r.metadata.size());
    out += R"({"id":")";
    const std::size_t at = out.size();
    out.resize(at + session_id::encoded_size);
    r.id.to_chars(std::span<char, session_id::encoded_size>(out.data() + at, session_id::encoded_size));
    out += R"(","user_id":)";
    sessiond::append_json_string(out, r.user_id);
    out += R"(,"metadata":)";
    out += r.metadata;
    put_ts(R"(,"created_at":")", r.created_at);
    put_ts(R"(,"last_seen_at":")", r.last_seen_at);
    put_ts(R"(,"idle_expires_at":")", r.idle_expires_at);
    put_ts(R"(,"expires_at":")", r.expires_at);
    if (r.rotated_at)
        put_ts(R"(,"rotated_at":")", *r.rotated_at);
    else
        out += R"(,"rotated_at":null)";
    put_ts(R"(,"authenticated_at":")", r.authenticated_at);
    if (has_context(r)) append_context_json(r, out);
    out.push_back('}');
}

}  // namespace sessiond::api
