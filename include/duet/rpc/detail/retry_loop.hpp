#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/coro/detail/frame_cache.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/rpc/retry_policy.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <string_view>
#include <utility>

namespace duet::inline v0::detail {

/// A uniform draw from [0, 1) for backoff jitter: a per-thread splitmix64
/// sequence seeded from the clock and the thread's own state address, so
/// that clients started together draw differently. Not for cryptography.
[[nodiscard]] DUET_INLINE double jitter_unit() noexcept;

/// Registered with a session (`session_core::track`, id 0, which no cancel
/// frame names) while a retried call waits between attempts: the end of
/// the connection cuts the wait short through `wake`.
struct wake_on_close : running_request {
  std::stop_source* wake;
  explicit wake_on_close(std::stop_source& source) noexcept : wake(&source) { on_cancel = &fire; }
  static void fire(running_request& r) noexcept { static_cast<wake_on_close&>(r).wake->request_stop(); }
};

/// Passes a call's stop request on to the wait between its attempts. A named
/// type, not a lambda: it is a field of `run_attempts`'s coroutine frame,
/// which must have linkage where that function is not inline.
struct stop_forwarder {
  std::stop_source* wake;
  void operator()() const noexcept { wake->request_stop(); }
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

/// What the attempts of a retried call need from it, without its types, so
/// that the retry loop is compiled once rather than once per signature.
/// Made only for a call that may be retried, from the frame cache
/// (`pooled_frame`), so that a call awaitable holds just a pointer to it.
struct retry_plan : pooled_frame {
  explicit retry_plan(const retry_policy& p) : policy(p) {}

  retry_policy policy;
  session_core* core = nullptr;           // a client over one connection's
  const connection_slot* slot = nullptr;  // a reconnecting client's: read per attempt
  std::uint32_t method = 0;
  argument_encoder encode = nullptr;
  const void* arguments = nullptr;
  const metadata* request_metadata = nullptr;
  std::string_view idempotency_key;
  metadata* response_metadata = nullptr;
  std::stop_token stop;
  std::optional<time_point> deadline;  // the call's, over every attempt
  // Decodes a successful attempt's payload into the typed call, as the
  // attempt ends (the payload views the reader's buffer); null, or why it
  // could not (an `internal` failure).
  const char* (*accept)(void* call, const_buffer payload) = nullptr;
  void* call = nullptr;
  status outcome;  // how the call ended; ok means `accept` stored its value
};

/// One attempt of a retried call: a call operation on `core` (null: no
/// connection, so `unavailable`) that ends by `deadline` or the plan's stop
/// token. Yields the ended call; its payload is valid until the awaiter
/// next suspends.
class retry_attempt {
 public:
  retry_attempt(session_core* core, const retry_plan& plan, std::optional<time_point> deadline) noexcept
      : m_core(core), m_plan(plan), m_deadline(deadline) {}
  retry_attempt(const retry_attempt&) = delete;
  retry_attempt& operator=(const retry_attempt&) = delete;

  bool await_ready();
  void await_suspend(std::coroutine_handle<> awaiting) { m_core->suspend_call(m_op, awaiting, m_plan.stop); }
  call_operation& await_resume() {
    m_op.settle();
    return m_op;
  }

 private:
  session_core* m_core;
  const retry_plan& m_plan;
  std::optional<time_point> m_deadline;
  call_operation m_op;
};

/// Runs the attempts of `plan` until one succeeds, fails with a code the
/// policy does not retry, or the attempts, the deadline or the stop token
/// run out; leaves the outcome in `plan.outcome` (and a success's value in
/// the call, through `plan.accept`).
DUET_INLINE retry_driver run_attempts(retry_plan& plan);

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE double jitter_unit() noexcept {
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

DUET_INLINE bool retry_attempt::await_ready() {
  call_operation& call = m_op;
  call.request_metadata = m_plan.request_metadata;
  call.idempotency_key = m_plan.idempotency_key;
  // The last attempt's response metadata is the call's.
  if (m_plan.response_metadata != nullptr) m_plan.response_metadata->clear();
  call.response_metadata = m_plan.response_metadata;
  if (m_plan.stop.stop_requested()) return m_op.end_now(status_code::cancelled, "the call was cancelled");
  if (m_core == nullptr) {
    return m_op.end_now(status_code::unavailable,
                              "the client has no connection right now (it is reconnecting)");
  }
  return m_core->start_call(call, m_deadline, m_plan.method, m_plan.encode, m_plan.arguments);
}

DUET_INLINE retry_driver run_attempts(retry_plan& plan) {
  const retry_policy& policy = plan.policy;
  const std::optional<time_point> deadline = plan.deadline;
  // A reconnecting client's attempts each go to the connection current
  // when they start; the loop is remembered from any of them.
  const connection_slot* slot = plan.slot;
  event_loop* loop = plan.core != nullptr ? &plan.core->loop() : nullptr;
  for (std::uint32_t n = 1;; ++n) {
    session_core* core = slot != nullptr ? slot->current : plan.core;
    if (core != nullptr) loop = &core->loop();
    std::optional<time_point> attempt_deadline = deadline;
    bool timed = false;  // this attempt's deadline is its own timeout, not the call's
    if (policy.attempt_timeout) {
      const time_point own = deadline_after(*policy.attempt_timeout);
      if (!deadline || own < *deadline) {
        attempt_deadline = own;
        timed = true;
      }
    }
    status outcome;
    {
      retry_attempt one(core, plan, attempt_deadline);
      call_operation& ended = co_await one;
      if (ended.code != status_code::ok) {
        outcome = status(ended.code, std::move(ended.message));
      } else if (const char* why = plan.accept(plan.call, ended.payload)) {
        outcome = status(status_code::internal, why);
      }
    }
    const status_code code = outcome.code();
    const bool again = code != status_code::ok && n < policy.max_attempts &&
                       (policy.retries(code) || (timed && code == status_code::deadline_exceeded));
    if (!again) {
      plan.outcome = std::move(outcome);
      co_return;
    }
    const duration wait = policy.backoff.delay(n, jitter_unit());
    // A wait that would end past the deadline cannot lead to a useful
    // attempt: end now, with what the last attempt said.
    if (deadline && (clock::now() >= *deadline || *deadline - clock::now() <= wait)) {
      plan.outcome = std::move(outcome);
      co_return;
    }
    // A client over one connection that has ended cannot carry another
    // attempt: end now too. (A reconnecting one may have a new connection
    // by the time the wait is over.)
    core = slot != nullptr ? nullptr : plan.core;
    if ((core != nullptr && !core->is_open()) || loop == nullptr) {
      plan.outcome = std::move(outcome);
      co_return;
    }
    // The wait ends early when the call is stopped or its one connection
    // ends (the stop state is this wait's only allocation).
    std::stop_source wake;
    const std::stop_callback<stop_forwarder> on_stop(plan.stop, stop_forwarder{&wake});
    wake_on_close on_close(wake);
    if (core != nullptr) core->track(on_close);
    const bool waited = co_await loop->sleep_for(wait, wake.get_token());
    if (core != nullptr) core->untrack(on_close);
    if (!waited) {
      plan.outcome = plan.stop.stop_requested() ? status(status_code::cancelled, "the call was cancelled between attempts")
                                                : std::move(outcome);  // the connection ended
      co_return;
    }
  }
}

}  // namespace duet::inline v0::detail
#endif
