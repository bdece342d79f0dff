#pragma once
// Keeping secrets out of places they could leak from: wiping buffers that
// held them, key material on pages that a core dump leaves out
// (MADV_DONTDUMP) and that are kept out of swap where the kernel allows
// (mlock, best effort), and a process that cannot be dumped or traced by
// its own user (PR_SET_DUMPABLE 0).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sessiond {

// Overwrites memory in a way the compiler cannot elide (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;
inline void secure_wipe(std::span<std::uint8_t> s) noexcept {
    secure_wipe(s.data(), s.size());
}
// Wipes the characters and empties the string. (What a string left behind
// in buffers it outgrew is beyond reach: build secrets at their final size.)
inline void secure_wipe(std::string& s) noexcept {
    secure_wipe(s.data(), s.size());
    s.clear();
}

// --- pages for key material ---------------------------------------------

// Whole pages from mmap, marked MADV_DONTDUMP and mlock'd; wiped and
// unmapped when freed. A refused mlock (RLIMIT_MEMLOCK) is not an error:
// the pages stay out of core dumps and the first errno is kept for one
// warning at start (secure_memory_lock_error). Throws std::bad_alloc.
void* secure_allocate(std::size_t bytes);
void secure_deallocate(void* p, std::size_t bytes) noexcept;

// The errno of the first refused mlock, or 0 if every one succeeded.
int secure_memory_lock_error() noexcept;

// An allocator over secure_allocate: one mapping per allocation, so meant for
// long-lived key material (a few keys, a password), never a request path.
template <class T>
struct secure_allocator {
    using value_type = T;
    secure_allocator() noexcept = default;
    template <class U>
    secure_allocator(const secure_allocator<U>& /*other*/) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(secure_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { secure_deallocate(p, n * sizeof(T)); }

    template <class U>
    friend bool operator==(const secure_allocator& /*a*/, const secure_allocator<U>& /*b*/) noexcept {
        return true;
    }
};

// --- buffers that wipe themselves -----------------------------------------

// A secret held in one heap buffer from Alloc (never inline in the object,
// as a short std::string would be), wiped when destroyed, cleared or
// overwritten. A copy is a second buffer of the same kind that wipes itself
// too; a move hands the buffer over and leaves this one empty.
template <class T, class Alloc = std::allocator<T>>
class basic_secret {
    static_assert(sizeof(T) == 1 && std::is_trivially_copyable_v<T>);

public:
    using value_type = T;

    basic_secret() = default;
    explicit basic_secret(const Alloc& alloc) : data_(alloc) {}
    // `size` zero bytes, to be filled through data() (a decoder, an RNG).
    explicit basic_secret(std::size_t size, const Alloc& alloc = Alloc()) : data_(size, T{}, alloc) {}
    explicit basic_secret(std::span<const T> bytes, const Alloc& alloc = Alloc())
        : data_(bytes.begin(), bytes.end(), alloc) {}

    basic_secret(const basic_secret& other) : data_(other.data_) {}
    basic_secret(basic_secret&& other) noexcept : data_(std::move(other.data_)) { other.data_.clear(); }
    basic_secret& operator=(const basic_secret& other) {
        if (this != &other) assign(other.view());
        return *this;
    }
    basic_secret& operator=(basic_secret&& other) noexcept {
        if (this != &other) {
            wipe();
            data_ = std::move(other.data_);
            other.data_.clear();
        }
        return *this;
    }
    ~basic_secret() { wipe(); }

    // Replaces the content; the old one is wiped first.
    void assign(std::span<const T> bytes) {
        wipe();
        data_.clear();
        data_.shrink_to_fit();
        data_.assign(bytes.begin(), bytes.end());
    }
    void clear() noexcept {
        wipe();
        data_.clear();
    }

    std::span<const T> view() const noexcept { return {data_.data(), data_.size()}; }
    T* data() noexcept { return data_.data(); }
    const T* data() const noexcept { return data_.data(); }
    std::size_t size() const noexcept { return data_.size(); }
    bool empty() const noexcept { return data_.empty(); }

private:
    void wipe() noexcept { secure_wipe(data_.data(), data_.size()); }

    std::vector<T, Alloc> data_;
};

// Long-lived key material: token keys, the user index key.
using secret_bytes = basic_secret<std::uint8_t, secure_allocator<std::uint8_t>>;
// A short-lived buffer that only needs wiping (no page of its own).
using wiped_bytes = basic_secret<std::uint8_t>;

// A long-lived secret text (a Redis password) on secure pages, usable where
// a string_view is expected. Converts from strings so that configuration
// structs can hold one in place of a std::string; a std::string moved in is
// wiped after the copy.
class secret_string {
public:
    secret_string() = default;
    secret_string(std::string_view s) : chars_(std::span<const char>(s.data(), s.size())) {}
    secret_string(const char* s) : secret_string(std::string_view(s)) {}
    secret_string(const std::string& s) : secret_string(std::string_view(s)) {}
    secret_string(std::string&& s) : secret_string(std::string_view(s)) { secure_wipe(s); }

    std::string_view view() const noexcept { return {chars_.data(), chars_.size()}; }
    operator std::string_view() const noexcept { return view(); }
    std::size_t size() const noexcept { return chars_.size(); }
    bool empty() const noexcept { return chars_.empty(); }
    void clear() noexcept { chars_.clear(); }

    // Constant time for equal sizes (CRYPTO_memcmp).
    friend bool operator==(const secret_string& a, std::string_view b) noexcept;

private:
    basic_secret<char, secure_allocator<char>> chars_;
};

// A fixed-size secret value (a token secret, a derived secret): an
// std::array of bytes that wipes itself when it goes. Copies wipe
// themselves too.
template <std::size_t N>
struct secret_array : std::array<std::uint8_t, N> {
    secret_array() noexcept : std::array<std::uint8_t, N>{} {}
    secret_array(const secret_array&) = default;
    secret_array& operator=(const secret_array&) = default;
    ~secret_array() { secure_wipe(this->data(), N); }
};

// --- the process ------------------------------------------------------------

// PR_SET_DUMPABLE 0: no core dump, and neither ptrace nor /proc/<pid>/mem
// for processes of the same user without CAP_SYS_PTRACE. Returns false if the
// kernel refused.
bool make_undumpable() noexcept;
// PR_GET_DUMPABLE != 0.
bool is_dumpable() noexcept;

}  // namespace sessiond
