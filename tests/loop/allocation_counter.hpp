#pragma once

// Counts heap allocations made by the current thread between start() and
// stop(). Include from exactly one test file per executable, which then
// replaces the global operator new (the definitions below are that file's);
// other files of the same executable define
// DUET_TEST_ALLOCATION_COUNTER_ELSEWHERE before including it.

#include <cstddef>
#include <cstdlib>
#include <new>

// AddressSanitizer and ThreadSanitizer both replace operator new
// themselves, so counting is off under either.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DUET_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DUET_TEST_SANITIZED 1
#endif
#endif

namespace duet_test {

struct allocation_counter {
  /// False under AddressSanitizer or ThreadSanitizer, which own operator new: the counting
  /// tests then skip.
#if defined(DUET_TEST_SANITIZED)
  static constexpr bool available = false;
#else
  static constexpr bool available = true;
#endif

  static inline thread_local bool counting = false;
  static inline thread_local std::size_t count = 0;

  static void start() noexcept {
    count = 0;
    counting = true;
  }
  static std::size_t stop() noexcept {
    counting = false;
    return count;
  }
};

}  // namespace duet_test

#if !defined(DUET_TEST_SANITIZED) && !defined(DUET_TEST_ALLOCATION_COUNTER_ELSEWHERE)

// g++ 12 flags free() on memory from a replaced operator new as a mismatch
// once both are inlined; they match by construction here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  if (duet_test::allocation_counter::counting) ++duet_test::allocation_counter::count;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

#endif  // !DUET_TEST_SANITIZED
