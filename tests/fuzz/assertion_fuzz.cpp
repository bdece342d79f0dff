// Signed assertions at redemption. Any bytes: assertion_signer::verify
// refuses them (they are no signature of its keys), never crashes, never
// accepts. And a payload taken from the input, signed by either key,
// verifies to the same claims, and stops verifying when any character of
// the signed part or the signature changes.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "service/assertion_signer.hpp"

using namespace sessiond;

namespace {

// Test keys, public on purpose.
constexpr std::string_view ed25519_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIB6qHLOkU2NCqly67Fx/QRfschuZJ2SINpRIsm9lZTXJ\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view p256_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqEIjTSVvHkmtiaKa\n"
    "/h8dkDX3nKIiakS1qMUsX68QMEahRANCAAQlcpBSUAiVizXyFtzT0nqvQkxKRxo6\n"
    "GdmvBseWGZoIKBSQGmYThA5HNmh8o/vhePOSAXABCcc3zb4IK3vJb+Kq\n"
    "-----END PRIVATE KEY-----\n";

const service::assertion_signer& signer(bool ec) {
    auto make = [](std::string_view signing) {
        service::assertion_settings s;
        s.issuer = "https://fuzz.test";
        s.audiences = {"a"};
        return service::assertion_signer::make(s, {{"ed", ed25519_pem}, {"ec", p256_pem}}, signing);
    };
    static const auto ed = make("ed");
    static const auto p256 = make("ec");
    return ec ? *p256 : *ed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // Whatever arrives: refused (a forgery would be a signature found by the fuzzer).
    if (signer(false).verify(input)) std::abort();

    // The input as a payload: what is signed verifies to the same object.
    boost::system::error_code ec;
    auto payload = boost::json::parse(input, ec);
    if (ec || !payload.is_object() || size > 2048) return 0;
    const bool use_ec = size % 2 == 1;
    const auto jws = signer(use_ec).sign(input);
    auto back = signer(!use_ec).verify(jws);  // either signer holds both keys
    if (!back || boost::json::value(*back) != payload) std::abort();
    // One changed character anywhere but the payload's is refused. (A
    // payload change that keeps the JSON is covered by the signature.)
    std::string changed = jws;
    const std::size_t at = static_cast<std::size_t>(data[0]) * 7919 % changed.size();
    changed[at] = changed[at] == 'A' ? 'B' : 'A';
    // (The signature's last character carries unused bits: only the
    // canonical spelling is accepted, so that changes it too.)
    if (signer(false).verify(changed)) std::abort();
    return 0;
}
