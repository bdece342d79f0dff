// SHA-256 through OpenSSL's SHA256_* functions, deprecated in OpenSSL 3 in
// favour of EVP but still part of its API: see sha256_state below for why.
// Defined before any header includes OpenSSL's.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "session/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace sessiond::session {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL: ") + what);
}

// SHA-256 on a plain state that can be copied: the digest of a secret and an
// HMAC both hash one or two blocks, and through EVP each call paid more for
// the dispatch than for the hashing (an HMAC duplicated two digest contexts,
// two allocations, per call). In a loop on the development box: HMAC 230 ns
// through EVP_MAC against 145 ns here, SHA-256 of 32 bytes 81 against 58 ns.
// OpenSSL picks the same block function (SHA-NI, AVX2) either way.
using sha256_state = SHA256_CTX;
static_assert(std::is_trivially_copyable_v<sha256_state>);

void sha256_init(sha256_state& s) {
    if (SHA256_Init(&s) != 1) fail("SHA-256 init");
}
void sha256_update(sha256_state& s, const void* data, std::size_t size) {
    if (SHA256_Update(&s, data, size) != 1) fail("SHA-256 update");
}
void sha256_final(sha256_state& s, std::uint8_t* out) {
    if (SHA256_Final(out, &s) != 1) fail("SHA-256 final");
}

// An HMAC-SHA-256 key as the two states it leaves after the inner and the
// outer padded key block (RFC 2104): each MAC then hashes only the message
// and the inner digest.
struct hmac_key_state {
    sha256_state inner;
    sha256_state outer;
};

constexpr std::size_t sha256_block = 64;

void hmac_prepare(bytes_view key, hmac_key_state& out) {
    std::array<std::uint8_t, sha256_block> block{};
    if (key.size() > sha256_block) {
        sha256_state s;
        sha256_init(s);
        sha256_update(s, key.data(), key.size());
        sha256_final(s, block.data());  // a longer key is replaced by its digest
        secure_wipe(&s, sizeof s);
    } else {
        std::copy(key.begin(), key.end(), block.begin());
    }
    for (auto& b : block)
        b ^= 0x36;
    sha256_init(out.inner);
    sha256_update(out.inner, block.data(), block.size());
    for (auto& b : block)
        b ^= 0x36 ^ 0x5c;
    sha256_init(out.outer);
    sha256_update(out.outer, block.data(), block.size());
    secure_wipe(block);
}

sha256_digest hmac_finish(const hmac_key_state& key, bytes_view data) {
    sha256_digest out;
    sha256_state s = key.inner;
    sha256_update(s, data.data(), data.size());
    std::array<std::uint8_t, 32> inner{};
    sha256_final(s, inner.data());
    s = key.outer;
    sha256_update(s, inner.data(), inner.size());
    sha256_final(s, out.data());
    secure_wipe(&s, sizeof s);
    secure_wipe(inner);
    return out;
}

// Preparing a key costs as much as the MAC itself, and a server uses very
// few keys: the signing key, the user index key, perhaps an old token key.
// So each thread keeps the prepared states of a few keys. Entries are
// matched by key content (a copy next to the states, on the thread's
// key-material pages, wiped on thread exit), never by address, so a keyring
// rebuilt at the same address with other keys cannot hit a stale entry.
class hmac_cache {
public:
    static constexpr std::size_t slots = 4;
    static constexpr std::size_t max_cached_key = 256;

    hmac_cache() : entries_(static_cast<entry*>(secure_allocate(sizeof(entry) * slots))) {
        for (std::size_t i = 0; i < slots; ++i)
            new (entries_ + i) entry{};
    }
    ~hmac_cache() { secure_deallocate(entries_, sizeof(entry) * slots); }
    hmac_cache(const hmac_cache&) = delete;
    hmac_cache& operator=(const hmac_cache&) = delete;

    // The prepared states of `key`; null when it is too long to be kept.
    const hmac_key_state* find_or_add(bytes_view key) {
        if (key.size() > max_cached_key) return nullptr;
        for (std::size_t i = 0; i < slots; ++i) {
            const entry& e = entries_[i];
            if (e.key_size != 0 && equal_ct(key, bytes_view(e.key.data(), e.key_size))) return &e.state;
        }
        entry& e = entries_[next_++ % slots];
        e.key_size = 0;  // not a valid entry until prepared
        hmac_prepare(key, e.state);
        std::copy(key.begin(), key.end(), e.key.begin());
        e.key_size = key.size();
        return &e.state;
    }

private:
    struct entry {
        hmac_key_state state;
        std::array<std::uint8_t, max_cached_key> key;
        std::size_t key_size;  // 0 = empty (keys are never empty)
    };
    static_assert(std::is_trivially_copyable_v<entry>);

    entry* entries_;  // `slots` entries on key-material pages
    std::size_t next_ = 0;
};

// Branch-free base64 character arithmetic (after libsodium's codecs.c): all
// helpers take values in 0..255 and return 0xFF for true, 0 for false.
constexpr unsigned eq(unsigned x, unsigned y) {
    return (((0U - (x ^ y)) >> 8) & 0xFF) ^ 0xFF;
}
constexpr unsigned gt(unsigned x, unsigned y) {
    return ((y - x) >> 8) & 0xFF;
}
constexpr unsigned ge(unsigned x, unsigned y) {
    return gt(y, x) ^ 0xFF;
}
constexpr unsigned lt(unsigned x, unsigned y) {
    return gt(y, x);
}
constexpr unsigned le(unsigned x, unsigned y) {
    return ge(y, x);
}

// The two alphabets differ only in the characters for 62 and 63.
template <unsigned C62, unsigned C63>
constexpr char encode_char(unsigned x) {
    return static_cast<char>((lt(x, 26) & (x + 'A')) | (ge(x, 26) & lt(x, 52) & (x + ('a' - 26))) |
                             (ge(x, 52) & lt(x, 62) & (x + ('0' - 52))) | (eq(x, 62) & C62) | (eq(x, 63) & C63));
}

// 0..63, or 0xFF for a character outside the alphabet.
template <unsigned C62, unsigned C63>
constexpr unsigned decode_char(unsigned c) {
    const unsigned x = (ge(c, 'A') & le(c, 'Z') & (c - 'A')) | (ge(c, 'a') & le(c, 'z') & (c - ('a' - 26))) |
                       (ge(c, '0') & le(c, '9') & (c - ('0' - 52))) | (eq(c, C62) & 62) | (eq(c, C63) & 63);
    return x | (eq(x, 0) & (eq(c, 'A') ^ 0xFF));
}

static_assert(decode_char<'-', '_'>('A') == 0 && decode_char<'-', '_'>('_') == 63);
static_assert(decode_char<'-', '_'>('=') == 0xFF && decode_char<'-', '_'>('+') == 0xFF);
static_assert(encode_char<'-', '_'>(62) == '-' && encode_char<'+', '/'>(63) == '/');

template <unsigned C62, unsigned C63>
std::optional<std::size_t> decode_into(std::string_view in, std::span<std::uint8_t> out) noexcept {
    const auto size = base64url_decoded_size(in.size());
    if (!size || *size > out.size()) return std::nullopt;
    // A fixed-size chunk at a time, so that the compiler vectorises the
    // branch-free translation; a chunk is whole 4-character quanta.
    constexpr std::size_t chunk = 64;
    std::uint8_t* o = out.data();
    unsigned any = 0;    // OR of all values: 0xFF marks a bad character
    unsigned stray = 0;  // unused low bits of the last character
    for (std::size_t at = 0; at < in.size(); at += chunk) {
        const std::size_t n = std::min(chunk, in.size() - at);
        std::array<unsigned char, chunk> c;
        c.fill('A');  // decodes to 0: harmless padding
        std::memcpy(c.data(), in.data() + at, n);
        std::array<std::uint8_t, chunk> v;
        for (std::size_t i = 0; i < chunk; ++i) {
            v[i] = static_cast<std::uint8_t>(decode_char<C62, C63>(c[i]));
            any |= v[i];
        }
        std::size_t i = 0;
        for (; i + 4 <= n; i += 4, o += 3) {
            const std::uint32_t x =
                std::uint32_t{v[i]} << 18 | std::uint32_t{v[i + 1]} << 12 | std::uint32_t{v[i + 2]} << 6 | v[i + 3];
            o[0] = static_cast<std::uint8_t>(x >> 16);
            o[1] = static_cast<std::uint8_t>(x >> 8);
            o[2] = static_cast<std::uint8_t>(x);
        }
        // Only the last chunk can end in 2 or 3 characters (1 or 2 bytes);
        // their unused low bits must be zero, or two spellings would decode alike.
        if (n - i == 2) {
            *o++ = static_cast<std::uint8_t>(v[i] << 2 | v[i + 1] >> 4);
            stray = v[i + 1] & 0x0F;
        } else if (n - i == 3) {
            *o++ = static_cast<std::uint8_t>(v[i] << 2 | v[i + 1] >> 4);
            *o++ = static_cast<std::uint8_t>(v[i + 1] << 4 | v[i + 2] >> 2);
            stray = v[i + 2] & 0x03;
        }
    }
    if ((any & 0xC0) != 0 || stray != 0) {
        secure_wipe(out.first(*size));
        return std::nullopt;
    }
    return *size;
}

template <unsigned C62, unsigned C63>
std::optional<std::vector<std::uint8_t>> decode_vector(std::string_view in) {
    const auto size = base64url_decoded_size(in.size());
    if (!size) return std::nullopt;
    std::vector<std::uint8_t> out(*size);
    if (!decode_into<C62, C63>(in, out)) return std::nullopt;
    return out;
}

}  // namespace

void random_bytes(std::span<std::uint8_t> out) {
    while (!out.empty()) {
        const int n = static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX));
        if (RAND_bytes(out.data(), n) != 1) fail("RAND_bytes failed");
        out = out.subspan(static_cast<std::size_t>(n));
    }
}

sha256_digest sha256(bytes_view data) {
    sha256_digest out;
    sha256_state s;
    sha256_init(s);
    sha256_update(s, data.data(), data.size());
    sha256_final(s, out.data());
    secure_wipe(&s, sizeof s);  // what is hashed may be a secret
    return out;
}

secret_digest digest_secret(bytes_view secret) {
    const sha256_digest full = sha256(secret);
    secret_digest out;
    std::copy_n(full.begin(), out.bytes.size(), out.bytes.begin());
    return out;
}

sha256_digest hmac_sha256(bytes_view key, bytes_view data) {
    if (key.empty()) throw std::invalid_argument("hmac_sha256: empty key");
    thread_local hmac_cache cache;
    if (const hmac_key_state* prepared = cache.find_or_add(key)) return hmac_finish(*prepared, data);
    hmac_key_state once;
    hmac_prepare(key, once);
    const sha256_digest out = hmac_finish(once, data);
    secure_wipe(&once, sizeof once);
    return out;
}

bool equal_ct(bytes_view a, bytes_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::size_t base64url_encode(bytes_view in, std::span<char> out) noexcept {
    // Three bytes to four characters at a time, then the one or two left.
    std::size_t o = 0;
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3, o += 4) {
        const std::uint32_t x = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
        out[o] = encode_char<'-', '_'>(x >> 18);
        out[o + 1] = encode_char<'-', '_'>((x >> 12) & 0x3F);
        out[o + 2] = encode_char<'-', '_'>((x >> 6) & 0x3F);
        out[o + 3] = encode_char<'-', '_'>(x & 0x3F);
    }
    if (in.size() - i == 1) {
        out[o++] = encode_char<'-', '_'>(in[i] >> 2);
        out[o++] = encode_char<'-', '_'>((in[i] & 0x03) << 4);
    } else if (in.size() - i == 2) {
        const std::uint32_t x = std::uint32_t{in[i]} << 8 | in[i + 1];
        out[o++] = encode_char<'-', '_'>(x >> 10);
        out[o++] = encode_char<'-', '_'>((x >> 4) & 0x3F);
        out[o++] = encode_char<'-', '_'>((x & 0x0F) << 2);
    }
    return o;
}

std::string base64url_encode(bytes_view in) {
    std::string out(base64url_encoded_size(in.size()), '\0');
    base64url_encode(in, out);
    return out;
}

std::optional<std::size_t> base64url_decode(std::string_view in, std::span<std::uint8_t> out) noexcept {
    return decode_into<'-', '_'>(in, out);
}

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view in) {
    return decode_vector<'-', '_'>(in);
}

namespace {

// Standard base64 without its padding; padding, when present, must complete
// the last quantum exactly.
std::optional<std::string_view> unpadded(std::string_view in) {
    if (in.size() % 4 == 0 && in.ends_with('=')) {
        in.remove_suffix(in.ends_with("==") ? 2 : 1);
        if (in.empty()) return std::nullopt;  // nothing but padding
    }
    return in;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view in) {
    const auto body = unpadded(in);
    if (!body) return std::nullopt;
    return decode_vector<'+', '/'>(*body);
}

std::optional<secret_bytes> base64_decode_secret(std::string_view in) {
    const auto body = unpadded(in);
    if (!body) return std::nullopt;
    const auto size = base64url_decoded_size(body->size());
    if (!size) return std::nullopt;
    secret_bytes out(*size);
    if (!decode_into<'+', '/'>(*body, std::span(out.data(), out.size()))) return std::nullopt;
    return out;
}

}  // namespace sessiond::session
