// The stored record decoder: any bytes either fail to decode or decode to a
// record that encodes back to exactly the same bytes (the format has one
// spelling per record, which decode_record enforces).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/record_codec.hpp"

using namespace sessiond;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    session::session_id id{};
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
