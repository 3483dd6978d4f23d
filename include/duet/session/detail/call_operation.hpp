#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/coro/detail/frame_cache.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace duet::inline v0::detail {

class session_core;
struct stream_channel;

/// Encodes a call's arguments (an object its caller owns) into a request's
/// payload. Type-erased, so that admitting, encoding and sending a call is
/// compiled once, not once per method signature.
using argument_encoder = void (*)(const void* arguments, byte_writer& out);

/// One request out and its end back, with no types: a call's state from
/// the moment it is awaited to the moment its caller resumes. It lives in
/// the calling coroutine's frame (a call, or each attempt of a retried
/// call), so a call costs the session no allocation; the call table points
/// at it while its request is out.
///
/// Lifecycle (every path ends in the session's `finish` or `complete`, or in
/// `end_now` before the session saw it, exactly once):
///
///     created --acquire--> admitted --send--> waiting --response--> done
///        |                    ^                  |----deadline----> done
///        |--table full--> queued                 |----conn lost---> done
///        |--closed------------------------------------------------> done
///
/// A call with a stop token ends exactly once too: a response and a stop
/// request (from any thread) race to claim its single resumption
/// (`resumption_claimed`); a stop that wins posts the call's canceller to
/// the loop, which ends the call there and resumes the caller.
///
/// The public fields are the session's (admission, encoding, routing); the
/// stop path is the call's own.
class call_operation : public timer_node {
 public:
  call_operation() = default;
  call_operation(const call_operation&) = delete;
  call_operation& operator=(const call_operation&) = delete;

  session_core* session = nullptr;
  std::coroutine_handle<> waiter;
  std::uint32_t id = 0;
  status_code code = status_code::ok;
  bool done = false;
  std::string message;        // why, when code is not ok
  const_buffer payload;       // the response payload; valid only while the reader resumes us
  call_operation* next_queued = nullptr;
  std::uint32_t method = 0;   // the request to send once admitted
  argument_encoder encode = nullptr;
  const void* arguments = nullptr;
  bool cancellable = false;   // a stop token may claim the resumption
  std::atomic<bool> resumption_claimed{false};
  const metadata* request_metadata = nullptr;  // sent with the request; null or empty: none
  metadata* response_metadata = nullptr;       // receives the response's metadata, when set
  std::string_view idempotency_key;            // sent as duet-idempotency-key when not empty
  // Its request, queued or being written, sends long byte runs straight
  // from the arguments: they must be copied if the call ends first.
  bool sends_from_arguments = false;
  // A caller's stream (stream_table.hpp): its request opens the stream, and
  // the stream, not `waiter`, hears how the call ended.
  stream_channel* stream = nullptr;

  /// Ends the call before it started; for an `await_ready` that returns
  /// this (true: nothing to wait for).
  bool end_now(status_code c, const char* why) {
    code = c;
    message = why;
    done = true;
    return true;
  }

  /// Called by the session as the caller suspends with a `stop` token that
  /// can be stopped: arms the stop path. A stop request then claims the
  /// resumption and posts the canceller, which calls `end(*this)` on the
  /// loop (the session's cancel_call: it ends the call and returns the
  /// waiter) and resumes what that returns.
  void arm_stop(event_loop& loop, const std::stop_token& stop, std::coroutine_handle<> (*end)(call_operation&));

  /// As the caller resumes: waits for a stop callback running on another
  /// thread right now (it lost the race, or it posted the canceller, which
  /// resumed us), after which nothing else touches the call.
  void settle() noexcept {
    m_stop_callback.reset();
    m_canceller.reset();
  }

 private:
  // A suspended coroutine that the stop callback posts to the loop: it ends
  // the call there and hands control to the call's caller. Its frame comes
  // from the frame cache.
  class canceller {
   public:
    struct promise_type : pooled_frame {
      std::coroutine_handle<> m_then;
      canceller get_return_object() noexcept {
        return canceller(std::coroutine_handle<promise_type>::from_promise(*this));
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

    canceller() noexcept = default;
    canceller(canceller&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
    canceller& operator=(canceller&& other) noexcept {
      if (this != &other) {
        reset();
        m_coro = std::exchange(other.m_coro, {});
      }
      return *this;
    }
    ~canceller() { reset(); }

    [[nodiscard]] std::coroutine_handle<> handle() const noexcept { return m_coro; }
    void reset() noexcept {
      if (m_coro) std::exchange(m_coro, {}).destroy();
    }

   private:
    explicit canceller(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}
    std::coroutine_handle<promise_type> m_coro;
  };

  // Ends the call and records whom to resume at the final suspend point.
  struct cancel_step {
    call_operation& call;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<canceller::promise_type> self) const {
      self.promise().m_then = call.m_end_stopped(call);
      return false;  // go straight on to the final suspend point
    }
    void await_resume() const noexcept {}
  };

  static canceller cancel_on_loop(call_operation& call);

  // Any thread: claims the call's resumption, then lets the loop end it.
  struct stop_handler {
    call_operation* self;
    void operator()() const noexcept {
      if (self->resumption_claimed.exchange(true, std::memory_order_acq_rel)) return;
      self->m_loop->post(self->m_canceller.handle());  // throws only out of memory: terminates
    }
  };

  event_loop* m_loop = nullptr;
  std::coroutine_handle<> (*m_end_stopped)(call_operation&) = nullptr;
  canceller m_canceller;
  std::optional<std::stop_callback<stop_handler>> m_stop_callback;
};

/// Whether whoever ends `call` now may resume its waiter: always, unless the
/// call can be stopped and a stop request claimed the resumption first.
[[nodiscard]] inline bool claim_resumption(call_operation& call) noexcept {
  return !call.cancellable || !call.resumption_claimed.exchange(true, std::memory_order_acq_rel);
}

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE call_operation::canceller call_operation::cancel_on_loop(call_operation& call) {
  co_await cancel_step{call};
}

DUET_INLINE void call_operation::arm_stop(event_loop& loop, const std::stop_token& stop,
                                          std::coroutine_handle<> (*end)(call_operation&)) {
  cancellable = true;
  m_loop = &loop;
  m_end_stopped = end;
  m_canceller = cancel_on_loop(*this);
  // May run at once if the token was stopped meanwhile: it only posts.
  m_stop_callback.emplace(stop, stop_handler{this});
}

}  // namespace duet::inline v0::detail
#endif
