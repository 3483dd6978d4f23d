#pragma once

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>  // std::exception_ptr, std::terminate
#include <type_traits>
#include <utility>

#include <duet/coro/concepts.hpp>
#include <duet/coro/detail/frame_cache.hpp>

namespace duet::inline v0 {

class async_scope;

namespace detail {

/// The detached coroutine spawn() wraps an awaitable in. It starts
/// suspended (so the scope counts it only once it exists), destroys its own
/// frame at its final suspend point and then reports to the scope.
class spawned_work {
public:
  class promise_type : public pooled_frame {
  public:
    spawned_work get_return_object() noexcept {
      return spawned_work{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept;
    void return_void() const noexcept {}
    void unhandled_exception() noexcept;

    async_scope* m_scope = nullptr;
  };

  std::coroutine_handle<promise_type> m_coro;
};

template <class A>
spawned_work spawn_work(A operand) {
  co_await std::move(operand);
}

}  // namespace detail

/// Owns detached work: `spawn()` starts an awaitable now and forgets it;
/// `join()` waits until everything spawned has finished. The server keeps one
/// per connection (and per request) so nothing outlives what it references.
///
/// - Thread-safety: `spawn()`, `pending()` and the completion of spawned work
///   may happen concurrently on any threads. At most one `join()` may be
///   waiting at a time.
/// - Destroying a scope with work outstanding calls `std::terminate()`: the
///   work would reference a dead scope. Await `join()` first.
class async_scope {
public:
  async_scope() noexcept = default;
  async_scope(const async_scope&) = delete;
  async_scope& operator=(const async_scope&) = delete;

  /// Terminates the program if spawned work has not finished.
  ~async_scope() {
    if (pending() != 0) std::terminate();
  }

  /// Starts `operand` now, on this thread, detached: it runs until it first
  /// suspends and then wherever its completion resumes it; spawn() returns
  /// once it has suspended or finished. The operand is moved (or copied) into
  /// a wrapper coroutine frame, the only allocation.
  ///
  /// Its result is discarded. An exception it throws is kept for `join()` if
  /// it is the first one since the last join; later ones are dropped.
  /// Throws only if allocating or moving the operand throws (then nothing
  /// was started or counted). If the operand finishes synchronously, only
  /// its own frames were on the stack: spawning in a loop does not recurse.
  template <class A>
    requires awaitable<std::decay_t<A>> && std::constructible_from<std::decay_t<A>, A &&>
  void spawn(A&& operand) {
    auto work = detail::spawn_work<std::decay_t<A>>(std::forward<A>(operand));
    work.m_coro.promise().m_scope = this;
    // relaxed: the increment only needs to be part of the RMW chain on
    // m_state; nothing else is published by it.
    m_state.fetch_add(one_pending, std::memory_order_relaxed);
    work.m_coro.resume();
  }

  /// An awaitable that completes once no spawned work is outstanding
  /// (immediately if none is), then rethrows the first exception spawned work
  /// threw since the last join (clearing it). It is resumed by the thread
  /// that finishes the last piece of work, inline. Work spawned (from another
  /// thread) before the count reaches zero is waited for too. The scope may be reused after join() completes.
  [[nodiscard]] auto join() noexcept {
    struct awaiter {
      async_scope& m_scope;

      [[nodiscard]] bool await_ready() const noexcept { return m_scope.pending() == 0; }

      bool await_suspend(std::coroutine_handle<> joiner) noexcept {
        m_scope.m_joiner = joiner;
        std::size_t state = m_scope.m_state.load(std::memory_order_acquire);
        // Raise the "joiner waiting" bit unless the count is already zero.
        // release publishes m_joiner to the work finishing last.
        do {
          if (state == 0) return false;
        } while (!m_scope.m_state.compare_exchange_weak(state, state | joiner_waiting, std::memory_order_acq_rel,
                                                       std::memory_order_acquire));
        return true;
      }

      void await_resume() const {
        if (m_scope.m_has_exception.load(std::memory_order_acquire)) {
          std::exception_ptr e = std::exchange(m_scope.m_exception, nullptr);
          m_scope.m_has_exception.store(false, std::memory_order_release);
          std::rethrow_exception(e);
        }
      }
    };
    return awaiter{*this};
  }

  /// How many spawned pieces of work have not finished (a snapshot).
  [[nodiscard]] std::size_t pending() const noexcept {
    return m_state.load(std::memory_order_acquire) / one_pending;
  }

private:
  friend class detail::spawned_work::promise_type;

  // m_state = pending * 2 + (joiner waiting ? 1 : 0).
  //
  //   work finishes: fetch_sub(2). If that left exactly 1 (nothing pending,
  //   joiner waiting), CAS 1 -> 0 and resume the joiner. The CAS, not a
  //   store, because a spawn on another thread may have slipped in between;
  //   then that work's completion resumes the joiner instead.
  //   join suspends: CAS the bit in only while the count is non-zero, so a
  //   joiner never waits on an empty scope.
  static constexpr std::size_t joiner_waiting = 1;
  static constexpr std::size_t one_pending = 2;

  /// Called by a spawned wrapper after destroying its frame; returns the
  /// handle to transfer to.
  std::coroutine_handle<> work_done() noexcept {
    // acq_rel: release publishes the work's effects (and a stored exception)
    // to the joiner; acquire pairs with the joiner's CAS so m_joiner is valid.
    std::size_t after = m_state.fetch_sub(one_pending, std::memory_order_acq_rel) - one_pending;
    if (after == joiner_waiting) {
      std::size_t expected = joiner_waiting;
      if (m_state.compare_exchange_strong(expected, 0, std::memory_order_acq_rel, std::memory_order_relaxed)) {
        return m_joiner;
      }
    }
    return std::noop_coroutine();
  }

  void record_exception(std::exception_ptr e) noexcept {
    bool expected = false;
    // Only the first failure since the last join is kept. The claimant
    // writes m_exception before its own work_done() (release), and join
    // reads it only after the count reached zero (acquire), so relaxed is
    // enough here.
    if (m_has_exception.compare_exchange_strong(expected, true, std::memory_order_relaxed)) {
      m_exception = std::move(e);
    }
  }

  std::atomic<std::size_t> m_state{0};
  std::coroutine_handle<> m_joiner;
  std::atomic<bool> m_has_exception{false};
  std::exception_ptr m_exception;
};

inline auto detail::spawned_work::promise_type::final_suspend() const noexcept {
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
      async_scope* scope = self.promise().m_scope;
      // Free the frame before reporting: once the count drops, the joiner may
      // destroy the scope (and whatever the frame's operand referenced).
      self.destroy();
      return scope->work_done();
    }
    void await_resume() const noexcept {}
  };
  return final_awaiter{};
}

inline void detail::spawned_work::promise_type::unhandled_exception() noexcept {
  m_scope->record_exception(std::current_exception());
}

}  // namespace duet::inline v0
