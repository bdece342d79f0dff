// The stored record decoder: any bytes either fail to decode or decode to a
// record that encodes back to exactly the same bytes (the format has one
// spelling per record, which the decoder enforces), read as a format-2
// record and as the unsealed fields of any format (2, 3, 4: the chain of
// previous secrets included). The same bytes are opened as a stored value: a
// sealed record opens only if it is exactly what sealing its record gives.

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
                                        {4, true});
    return s;
}

void same_bytes_again(std::string_view bytes, const session::session_record& r, std::uint8_t format) {
    std::string again;
    try {
        again = format == 2 ? store::encode_record(r) : store::encode_record_fields(r, format);
    } catch (const std::invalid_argument&) {
        std::abort();  // decoded, so within the bounds the encoder checks
    }
    if (again != bytes) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    session::session_id id{};
    if (auto opened = sealer().open(bytes, "k", id); opened && !bytes.empty() && (bytes[0] == 3 || bytes[0] == 4)) {
        if (sealer().seal(*opened, "k") != bytes) std::abort();  // (finding a valid tag is 2^-128 here)
    }
    if (auto r = store::decode_record(bytes, id)) same_bytes_again(bytes, *r, 2);
    if (auto r = store::decode_record_fields(bytes, id))
        same_bytes_again(bytes, *r, static_cast<std::uint8_t>(bytes[0]));
    return 0;
}
