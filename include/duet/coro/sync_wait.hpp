#pragma once

#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <type_traits>
#include <utility>

#include <duet/coro/concepts.hpp>
#include <duet/coro/detail/promise_result.hpp>

namespace duet::inline v0 {

namespace detail {

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

}  // namespace detail

/// Blocks the calling thread until `a` completes and returns its result, or
/// rethrows the exception it completed with.
///
/// - `a` is started on the calling thread; it may complete on any thread
///   (e.g. an event loop's), which then wakes this one.
/// - Returns `T` when `co_await a` yields `T` or `T&&` (moved out, so
///   move-only results work), `T&` when it yields `T&`, nothing for void.
/// - Never call it from a thread that must run for `a` to complete (such as
///   the only thread driving the event loop `a` waits on): that deadlocks.
/// - Thread-safe: any number of threads may sync_wait concurrently.
template <awaitable A>
auto sync_wait(A&& a) -> detail::stored_result_t<await_result_t<A>> {
  using result_type = detail::stored_result_t<await_result_t<A>>;
  auto wrapper = detail::make_sync_wait_task<result_type>(static_cast<A&&>(a));
  wrapper.run_and_wait();
  if constexpr (std::is_void_v<result_type> || std::is_reference_v<result_type>) {
    return wrapper.promise().result();
  } else {
    return std::move(wrapper.promise()).result();
  }
}

}  // namespace duet::inline v0
