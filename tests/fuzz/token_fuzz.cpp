// Session tokens and public ids. Any bytes: token_codec::decode with a fixed
// keyring (kids 1 and 2) either refuses them or they are a token of that
// keyring; session_id::parse either refuses or round-trips. And a token
// issued for a bucket taken from the input always decodes to what was issued.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "session/keyring.hpp"
#include "session/token_codec.hpp"

using namespace sessiond;

namespace {

// Test keys, public on purpose: 1..32, 101..132 and 201..232 as bytes.
const session::keyring& keys() {
    static const auto k = session::keyring::parse(
        "1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=,2:ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4Q=",
        "ycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+g=");
    return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    static const session::token_codec codec;

    auto decoded = codec.decode(keys(), input);
    if (decoded) {
        if (input.size() != codec.token_size() || !input.starts_with(codec.prefix())) std::abort();
        if (decoded->kid != 1 && decoded->kid != 2) std::abort();
        if (decoded->id.bucket >= session::bucket_count) std::abort();
    }

    if (auto id = session::session_id::parse(input)) {
        if (id->to_string() != input) std::abort();
    }

    std::uint16_t bucket = size >= 2 ? static_cast<std::uint16_t>((data[0] << 8 | data[1]) % session::bucket_count) : 0;
    auto issued = codec.issue(keys(), bucket);
    auto back = codec.decode(keys(), issued.token);
    if (!back || back->id != issued.id || back->secret != issued.secret || back->kid != keys().signing_kid())
        std::abort();
    if (issued.id.bucket != bucket) std::abort();
    auto again = codec.reissue(keys(), issued.id);
    auto back2 = codec.decode(keys(), again.token);
    if (!back2 || back2->id != issued.id || back2->secret != again.secret) std::abort();
    return 0;
}
