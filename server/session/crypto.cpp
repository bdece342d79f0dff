#include "session/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace sessiond::session {
namespace {

template <auto Free>
struct openssl_deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
using md_ptr = std::unique_ptr<EVP_MD, openssl_deleter<EVP_MD_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_deleter<EVP_MD_CTX_free>>;
using mac_ptr = std::unique_ptr<EVP_MAC, openssl_deleter<EVP_MAC_free>>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, openssl_deleter<EVP_MAC_CTX_free>>;

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL: ") + what);
}

// Algorithms are fetched once: an implicit fetch per call (EVP_sha256(),
// one-shot HMAC()) takes a lock and searches the provider store every time.
// Fetching initialises OpenSSL first, so these statics are destroyed before
// OpenSSL's own atexit cleanup.
const EVP_MD* sha256_md() {
    static const md_ptr md = [] {
        md_ptr p{EVP_MD_fetch(nullptr, "SHA2-256", nullptr)};
        if (!p) fail("SHA2-256 unavailable");
        return p;
    }();
    return md.get();
}

// One context per thread, reinitialised per call, so hashing allocates
// nothing after the first call on a thread.
EVP_MD_CTX* digest_ctx() {
    thread_local const md_ctx_ptr ctx = [] {
        md_ctx_ptr p{EVP_MD_CTX_new()};
        if (!p) fail("EVP_MD_CTX_new");
        return p;
    }();
    return ctx.get();
}

mac_ctx_ptr new_hmac_ctx() {
    static const mac_ptr mac = [] {
        mac_ptr p{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
        if (!p) fail("HMAC unavailable");
        return p;
    }();
    mac_ctx_ptr p{EVP_MAC_CTX_new(mac.get())};
    char digest[] = "SHA2-256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!p || EVP_MAC_CTX_set_params(p.get(), params) != 1) fail("HMAC context");
    return p;
}

// Keying an HMAC context (hashing the key into the inner and outer pads)
// costs as much as the MAC itself, and a server uses very few keys: the
// signing key, the user index key, perhaps an old token key. So each thread
// keeps a few keyed contexts and re-initialises one with a NULL key, which
// restarts it with the key already set (crypto_test checks that keys never
// mix). Entries are matched by
// key content (a copy on the thread's key-material page, wiped on thread
// exit), never by address, so a keyring rebuilt at the same address with
// other keys cannot hit a stale entry.
class hmac_cache {
public:
    static constexpr std::size_t slots = 4;
    static constexpr std::size_t max_cached_key = 256;

    EVP_MAC_CTX* keyed(bytes_view key) {
        if (key.size() > max_cached_key) {
            if (!uncached_) uncached_ = new_hmac_ctx();
            init(uncached_.get(), key.data(), key.size());
            return uncached_.get();
        }
        for (std::size_t i = 0; i < slots; ++i)
            if (entries_[i].ctx && equal_ct(key, bytes_view(key_at(i), entries_[i].key_size))) {
                init(entries_[i].ctx.get(), nullptr, 0);
                return entries_[i].ctx.get();
            }
        const std::size_t i = next_++ % slots;
        entry& e = entries_[i];
        if (!e.ctx) e.ctx = new_hmac_ctx();
        e.key_size = 0;  // not a valid entry until keyed
        init(e.ctx.get(), key.data(), key.size());
        std::copy(key.begin(), key.end(), key_at(i));
        e.key_size = key.size();
        return e.ctx.get();
    }

private:
    struct entry {
        mac_ctx_ptr ctx;
        std::size_t key_size = 0;
    };

    std::uint8_t* key_at(std::size_t slot) { return keys_.data() + slot * max_cached_key; }

    static void init(EVP_MAC_CTX* ctx, const std::uint8_t* key, std::size_t size) {
        if (EVP_MAC_init(ctx, key, size, nullptr) != 1) fail("HMAC init");
    }

    std::array<entry, slots> entries_;
    secret_bytes keys_{slots * max_cached_key};  // one page for the slots' keys
    mac_ctx_ptr uncached_;
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
    unsigned int len = 0;
    EVP_MD_CTX* ctx = digest_ctx();
    if (EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) != 1 || EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size())
        fail("SHA-256 failed");
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
    sha256_digest out;
    std::size_t len = 0;
    thread_local hmac_cache cache;
    EVP_MAC_CTX* ctx = cache.keyed(key);
    if (EVP_MAC_update(ctx, data.data(), data.size()) != 1 || EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 ||
        len != out.size())
        fail("HMAC-SHA-256 failed");
    return out;
}

bool equal_ct(bytes_view a, bytes_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::size_t base64url_encode(bytes_view in, std::span<char> out) noexcept {
    std::size_t o = 0;
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const std::uint8_t b : in) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = encode_char<'-', '_'>((acc >> bits) & 0x3F);
        }
    }
    if (bits > 0) out[o++] = encode_char<'-', '_'>((acc << (6 - bits)) & 0x3F);
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
