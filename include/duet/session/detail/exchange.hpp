#pragma once

#include <duet/config.hpp>

#include <duet/coro/detail/frame_cache.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <stop_token>
#include <utility>

namespace duet::inline v0::detail {

/// A suspended coroutine that a call's stop callback posts to the loop: it
/// ends the call there (`session_core::cancel_call`) and hands control to
/// the call's caller. Its frame comes from the frame cache.
class call_canceller {
 public:
  struct promise_type : pooled_frame {
    std::coroutine_handle<> m_then;
    call_canceller get_return_object() noexcept {
      return call_canceller(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct to_caller {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          const std::coroutine_handle<> then = self.promise().m_then;
          return then ? then : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
      };
      return to_caller{};
    }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };

  call_canceller() noexcept = default;
  call_canceller(call_canceller&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
  call_canceller& operator=(call_canceller&& other) noexcept {
    if (this != &other) {
      reset();
      m_coro = std::exchange(other.m_coro, {});
    }
    return *this;
  }
  ~call_canceller() { reset(); }

  [[nodiscard]] std::coroutine_handle<> handle() const noexcept { return m_coro; }
  void reset() noexcept {
    if (m_coro) std::exchange(m_coro, {}).destroy();
  }

  static call_canceller on_loop(session_core& core, pending_call& call);

 private:
  explicit call_canceller(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}

  // Ends the call and records whom to resume at the final suspend point.
  struct cancel_step {
    session_core& core;
    pending_call& call;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<promise_type> self) const {
      self.promise().m_then = core.cancel_call(call);
      return false;  // go straight on to the final suspend point
    }
    void await_resume() const noexcept {}
  };

  std::coroutine_handle<promise_type> m_coro;
};

/// One request out and its end back, with no types: the call's slot in the
/// call table and the path by which a stop token ends it. A call and each
/// attempt of a retried call is one exchange; the call ends exactly once,
/// because a response and a stop request race to claim its single
/// resumption (`pending_call::resumption_claimed`) and only the winner
/// resumes the caller.
class exchange {
 public:
  exchange() = default;
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  [[nodiscard]] pending_call& call() noexcept { return m_call; }

  /// Ends the exchange before it started; for an `await_ready` that returns
  /// this (true: nothing to wait for).
  bool end_now(status_code code, const char* why) {
    m_call.code = code;
    m_call.message = why;
    m_call.done = true;
    return true;
  }

  /// After `core.start_call` said the call waits: hands `awaiting` to the
  /// call table and, when `stop` can be stopped, arms the stop path.
  void suspend(session_core& core, std::coroutine_handle<> awaiting, const std::stop_token& stop);

  /// As the caller resumes: waits for a stop callback running on another
  /// thread right now (it lost the race, or it posted the canceller, which
  /// resumed us), after which nothing else touches the exchange.
  void settle() noexcept {
    m_stop_callback.reset();
    m_canceller.reset();
  }

 private:
  // Any thread: claims the call's resumption, then lets the loop end it.
  struct stop_handler {
    exchange* self;
    void operator()() const noexcept {
      if (self->m_call.resumption_claimed.exchange(true, std::memory_order_acq_rel)) return;
      self->m_core->loop().post(self->m_canceller.handle());  // throws only out of memory: terminates
    }
  };

  session_core* m_core = nullptr;
  pending_call m_call;
  call_canceller m_canceller;
  std::optional<std::stop_callback<stop_handler>> m_stop_callback;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE call_canceller call_canceller::on_loop(session_core& core, pending_call& call) {
  co_await cancel_step{core, call};
}

DUET_INLINE void exchange::suspend(session_core& core, std::coroutine_handle<> awaiting, const std::stop_token& stop) {
  m_core = &core;
  core.suspend_call(m_call, awaiting);
  if (stop.stop_possible()) {
    m_call.cancellable = true;
    m_canceller = call_canceller::on_loop(core, m_call);
    // May run at once if the token was stopped meanwhile: it only posts.
    m_stop_callback.emplace(stop, stop_handler{this});
  }
}

}  // namespace duet::inline v0::detail
#endif
