#pragma once

#include <duet/coro/detail/frame_cache.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/retry_policy.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <stop_token>
#include <utility>

namespace duet::inline v0::detail {

/// A uniform draw from [0, 1) for backoff jitter: a per-thread splitmix64
/// sequence seeded from the clock and the thread's own state address, so
/// that clients started together draw differently. Not for cryptography.
[[nodiscard]] inline double jitter_unit() noexcept {
  thread_local std::uint64_t state = 0;
  if (state == 0) {
    state = static_cast<std::uint64_t>(clock::now().time_since_epoch().count()) ^
            static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&state));
    state |= 1;
  }
  std::uint64_t z = (state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

/// Registered with a session (`session_core::track`, id 0, which no cancel
/// frame names) while a retried call waits between attempts: the end of
/// the connection cuts the wait short through `wake`.
struct wake_on_close : running_request {
  std::stop_source* wake;
  explicit wake_on_close(std::stop_source& source) noexcept : wake(&source) { on_cancel = &fire; }
  static void fire(running_request& r) noexcept { static_cast<wake_on_close&>(r).wake->request_stop(); }
};

/// The coroutine that runs a call's attempts when its retry policy applies
/// (`call_awaitable` starts it; its frame comes from the frame cache, so a
/// retrying call allocates nothing more in steady state). Lazy; when it ends
/// it hands control straight to the call's caller, which is resumed by
/// nothing else: the call ends exactly once.
class retry_driver {
 public:
  struct promise_type : pooled_frame {
    std::coroutine_handle<> m_caller;
    std::exception_ptr m_failure;
    retry_driver get_return_object() noexcept {
      return retry_driver(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct to_caller {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          return self.promise().m_caller;
        }
        void await_resume() const noexcept {}
      };
      return to_caller{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { m_failure = std::current_exception(); }
  };

  retry_driver() noexcept = default;
  retry_driver(retry_driver&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
  retry_driver& operator=(retry_driver&& other) noexcept {
    if (this != &other) {
      reset();
      m_coro = std::exchange(other.m_coro, {});
    }
    return *this;
  }
  ~retry_driver() { reset(); }

  /// Starts the attempts: returns the handle to transfer to, after which
  /// `caller` is resumed once the call is over.
  [[nodiscard]] std::coroutine_handle<> start(std::coroutine_handle<> caller) noexcept {
    m_coro.promise().m_caller = caller;
    return m_coro;
  }

  /// Rethrows what escaped the attempts (only allocation failure can).
  void rethrow_failure() const {
    if (m_coro && m_coro.promise().m_failure) std::rethrow_exception(m_coro.promise().m_failure);
  }

  void reset() noexcept {
    if (m_coro) std::exchange(m_coro, {}).destroy();
  }

 private:
  explicit retry_driver(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}
  std::coroutine_handle<promise_type> m_coro;
};

}  // namespace duet::inline v0::detail
