#include "support/redis_tls.hpp"

#include <signal.h>

#include <cstdlib>
#include <stdexcept>

#include "support/redis_server.hpp"

namespace sessiond::test {
namespace {

void run(const std::string& command, const std::string& log) {
    const std::string full = command + " >>'" + log + "' 2>&1";
    if (std::system(full.c_str()) != 0) throw std::runtime_error("failed: " + command + "\n" + read_file(log));
}

}  // namespace

std::unique_ptr<test_pki> make_test_pki() {
    auto pki = std::make_unique<test_pki>();
    const auto f = [&](const char* name) { return pki->dir.file(name); };
    const std::string log = f("openssl.log");
    const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto make_ca = [&](const std::string& name, const std::string& cn) {
        run("openssl req -x509 " + ec_key + " -days 2 -subj '/CN=" + cn + "' -keyout '" + f((name + ".key").c_str()) +
                "' -out '" + f((name + ".crt").c_str()) + "'",
            log);
    };
    make_ca("ca", "sessiond test CA");
    make_ca("other-ca", "unrelated test CA");
    pki->ca_cert = f("ca.crt");
    pki->other_ca_cert = f("other-ca.crt");
    auto server = issue_certificate(*pki, "server", "localhost",
                                    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    auto client = issue_certificate(*pki, "client", "sessiond", "extendedKeyUsage=clientAuth\n");
    pki->server_cert = server.cert;
    pki->server_key = server.key;
    pki->client_cert = client.cert;
    pki->client_key = client.key;
    return pki;
}

issued_certificate issue_certificate(const test_pki& pki, const std::string& name, const std::string& cn,
                                     const std::string& ext, bool other_ca) {
    const std::string log = pki.dir.file("openssl.log");
    const std::string key = pki.dir.file(name + ".key");
    const std::string csr = pki.dir.file(name + ".csr");
    const std::string crt = pki.dir.file(name + ".crt");
    const std::string extfile = pki.dir.file(name + ".ext");
    const std::string ca = other_ca ? "other-ca" : "ca";
    write_file(extfile, ext);
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj '/CN=" + cn + "' -keyout '" + key +
            "' -out '" + csr + "'",
        log);
    run("openssl x509 -req -days 2 -in '" + csr + "' -CA '" + pki.dir.file(ca + ".crt") + "' -CAkey '" +
            pki.dir.file(ca + ".key") + "' -CAcreateserial -out '" + crt + "' -extfile '" + extfile + "'",
        log);
    return {crt, key};
}

redis_tls_server::redis_tls_server(const test_pki& pki, bool require_client_cert, std::vector<std::string> extra_args) {
    auto argv = [&](unsigned short port) {
        auto argv = redis_argv(0, dir_);  // TLS only
        argv.insert(argv.end(), {"--tls-port", std::to_string(port), "--tls-cert-file", pki.server_cert,
                                 "--tls-key-file", pki.server_key, "--tls-ca-cert-file", pki.ca_cert,
                                 "--tls-auth-clients", require_client_cert ? "yes" : "no"});
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
    };
    proc_ = start_redis(argv, dir_, port_);
}

redis_tls_server::~redis_tls_server() {
    proc_->signal(SIGTERM);
    if (!proc_->wait(std::chrono::seconds(10))) proc_->signal(SIGKILL);
}

}  // namespace sessiond::test
