#pragma once

#include <atomic>
#include <cassert>
#include <coroutine>

namespace duet::inline v0 {

/// A manual-reset event that one coroutine at a time can await: the building
/// block that hands a completion to one suspended coroutine.
///
/// - `co_await ev` completes immediately if the event is set; otherwise it
///   suspends until `set()` is called, and is resumed inline by the thread
///   calling `set()` (inside that call).
/// - The event stays set until `reset()`.
/// - At most one coroutine may be waiting at once (precondition, asserted).
/// - `set()`, `is_set()` and awaiting are thread-safe with respect to each
///   other; `reset()` must not race with `set()` if the outcome matters (it
///   does not disturb a waiting coroutine).
/// - The event must outlive any coroutine suspended on it. Not copyable or
///   movable (a waiter holds its address).
class async_event {
public:
  /// An unset event, or a set one if `initially_set`.
  explicit async_event(bool initially_set = false) noexcept : m_state(initially_set ? set_state() : nullptr) {}

  async_event(const async_event&) = delete;
  async_event& operator=(const async_event&) = delete;

  /// Sets the event. If a coroutine is waiting it is resumed on this thread
  /// before set() returns. Setting a set event does nothing.
  void set() noexcept {
    // acq_rel: release publishes what the setter wrote before set() to the
    // waiter; acquire makes the waiter's handle (written with release in
    // await_suspend) valid to resume here.
    void* previous = m_state.exchange(set_state(), std::memory_order_acq_rel);
    if (previous != nullptr && previous != set_state()) {
      std::coroutine_handle<>::from_address(previous).resume();
    }
  }

  /// Makes a set event unset; does nothing if it is unset (with or without a
  /// waiter).
  void reset() noexcept {
    void* expected = set_state();
    m_state.compare_exchange_strong(expected, nullptr, std::memory_order_relaxed);
  }

  /// True if the event is set. Acquire: after seeing `true`, whatever the
  /// setter wrote before set() is visible.
  [[nodiscard]] bool is_set() const noexcept { return m_state.load(std::memory_order_acquire) == set_state(); }

  /// Awaiting completes once the event is set; yields nothing, never throws.
  [[nodiscard]] auto operator co_await() noexcept {
    struct awaiter {
      async_event& m_event;

      [[nodiscard]] bool await_ready() const noexcept { return m_event.is_set(); }

      bool await_suspend(std::coroutine_handle<> waiting) noexcept {
        void* expected = nullptr;
        // Release publishes the handle for set(); on failure the event was
        // set meanwhile (acquire, as in is_set()) and we do not suspend.
        if (m_event.m_state.compare_exchange_strong(expected, waiting.address(), std::memory_order_release,
                                                    std::memory_order_acquire)) {
          return true;
        }
        assert(expected == m_event.set_state() && "duet::async_event: only one coroutine may wait at a time");
        return false;
      }

      void await_resume() const noexcept {}
    };
    return awaiter{*this};
  }

private:
  // m_state is one of:
  //   nullptr      unset, nobody waiting
  //   this         set (the address of the event itself is never a frame)
  //   other        unset, the waiting coroutine's handle address
  void* set_state() const noexcept { return const_cast<async_event*>(this); }

  std::atomic<void*> m_state;
};

}  // namespace duet::inline v0
