// The stored record decoder: any bytes either fail to decode or decode to a
// record that encodes back to exactly the same bytes (the format has one
// spelling per record, which decode_record enforces). The same bytes are
// opened as a stored value: a sealed record opens only if it is exactly what
// sealing its record gives.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "store/record_codec.hpp"

using namespace sessiond;

namespace {
const store::record_sealer& sealer() {
    static const store::record_sealer s(std::make_shared<const session::keyring>(session::keyring::make_ephemeral()),
                                        {3, true});
    return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    session::session_id id{};
    if (auto opened = sealer().open(bytes, "k", id); opened && !bytes.empty() && bytes[0] == 3) {
        if (sealer().seal(*opened, "k") != bytes) std::abort();  // (finding a valid tag is 2^-128 here)
    }
    auto r = store::decode_record(bytes, id);
    if (!r) return 0;
    std::string again;
    try {
        again = store::encode_record(*r);
    } catch (const std::invalid_argument&) {
        std::abort();  // decoded, so within the bounds encode_record checks
    }
    if (again != bytes) std::abort();
    return 0;
}
