#include "common/secure_memory.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <cerrno>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace sessiond {
namespace {

std::atomic<int> first_lock_error{0};

std::size_t page_size() noexcept {
    static const std::size_t size = [] {
        const long n = ::sysconf(_SC_PAGESIZE);
        return n > 0 ? static_cast<std::size_t>(n) : std::size_t{4096};
    }();
    return size;
}

std::size_t whole_pages(std::size_t bytes) noexcept {
    const std::size_t page = page_size();
    return bytes == 0 ? page : (bytes + page - 1) / page * page;
}

}  // namespace

void secure_wipe(void* p, std::size_t n) noexcept {
    if (n != 0) OPENSSL_cleanse(p, n);
}

void* secure_allocate(std::size_t bytes) {
    if (bytes > static_cast<std::size_t>(-1) - page_size()) throw std::bad_alloc();
    const std::size_t length = whole_pages(bytes);
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    // Not in a core dump even where the process is dumpable (a debug build,
    // a core_pattern that pipes dumps of non-dumpable processes to root).
    (void)::madvise(p, length, MADV_DONTDUMP);
    if (::mlock(p, length) != 0) {
        int expected = 0;
        first_lock_error.compare_exchange_strong(expected, errno != 0 ? errno : EPERM);
    }
    return p;
}

void secure_deallocate(void* p, std::size_t bytes) noexcept {
    if (p == nullptr) return;
    const std::size_t length = whole_pages(bytes);
    secure_wipe(p, length);
    (void)::munlock(p, length);  // fails harmlessly if the lock was refused
    (void)::munmap(p, length);
}

int secure_memory_lock_error() noexcept {
    return first_lock_error.load(std::memory_order_relaxed);
}

bool operator==(const secret_string& a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    return b.empty() || CRYPTO_memcmp(a.view().data(), b.data(), b.size()) == 0;
}

bool make_undumpable() noexcept {
    return ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
}

bool is_dumpable() noexcept {
    return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) > 0;
}

}  // namespace sessiond
