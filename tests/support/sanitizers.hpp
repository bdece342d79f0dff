#pragma once
// What the sanitizers' runtimes change in the process under test.

namespace sessiond::test {

// ASan's and TSan's runtimes replace mlock with a no-op that reports success.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool mlock_is_real = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool mlock_is_real = false;
#else
inline constexpr bool mlock_is_real = true;
#endif
#else
inline constexpr bool mlock_is_real = true;
#endif

}  // namespace sessiond::test
