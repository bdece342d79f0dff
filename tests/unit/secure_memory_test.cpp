// Secrets in memory: buffers wipe themselves, key material is on pages left
// out of core dumps, secret files leave nothing behind.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/sanitizers.hpp"
#include "common/secret_file.hpp"
#include "common/secure_memory.hpp"
#include "session/crypto.hpp"
#include "session/keyring.hpp"
#include "support/process.hpp"

using namespace sessiond;

namespace {

using test::mlock_is_real;

// What the watching allocator saw of each buffer it freed: whether the
// bytes were all zero at that moment.
std::vector<bool>& freed_zeroed() {
    static std::vector<bool> seen;
    return seen;
}

// Storage the test controls: on deallocate, records whether the buffer
// still held anything, then frees it.
template <class T>
struct watching_allocator {
    using value_type = T;
    watching_allocator() = default;
    template <class U>
    watching_allocator(const watching_allocator<U>& /*other*/) {}
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(p);
        freed_zeroed().push_back(std::all_of(bytes, bytes + n * sizeof(T), [](unsigned char c) { return c == 0; }));
        std::allocator<T>().deallocate(p, n);
    }
    template <class U>
    friend bool operator==(const watching_allocator& /*a*/, const watching_allocator<U>& /*b*/) {
        return true;
    }
};

using watched_secret = basic_secret<char, watching_allocator<char>>;

std::span<const char> chars(std::string_view s) {
    return {s.data(), s.size()};
}

// The VmFlags of the mapping of /proc/self/smaps that holds `p`, or "" if
// none does.
std::string vm_flags_of(const void* p) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        unsigned long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find('-')) {
            inside = at >= lo && at < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8);
    }
    return "";
}

bool has_flag(const std::string& flags, const std::string& flag) {
    std::istringstream in(flags);
    std::string f;
    while (in >> f)
        if (f == flag) return true;
    return false;
}

}  // namespace

TEST_CASE("the watching allocator sees a buffer that was not wiped") {
    // The control for the tests below: without a wipe, the secret is still
    // in the buffer when it is freed.
    freed_zeroed().clear();
    { std::vector<char, watching_allocator<char>> plain{'k', 'e', 'y'}; }
    REQUIRE(freed_zeroed() == std::vector<bool>{false});
}

TEST_CASE("a secret buffer is zero when its storage is freed: destruction, clear, move, assignment") {
    freed_zeroed().clear();
    SECTION("destroyed") {
        { watched_secret s(chars("token key material")); }
        CHECK(freed_zeroed() == std::vector<bool>{true});
    }
    SECTION("cleared, then destroyed") {
        watched_secret s(chars("token key material"));
        s.clear();
        CHECK(s.empty());
        s = watched_secret();  // frees the wiped buffer
        CHECK(freed_zeroed() == std::vector<bool>{true});
    }
    SECTION("move-assigned over: the old content is wiped before it is freed") {
        watched_secret a(chars("old key material"));
        watched_secret b(chars("new key material"));
        a = std::move(b);
        CHECK(freed_zeroed() == std::vector<bool>{true});
        CHECK(std::string_view(a.data(), a.size()) == "new key material");
        CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    }
    SECTION("moved from: the buffer changes hands, no copy is left to free") {
        watched_secret a(chars("key material"));
        const char* data = a.data();
        watched_secret b(std::move(a));
        CHECK(b.data() == data);
        CHECK(freed_zeroed().empty());
    }
    SECTION("assigned new content and copy-assigned") {
        watched_secret a(chars("first key material"));
        a.assign(chars("second"));
        CHECK(freed_zeroed() == std::vector<bool>{true});
        const watched_secret c(chars("third"));
        a = c;
        CHECK(freed_zeroed() == std::vector<bool>{true, true});
        CHECK(std::string_view(a.data(), a.size()) == "third");
    }
    CHECK(std::find(freed_zeroed().begin(), freed_zeroed().end(), false) == freed_zeroed().end());
}

TEST_CASE("a secret array is zero once destroyed; a plain one is not") {
    alignas(secret_array<32>) unsigned char storage[sizeof(secret_array<32>)];
    auto* plain = new (storage) std::array<std::uint8_t, 32>;
    plain->fill(0xA5);
    // Trivially destroyed: nothing to run. The control: the bytes stay.
    CHECK(std::count(storage, storage + sizeof storage, 0xA5) == 32);

    auto* secret = new (storage) secret_array<32>;
    CHECK(std::count(storage, storage + sizeof storage, 0) == 32);  // starts zeroed
    secret->fill(0x5A);
    CHECK(std::count(storage, storage + sizeof storage, 0x5A) == 32);
    secret->~secret_array<32>();
    CHECK(std::count(storage, storage + sizeof storage, 0) == 32);
}

TEST_CASE("key material lives on its own pages, left out of core dumps and locked when allowed") {
    const secret_bytes key(std::vector<std::uint8_t>(48, 7));
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    CHECK(reinterpret_cast<std::uintptr_t>(key.view().data()) % page == 0);
    const std::string flags = vm_flags_of(key.view().data());
    INFO("VmFlags:" << flags);
    REQUIRE(!flags.empty());
    CHECK(has_flag(flags, "dd"));  // MADV_DONTDUMP
    if (mlock_is_real && secure_memory_lock_error() == 0) CHECK(has_flag(flags, "lo"));

    // A plain heap buffer is not marked: the check above can fail.
    const std::vector<std::uint8_t> heap(48, 7);
    CHECK_FALSE(has_flag(vm_flags_of(heap.data()), "dd"));

    // The keyring's keys are on such pages.
    const auto k = session::keyring::parse("1:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0xMjM=",
                                           "dXNlci1pbmRleC1rZXktdXNlci1pbmRleC1rZXktMTIzNDU2Nzg=");
    CHECK(has_flag(vm_flags_of(k.signing_key().data()), "dd"));
}

TEST_CASE("a secret string converts from strings, wipes a moved-in one and compares by content") {
    std::string from = "redis-password-long-enough-for-the-heap";
    const secret_string s(std::move(from));
    CHECK(from.empty());  // NOLINT(bugprone-use-after-move): wiped and cleared by contract
    CHECK(s == "redis-password-long-enough-for-the-heap");
    CHECK_FALSE(s == "redis-password-long-enough-for-the-hea");
    CHECK(std::string_view(s) == "redis-password-long-enough-for-the-heap");
    const secret_string copy = s;  // a second secure buffer
    CHECK(copy.view().data() != s.view().data());
    CHECK(has_flag(vm_flags_of(s.view().data()), "dd"));
    CHECK(secret_string().empty());
}

TEST_CASE("base64_decode_secret decodes like base64_decode, into key-material pages") {
    for (std::string_view in : {"a2V5", "a2V5bWF0ZXJpYWw=", "a2V5bWF0ZXJpYWwx", "a2V5bWF0ZXJpYQ=="}) {
        INFO(in);
        const auto plain = session::base64_decode(in);
        const auto secret = session::base64_decode_secret(in);
        REQUIRE(plain);
        REQUIRE(secret);
        CHECK(std::vector<std::uint8_t>(secret->view().begin(), secret->view().end()) == *plain);
    }
    CHECK_FALSE(session::base64_decode_secret("a2V5bWF0ZXJpYWx="));  // stray low bits: not canonical
    CHECK_FALSE(session::base64_decode_secret("===="));
    CHECK_FALSE(session::base64_decode_secret("a2V*"));
}

TEST_CASE("read_secret_file reads a file larger than its chunk, without its trailing line breaks") {
    test::temp_dir dir;
    std::string content;
    for (int i = 0; content.size() < 10'000; ++i)
        content += "line " + std::to_string(i) + ";";
    {
        std::ofstream(dir.file("big")) << content << "\r\n\n";
        std::ofstream(dir.file("empty"));
    }
    auto read = read_secret_file(dir.file("big"));
    REQUIRE(read);
    CHECK(*read == content);
    auto empty = read_secret_file(dir.file("empty"));
    REQUIRE(empty);
    CHECK(empty->empty());
    auto missing = read_secret_file(dir.file("missing"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == boost::system::errc::no_such_file_or_directory);
}

TEST_CASE("make_undumpable clears the process's dumpable flag") {
    REQUIRE(make_undumpable());
    CHECK_FALSE(is_dumpable());
}
