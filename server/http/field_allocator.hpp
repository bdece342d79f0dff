#pragma once
// The allocator of request and response header fields: each field, the
// request target and the method are one small allocation, a dozen per
// request, all freed when the exchange ends. A thread hands them out from
// free lists of its own, most recently freed first, so the next request
// reuses memory that is still in the cache (the general allocator hands
// out other blocks first, and each of those reads missed the cache).

#include <array>
#include <cstddef>
#include <new>

namespace sessiond::http {

namespace detail {

// Under AddressSanitizer every block comes from the general allocator, so
// that a field used after its message is gone is still caught.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool pool_fields = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool pool_fields = false;
#else
inline constexpr bool pool_fields = true;
#endif
#else
inline constexpr bool pool_fields = true;
#endif

// Free blocks of 64, 128, 256 and 512 bytes, at most `keep` of each size
// (the rest go back to the general allocator); larger requests go there
// directly. A block freed on another thread joins that thread's lists.
class field_pool {
public:
    static constexpr std::size_t classes = 4;
    static constexpr std::size_t smallest = 64;
    static constexpr std::size_t keep = 256;

    // Blocks of this thread's free list of `bytes`' size class (for tests).
    static std::size_t kept(std::size_t bytes) { return local().count_[class_of(bytes)]; }

    field_pool() noexcept { state() = live; }
    ~field_pool() {
        state() = gone;
        for (auto* head : free_)
            while (head) {
                node* next = head->next;
                ::operator delete(head);
                head = next;
            }
    }
    field_pool(const field_pool&) = delete;
    field_pool& operator=(const field_pool&) = delete;

    static void* take(std::size_t bytes) {
        const std::size_t c = pool_fields ? class_of(bytes) : classes;
        if (c == classes) return ::operator new(bytes);
        if (state() == gone) return ::operator new(size_of(c));
        return local().pop(c);
    }
    static void give(void* p, std::size_t bytes) noexcept {
        const std::size_t c = pool_fields ? class_of(bytes) : classes;
        if (c == classes || state() == gone) {
            ::operator delete(p);
            return;
        }
        local().push(c, p);
    }

private:
    struct node {
        node* next;
    };

    static constexpr std::size_t size_of(std::size_t c) { return smallest << c; }
    static std::size_t class_of(std::size_t bytes) noexcept {
        std::size_t c = 0;
        while (c < classes && bytes > size_of(c))
            ++c;
        return c;
    }
    // Whether this thread's pool is yet to be made, is there, or is gone
    // (a message destroyed during thread exit): the general allocator then.
    enum pool_state : unsigned char { unmade, live, gone };
    static pool_state& state() noexcept {
        thread_local pool_state s = unmade;
        return s;
    }
    static field_pool& local() {
        thread_local field_pool pool;
        return pool;
    }

    void* pop(std::size_t c) {
        if (node* n = free_[c]) {
            free_[c] = n->next;
            --count_[c];
            return n;
        }
        return ::operator new(size_of(c));
    }
    void push(std::size_t c, void* p) noexcept {
        if (count_[c] == keep) {
            ::operator delete(p);
            return;
        }
        free_[c] = new (p) node{free_[c]};
        ++count_[c];
    }

    std::array<node*, classes> free_{};
    std::array<std::size_t, classes> count_{};
};

}  // namespace detail

template <class T>
struct field_allocator {
    using value_type = T;

    field_allocator() noexcept = default;
    template <class U>
    field_allocator(const field_allocator<U>& /*other*/) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(detail::field_pool::take(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { detail::field_pool::give(p, n * sizeof(T)); }

    template <class U>
    friend bool operator==(const field_allocator& /*a*/, const field_allocator<U>& /*b*/) noexcept {
        return true;
    }
};

}  // namespace sessiond::http
