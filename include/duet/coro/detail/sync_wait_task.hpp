#pragma once

#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <type_traits>
#include <utility>

#include <duet/coro/detail/promise_result.hpp>

// The coroutine sync_wait runs its awaitable in, and the signal that wakes
// the blocked thread.

namespace duet::inline v0::detail {

/// The blocking side of sync_wait. It lives on the waiting thread's stack, not
/// in the coroutine frame, so the completing thread never touches memory the
/// waiter might already have freed: it signals under the mutex, and the
/// waiter cannot return (and destroy this) before the mutex is released.
struct sync_wait_signal {
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_done = false;

  void set() noexcept {
    std::lock_guard lock(m_mutex);
    m_done = true;
    m_cv.notify_one();
  }

  void wait() noexcept {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return m_done; });
  }
};

template <class R>
class sync_wait_task {
public:
  class promise_type : public promise_result<R> {
  public:
    sync_wait_task get_return_object() noexcept {
      return sync_wait_task{std::coroutine_handle<promise_type>::from_promise(*this)};
    }

    std::suspend_always initial_suspend() const noexcept { return {}; }

    auto final_suspend() const noexcept {
      struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        // Suspended first, then signalled: the waiter may destroy the frame as
        // soon as set() releases the mutex.
        void await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          self.promise().m_signal->set();
        }
        void await_resume() const noexcept {}
      };
      return final_awaiter{};
    }

    sync_wait_signal* m_signal = nullptr;
  };

  sync_wait_task(sync_wait_task&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
  sync_wait_task& operator=(sync_wait_task&&) = delete;
  ~sync_wait_task() {
    if (m_coro) m_coro.destroy();
  }

  /// Runs the coroutine on this thread until it first suspends, then blocks
  /// until it completes (wherever that happens).
  void run_and_wait() {
    sync_wait_signal signal;
    m_coro.promise().m_signal = &signal;
    m_coro.resume();
    signal.wait();
  }

  promise_type& promise() noexcept { return m_coro.promise(); }

private:
  explicit sync_wait_task(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}
  std::coroutine_handle<promise_type> m_coro;
};

template <class R, class A>
sync_wait_task<R> make_sync_wait_task(A&& awaitable_) {
  // A is a reference to an object on sync_wait's stack, which outlives this
  // coroutine (sync_wait blocks until it completes).
  if constexpr (std::is_void_v<R>) {
    co_await static_cast<A&&>(awaitable_);
  } else {
    co_return co_await static_cast<A&&>(awaitable_);
  }
}

}  // namespace duet::inline v0::detail
