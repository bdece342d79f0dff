// The options table against everything that repeats its facts: --help, the
// sample config file, docs/configuration.md, describe's redaction, the
// secret wiping and what a reload applies.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "api/callers.hpp"
#include "app/reload.hpp"
#include "config/config.hpp"
#include "config/options.hpp"
#include "support/process.hpp"

using namespace sessiond;

namespace {

std::set<std::string> table_names() {
    std::set<std::string> out;
    for (const auto& o : options())
        out.insert(o.name);
    return out;
}

// The option lines of a config file, commented out or not: "name = ...".
std::set<std::string> sample_names(const std::string& text) {
    static const std::regex line(R"(^#? ?([a-z][a-z0-9-]*) =)");
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        if (std::smatch m; std::regex_search(l, m, line)) out.insert(m[1]);
    return out;
}

// The names in the first column of the "Options by topic" table.
std::set<std::string> documented_names(const std::string& doc) {
    const auto start = doc.find("## Options by topic");
    const auto end = doc.find("\n## ", start + 1);
    std::istringstream in(doc.substr(start, end - start));
    static const std::regex name("`([^`]+)`");
    std::set<std::string> out;
    for (std::string l; std::getline(in, l);) {
        if (!l.starts_with("| `")) continue;
        const std::string first = l.substr(2, l.find(" |", 2) - 2);
        for (std::sregex_iterator it(first.begin(), first.end(), name), last; it != last; ++it)
            out.insert((*it)[1]);
    }
    return out;
}

}  // namespace

TEST_CASE("--help names every option of the table") {
    std::vector<const char*> argv{"sessiond", "--help"};
    const auto help = load_config(static_cast<int>(argv.size()), argv.data(), {}).help_text;
    for (const auto& o : options()) {
        INFO(o.name);
        CHECK_THAT(help, Catch::Contains("\n  --" + o.name + (o.flag ? "[=BOOL]" : " VALUE")));
    }
}

TEST_CASE("the sample config file holds the table's options and no other") {
    const auto sample = test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/config/sessiond.conf");
    REQUIRE_FALSE(sample.empty());
    CHECK(sample_names(sample) == table_names());
}

TEST_CASE("docs/configuration.md places every option under a topic, and names no other") {
    const auto doc = test::read_file(std::string(SESSIOND_SOURCE_DIR) + "/docs/configuration.md");
    REQUIRE_FALSE(doc.empty());
    CHECK(documented_names(doc) == table_names());
}

TEST_CASE("the api-keys help, the sample config and the docs name every scope") {
    const std::string root = SESSIOND_SOURCE_DIR;
    const auto* api_keys = find_option("api-keys");
    REQUIRE(api_keys != nullptr);
    const std::map<std::string, std::string> places = {
        {"--help of api-keys", api_keys->help},
        {"config/sessiond.conf", test::read_file(root + "/config/sessiond.conf")},
        {"server/config/config.hpp", test::read_file(root + "/server/config/config.hpp")},
        {"docs/configuration.md", test::read_file(root + "/docs/configuration.md")},
        {"docs/security.md", test::read_file(root + "/docs/security.md")},
    };
    for (unsigned bit = 1; bit <= api::scope_all; bit <<= 1) {
        const std::string name(api::scope_name(static_cast<api::scope>(bit)));
        REQUIRE(name != "?");
        for (const auto& [place, text] : places) {
            INFO(place << " names " << name);
            CHECK(std::regex_search(text, std::regex("(^|[^a-z:])" + name + "([^a-z:]|$)")));
        }
    }
}

TEST_CASE("describe redacts every secret option, and wiping empties each") {
    const std::string secret = "zz-hunter2-zz";
    for (const auto& o : options()) {
        if (!o.secret) continue;
        INFO(o.name);
        for (const std::string& value : {secret, "redis://user:" + secret + "@cache:6379"}) {
            config c;
            o.set(c, value);
            CHECK_THAT(describe(c), !Catch::Contains(secret));
            wipe_secret_values(c);
            CHECK(o.get(c).empty());
        }
    }
    // What is not secret is shown as it is.
    config c;
    find_option("redis-key-prefix")->set(c, "app-one:");
    CHECK_THAT(describe(c), Catch::Contains("redis-key-prefix = app-one:\n"));
}

TEST_CASE("a reload applies the parts the table names and warns about the rest") {
    std::set<on_reload> named;
    for (const auto& o : options())
        if (o.reload != on_reload::restart) named.insert(o.reload);
    const auto applied = app::parts_a_reload_applies();
    CHECK(named == std::set<on_reload>(applied.begin(), applied.end()));
    CHECK(std::find(applied.begin(), applied.end(), on_reload::restart) == applied.end());

    // needs_restart names an option that changed unless a reload applies
    // it or its text is a secret's (wiped, so never compared).
    for (const auto& o : options()) {
        INFO(o.name);
        const auto named_after_change = app::needs_restart(o.name + " = a\n", o.name + " = b\n");
        CHECK((named_after_change == o.name) == (o.reload == on_reload::restart && !o.secret));
        CHECK(app::needs_restart(o.name + " = a\n", o.name + " = a\n").empty());
    }
}

TEST_CASE("enumerated options are parsed once, and written back as given") {
    const std::pair<const char*, const char*> given[] = {{"tls-client-auth", "optional"},
                                                         {"log-level", "debug"},
                                                         {"cookie-same-site", "Strict"},
                                                         {"session-limit-policy", "reject"},
                                                         {"tls-min-version", "1.3"}};
    config cfg;
    for (const auto& [name, value] : given)
        find_option(name)->set(cfg, value);
    CHECK(cfg.http.tls_client_auth == client_auth_mode::optional);
    CHECK(cfg.log.level == log_level::debug);
    CHECK(cfg.cookie.same_site == same_site_policy::strict);
    CHECK(cfg.session.limit_policy == session_limit_policy::reject);
    CHECK(cfg.http.tls_min_version == tls_version::v1_3);
    const auto text = describe(cfg);
    for (const auto& [name, value] : given) {
        INFO(name);
        CHECK_THAT(text, Catch::Contains(std::string(name) + " = " + value + "\n"));
    }
    CHECK_THROWS_WITH(find_option("cookie-same-site")->set(cfg, "lax"), "expected Strict, Lax or None");
}

TEST_CASE("list options are parsed at load, and refused there naming the option") {
    std::vector<const char*> argv{"sessiond", "--auth-metadata-headers", "tenant:X-Tenant", "--auth-redirect-hosts",
                                  "A.example,*.b.example"};
    const auto cfg = load_config(static_cast<int>(argv.size()), argv.data(), {}).cfg;
    CHECK(cfg.auth.metadata_headers.entries() ==
          std::vector<std::pair<std::string, std::string>>{{"tenant", "X-Tenant"}});
    CHECK(cfg.auth.redirect_hosts.entries() == std::vector<std::string>{"a.example", "*.b.example"});
    CHECK(cfg.auth.redirect_hosts.text() == "A.example,*.b.example");
    try {
        load_config(1, argv.data(), {"SESSIOND_ASSERTION_CLAIMS=a,,b"});
        FAIL("accepted");
    } catch (const config_error& e) {
        CHECK_THAT(e.what(), Catch::StartsWith("invalid value for 'assertion-claims' (environment "
                                               "SESSIOND_ASSERTION_CLAIMS): "));
    }
}
