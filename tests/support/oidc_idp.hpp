#pragma once
// An OIDC identity provider for back-channel logout tests: its keys made by
// the openssl command in a temporary folder, published as a JWKS file, and
// logout tokens signed by PyJWT (tests/interop/pyjwt_logout.py), so that no
// token comes from sessiond's own code.

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace sessiond::test {

class oidc_idp {
public:
    // Keys "r1" (RSA 2048) and "e1" (EC P-256), both in the JWKS; "stray"
    // (RSA) is not.
    explicit oidc_idp(std::string name = "corp", std::string issuer = "https://idp.test/realms/corp",
                      std::string client_id = "sessiond-app");

    const std::string& name() const { return name_; }
    const std::string& issuer() const { return issuer_; }
    const std::string& client_id() const { return client_id_; }
    std::string jwks_path() const { return dir_.file("jwks.json"); }
    // The oidc-providers entry, and the flags that configure it.
    std::string entry() const { return name_ + "=" + issuer_ + "|" + client_id_ + "|" + jwks_path(); }
    std::vector<std::string> flags() const { return {"--oidc-providers", entry()}; }

    // A new key (openssl genpkey: "RSA" or "EC"), not yet published.
    void make_key(const std::string& kid, const std::string& type);
    // Writes the JWKS with these kids' public keys.
    void publish(const std::vector<std::string>& kids);

    // Valid logout claims: iss, aud, iat now, jti fresh, events; sub and/or sid
    // if not empty.
    boost::json::object claims(const std::string& sub, const std::string& sid);

    struct spec {
        boost::json::object claims;
        std::string kid = "r1";  // its key signs; empty: alg none
        std::string alg = "RS256";
        boost::json::object headers = {};  // kid is added unless given
    };
    // One token per spec, signed by PyJWT in one run.
    std::vector<std::string> sign(const std::vector<spec>& specs);
    std::string sign(const spec& s) { return sign(std::vector<spec>{s}).at(0); }

private:
    std::string name_, issuer_, client_id_;
    temp_dir dir_;
    std::map<std::string, std::string> pem_;  // kid -> PEM file
    unsigned jti_ = 0;
};

// A logout POST's form body.
std::string logout_form(const std::string& token);

}  // namespace sessiond::test
