#include "support/oidc_idp.hpp"

#include <chrono>
#include <sstream>
#include <stdexcept>

namespace sessiond::test {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string run(const std::vector<std::string>& argv) {
    process_options options;
    options.argv = argv;
    process p(options);
    const auto status = p.wait(60s);
    if (status != 0) throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + p.log());
    return p.log();
}

std::string script() {
    return std::string(SESSIOND_SOURCE_DIR) + "/tests/interop/pyjwt_logout.py";
}

}  // namespace

oidc_idp::oidc_idp(std::string name, std::string issuer, std::string client_id)
    : name_(std::move(name)), issuer_(std::move(issuer)), client_id_(std::move(client_id)) {
    make_key("r1", "RSA");
    make_key("e1", "EC");
    make_key("stray", "RSA");
    publish({"r1", "e1"});
}

void oidc_idp::make_key(const std::string& kid, const std::string& type) {
    const auto path = dir_.file(kid + ".pem");
    if (type == "RSA")
        run({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path});
    else
        run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path});
    pem_[kid] = path;
}

void oidc_idp::publish(const std::vector<std::string>& kids) {
    std::vector<std::string> argv{"/usr/bin/python3", script(), "jwks", dir_.file("jwks.next")};
    for (const auto& kid : kids)
        argv.push_back(kid + "=" + pem_.at(kid));
    run(argv);
    // Replaced whole: a reload never reads a half-written file.
    if (std::rename(dir_.file("jwks.next").c_str(), jwks_path().c_str()) != 0)
        throw std::runtime_error("cannot replace the JWKS file");
}

json::object oidc_idp::claims(const std::string& sub, const std::string& sid) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    json::object c{{"iss", issuer_},
                   {"aud", client_id_},
                   {"iat", now},
                   {"exp", now + 120},
                   {"jti", "logout-" + std::to_string(now) + "-" + std::to_string(++jti_)},
                   {"events", json::object{{"http://schemas.openid.net/event/backchannel-logout", json::object{}}}}};
    if (!sub.empty()) c["sub"] = sub;
    if (!sid.empty()) c["sid"] = sid;
    return c;
}

std::vector<std::string> oidc_idp::sign(const std::vector<spec>& specs) {
    json::array list;
    for (const auto& s : specs) {
        json::object headers = s.headers;
        if (!s.kid.empty() && !headers.contains("kid")) headers["kid"] = s.kid;
        list.push_back(json::object{{"pem", s.kid.empty() ? json::value(nullptr) : json::value(pem_.at(s.kid))},
                                    {"alg", s.alg},
                                    {"claims", s.claims},
                                    {"headers", headers}});
    }
    const auto file = dir_.file("specs.json");
    write_file(file, json::serialize(list));
    std::istringstream out(run({"/usr/bin/python3", script(), "sign", file}));
    std::vector<std::string> tokens;
    for (std::string line; std::getline(out, line);)
        if (!line.empty()) tokens.push_back(line);
    if (tokens.size() != specs.size()) throw std::runtime_error("pyjwt_logout.py printed " + out.str());
    return tokens;
}

std::string logout_form(const std::string& token) {
    return "logout_token=" + token;
}

}  // namespace sessiond::test
