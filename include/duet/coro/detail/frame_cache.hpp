#pragma once

#include <duet/config.hpp>

#include <cstddef>
#include <new>

// AddressSanitizer: cached frames are poisoned, so a use after the coroutine
// was destroyed is still reported although the memory was not freed.
#if defined(__SANITIZE_ADDRESS__)
#define DUET_DETAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DUET_DETAIL_ASAN 1
#endif
#endif
#if defined(DUET_DETAIL_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace duet::inline v0::detail {

/// Recycles coroutine frames on the thread that frees them.
///
/// Every call is a coroutine, so without this each call would cost one heap
/// allocation for its frame. Frames of the same size class go back onto a
/// per-thread free list when their coroutine is destroyed and are handed out
/// again to the next coroutine of that class: after warm-up, a steady stream
/// of calls allocates nothing. A frame freed on another thread than the one
/// that made it simply joins that thread's cache.
///
/// Bounded: frames over `largest_cached` bytes, and frames freed while the
/// thread already caches `max_cached_bytes`, go straight back to the global
/// allocator; a thread's cache is emptied when the thread ends.
///
/// Define DUET_NO_FRAME_CACHE to allocate every frame with the global
/// operator new (heap profilers then see each frame).
class frame_cache {
  // Blocks go back through the unsized ::operator delete: clang 16 does not
  // declare the sized one unless -fsized-deallocation is given.
 public:
  static constexpr std::size_t granularity = 64;
  static constexpr std::size_t largest_cached = 4096;
  static constexpr std::size_t max_cached_bytes = std::size_t{8} << 20;

  [[nodiscard]] static void* allocate(std::size_t size) {
#if !defined(DUET_NO_FRAME_CACHE)
    if (size <= largest_cached) {
      lists& l = thread_lists();
      const std::size_t c = size_class(size);
      if (free_block* b = l.heads[c]) {
#if defined(DUET_DETAIL_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(b, class_bytes(c));
#endif
        l.heads[c] = b->next;
        l.cached_bytes -= class_bytes(c);
        return b;
      }
      // Rounded up, so that the block can serve any frame of its class.
      return ::operator new(class_bytes(c));
    }
#endif
    return ::operator new(size);
  }

  static void deallocate(void* p, std::size_t size) noexcept {
#if !defined(DUET_NO_FRAME_CACHE)
    if (size <= largest_cached) {
      lists& l = thread_lists();
      const std::size_t c = size_class(size);
      if (l.open && l.cached_bytes + class_bytes(c) <= max_cached_bytes) {
        ensure_drained_at_thread_exit();
        auto* b = static_cast<free_block*>(p);
        b->next = l.heads[c];
        l.heads[c] = b;
        l.cached_bytes += class_bytes(c);
#if defined(DUET_DETAIL_ASAN)
        ASAN_POISON_MEMORY_REGION(b, class_bytes(c));
#endif
        return;
      }
      ::operator delete(p);
      return;
    }
#endif
    ::operator delete(p);
  }

 private:
  static constexpr std::size_t class_count = largest_cached / granularity;

  struct free_block {
    free_block* next;
  };

  // Trivially destructible, so that it stays usable while other thread-local
  // objects are destroyed at thread exit (their frames then bypass the cache).
  struct lists {
    free_block* heads[class_count];
    std::size_t cached_bytes;
    bool open;
  };

  // Empties the cache when the thread ends and closes it to later frees.
  struct drain_at_exit {
    ~drain_at_exit();
  };

  static constexpr std::size_t size_class(std::size_t size) noexcept {
    return size == 0 ? 0 : (size - 1) / granularity;
  }
  static constexpr std::size_t class_bytes(std::size_t c) noexcept { return (c + 1) * granularity; }

  static lists& thread_lists() noexcept {
    thread_local lists l{{}, 0, true};
    return l;
  }

  // Registered by the first frame a thread caches: threads that never cache
  // one pay nothing at exit.
  static void ensure_drained_at_thread_exit() {
    thread_local drain_at_exit hook;
    (void)hook;
  }
};

/// Gives a promise type pooled frames: `struct promise_type : pooled_frame`.
struct pooled_frame {
  [[nodiscard]] static void* operator new(std::size_t size) { return frame_cache::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_cache::deallocate(p, size); }
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE frame_cache::drain_at_exit::~drain_at_exit() {
  lists& l = thread_lists();
  l.open = false;
  for (std::size_t c = 0; c < class_count; ++c) {
    while (free_block* b = l.heads[c]) {
#if defined(DUET_DETAIL_ASAN)
      ASAN_UNPOISON_MEMORY_REGION(b, class_bytes(c));
#endif
      l.heads[c] = b->next;
      ::operator delete(b);
    }
  }
  l.cached_bytes = 0;
}

}  // namespace duet::inline v0::detail
#endif
