// The RESP reply decoder (hiredis' reader building redis::reply values):
// the bytes are decoded once whole and once fed in pieces whose sizes come
// from the input, as reads from a socket would split them; both must give
// the same replies and the same verdict.
//
// Input: one byte N, then N piece sizes (a byte each, 0 = 1), then the RESP
// bytes; the sizes repeat until the bytes are used up.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "redis/reply_decoder.hpp"

using namespace sessiond;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t n = data[0] % 16;
    if (size < 1 + n) return 0;
    std::vector<std::size_t> pieces(data + 1, data + 1 + n);
    std::string_view bytes(reinterpret_cast<const char*>(data + 1 + n), size - 1 - n);

    redis::reply_decoder whole;
    std::vector<redis::reply> a;
    bool ok_a = whole.decode(bytes, a);

    redis::reply_decoder split;
    std::vector<redis::reply> b;
    bool ok_b = true;
    std::string_view rest = bytes;
    for (std::size_t i = 0; !rest.empty() && ok_b; ++i) {
        std::size_t len = pieces.empty() ? rest.size() : pieces[i % pieces.size()];
        if (len == 0) len = 1;
        auto piece = rest.substr(0, len);
        rest.remove_prefix(piece.size());
        ok_b = split.feed(piece);
        while (ok_b) {
            auto r = split.next();
            if (!r) break;
            b.push_back(std::move(*r));
        }
        ok_b = ok_b && !split.failed();
    }
    if (ok_a != ok_b) std::abort();
    if (ok_a && a != b) std::abort();
    if (!ok_a) {
        // Replies before the error are the same, however the bytes came.
        std::size_t common = std::min(a.size(), b.size());
        for (std::size_t i = 0; i < common; ++i)
            if (a[i] != b[i]) std::abort();
    }
    for (const auto& r : a)
        (void)redis::to_string(r);
    whole.reset();
    return 0;
}
