#include "config/validate.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <stdexcept>

#include "config/options.hpp"

namespace sessiond {

namespace {

bool same_header(const std::string& a, const std::string& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

void check_each_option(const config& c, const option_sources& s) {
    for (const auto& o : options()) {
        if (!o.check) continue;
        try {
            o.check(c);
        } catch (const std::invalid_argument& e) {
            refuse(s, o.name, e.what());
        }
    }
}

void check_listeners_and_tls(const http_config& h, const option_sources& s) {
    if (h.tls_cert_file.empty() != h.tls_key_file.empty())
        refuse(s, h.tls_cert_file.empty() ? "tls-cert-file" : "tls-key-file",
               "tls-cert-file and tls-key-file are set together");
    if (h.tls_client_auth != client_auth_mode::none) {
        if (h.tls_cert_file.empty())
            refuse(s, "tls-client-auth", "client certificates need HTTPS (tls-cert-file and tls-key-file)");
        if (h.tls_client_ca_file.empty())
            refuse(s, "tls-client-ca-file", "required when tls-client-auth is optional or require");
    }
    // The operations listener's address matters only when it listens.
    if (h.ops_port != 0) {
        boost::system::error_code ec;
        boost::asio::ip::make_address(h.ops_address, ec);
        if (ec) refuse(s, "ops-address", "'" + h.ops_address + "' is not an IP address");
        if (h.ops_port == h.port && h.ops_address == h.address)
            refuse(s, "ops-port", "must differ from the main listener's port");
    }
}

void check_store(const store_config& st, const option_sources& s) {
    if (st.record_format == 2 && !st.record_accept_unsigned)
        refuse(s, "record-format", "2 needs record-accept-unsigned, or this instance could not read its own records");
    const bool sentinel_url =
        st.redis_url.starts_with("redis+sentinel://") || st.redis_url.starts_with("rediss+sentinel://");
    if (!sentinel_url && (!st.redis_sentinel_user.empty() || !st.redis_sentinel_password.empty() ||
                          !st.redis_sentinel_password_file.empty()))
        refuse(s, "redis-sentinel-password", "the sentinel options need a redis+sentinel:// URL");
    if (st.cache && (st.cache_max_entries == 0 || st.cache_max_age.count() <= 0))
        refuse(s, "cache-max-entries", "cache-max-entries and cache-max-age must be positive while cache is on");
    if (st.redis_wait_replicas > 0 &&
        (st.redis_wait_timeout.count() <= 0 || st.redis_wait_timeout >= st.redis_command_timeout))
        refuse(s, "redis-wait-timeout",
               "must be positive and shorter than redis-command-timeout when redis-wait-replicas is set (WAIT holds "
               "its connection for up to this long)");
}

void check_assertions(const config& c, const option_sources& s) {
    const auto& a = c.assertion;
    if (a.ttl > a.max_ttl) refuse(s, "assertion-ttl", "must not exceed assertion-max-ttl");
    if (!a.keys.empty()) {
        if (a.issuer.empty()) refuse(s, "assertion-issuer", "required with assertion-keys");
        if (a.audiences.empty()) refuse(s, "assertion-audiences", "required with assertion-keys");
    }
    if (!c.auth.assertion_audience.empty() && a.keys.empty())
        refuse(s, "auth-assertion-audience", "needs assertion-keys");
}

// The headers sessiond reads and writes must be told apart: a metadata
// header named like another would be read as that one by a proxy.
void check_headers(const config& c, const option_sources& s) {
    const auto& auth = c.auth;
    if (same_header(auth.user_header, auth.id_header)) refuse(s, "auth-id-header", "must differ from auth-user-header");
    const std::pair<const char*, const std::string*> named[] = {{"auth-user-header", &auth.user_header},
                                                                {"auth-id-header", &auth.id_header},
                                                                {"auth-assertion-header", &auth.assertion_header},
                                                                {"api-key-header", &auth.api_key_header},
                                                                {"request-id-header", &c.http.request_id_header}};
    for (const auto& [field, header] : auth.metadata_headers.entries())
        for (const auto& [option, other] : named)
            if (same_header(*other, header))
                refuse(s, "auth-metadata-headers", "header " + header + " is already the " + option + " header");
    if (!auth.login_url.empty() && auth.redirect_hosts.empty())
        refuse(s, "auth-redirect-hosts", "auth-login-url needs the hosts whose URLs may be redirected to it");
}

void check_cookie(const cookie_config& k, const option_sources& s) {
    if (k.same_site == same_site_policy::none && !k.secure)
        refuse(s, "cookie-same-site", "None requires cookie-secure");
    if (k.name.starts_with("__Host-") && (!k.secure || k.path != "/" || !k.domain.empty()))
        refuse(s, "cookie-name", "a __Host- cookie needs cookie-secure, cookie-path / and no cookie-domain");
    if (k.name.starts_with("__Secure-") && !k.secure)
        refuse(s, "cookie-name", "a __Secure- cookie needs cookie-secure");
}

// Like development mode itself, switching off what makes a setting safe is
// for a developer's machine only.
void check_development(const config& c, const option_sources& s) {
    if (!c.store.redis_tls_verify && !c.development)
        refuse(s, "redis-tls-verify",
               "false is allowed in development mode only: without verification anyone on the network path can pose "
               "as Redis and read or forge every session");
    if (c.development) {
        boost::system::error_code ec;
        auto a = boost::asio::ip::make_address(c.http.address, ec);
        if (!ec && !a.is_loopback()) refuse(s, "development", "development mode listens on loopback addresses only");
    }
}

// Webhooks carry the session events to a URL: they need the events, and
// they go over TLS with a verified certificate, but to a loopback address
// on a developer's machine.
void check_webhooks(const config& c, const option_sources& s) {
    const auto& w = c.webhooks;
    if (w.endpoints.empty()) return;
    if (!c.store.events)
        refuse(s, "webhooks", "needs events = true: webhooks deliver the session events, which are off");
    if (w.retry_max_delay < w.retry_delay)
        refuse(s, "webhook-retry-max-delay", "must not be less than webhook-retry-delay");
    for (const auto& e : w.endpoints.entries()) {
        if (e.url.starts_with("https://")) continue;
        const auto host = url_host(e.url);
        boost::system::error_code ec;
        const auto a = boost::asio::ip::make_address(host, ec);
        const bool loopback = host == "localhost" || (!ec && a.is_loopback());
        if (!loopback)
            refuse(s, "webhooks",
                   "webhook " + e.name + ": http:// is allowed to a loopback address only (use https://)");
        if (!c.development)
            refuse(s, "webhooks", "webhook " + e.name + ": http:// is allowed in development mode only (use https://)");
    }
}

}  // namespace

void refuse(const option_sources& sources, std::string_view option, std::string_view why) {
    auto it = sources.find(option);
    std::string text = "invalid value for '";
    text += option;
    text += "'";
    if (it != sources.end()) text += " (" + it->second + ")";
    text += ": ";
    text += why;
    throw config_error(text);
}

// The token prefix and the session policy are checked by the domain itself
// at start-up (session::token_codec, session::validate), once.
void validate(const config& c, const option_sources& sources) {
    check_each_option(c, sources);
    check_listeners_and_tls(c.http, sources);
    check_store(c.store, sources);
    check_assertions(c, sources);
    check_headers(c, sources);
    check_cookie(c.cookie, sources);
    check_development(c, sources);
    check_webhooks(c, sources);
}

}  // namespace sessiond
