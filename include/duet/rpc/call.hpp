#pragma once

#include <duet/codec/codec.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/rpc/retry.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/detail/connection_slot.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0 {

namespace detail {
/// Encodes a std::tuple<Args...> of a call's or notification's arguments;
/// the session calls it through `argument_encoder`.
template <class... Args>
void encode_argument_tuple(const void* arguments, byte_writer& out) {
  std::apply([&out](const Args&... a) { duet::encode(out, a...); }, *static_cast<const std::tuple<Args...>*>(arguments));
}
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

  static call_canceller on_loop(session_core& core, pending_call& call) {
    co_await cancel_step{core, call};
  }

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


/// What the attempts of a retried call need from it, without its types, so
/// that the retry loop is compiled once rather than once per signature.
struct retry_plan {
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
  // attempt ends (the payload views the reader's buffer); ok, or why not.
  status (*accept)(void* call, const_buffer payload) = nullptr;
  void* call = nullptr;
  status outcome;  // how the call ended; ok means `accept` stored its value
};

/// One attempt of a retried call: an exchange on `core` (null: no
/// connection, so `unavailable`) that ends by `deadline` or the plan's stop
/// token. Yields the ended call; its payload is valid until the awaiter
/// next suspends.
class retry_attempt {
 public:
  retry_attempt(session_core* core, const retry_plan& plan, std::optional<time_point> deadline) noexcept
      : m_core(core), m_plan(plan), m_deadline(deadline) {}
  retry_attempt(const retry_attempt&) = delete;
  retry_attempt& operator=(const retry_attempt&) = delete;

  bool await_ready() {
    m_call.request_metadata = m_plan.request_metadata;
    m_call.idempotency_key = m_plan.idempotency_key;
    // The last attempt's response metadata is the call's.
    if (m_plan.response_metadata != nullptr) m_plan.response_metadata->clear();
    m_call.response_metadata = m_plan.response_metadata;
    if (m_plan.stop.stop_requested()) return end(status_code::cancelled, "the call was cancelled");
    if (m_core == nullptr) {
      return end(status_code::unavailable, "the client has no connection right now (it is reconnecting)");
    }
    return m_core->start_call(m_call, m_deadline, m_plan.method, m_plan.encode, m_plan.arguments);
  }
  void await_suspend(std::coroutine_handle<> awaiting) {
    m_core->suspend_call(m_call, awaiting);
    if (m_plan.stop.stop_possible()) {
      m_call.cancellable = true;
      m_canceller = call_canceller::on_loop(*m_core, m_call);
      m_stop_callback.emplace(m_plan.stop, stop_handler{this});
    }
  }
  pending_call& await_resume() {
    m_stop_callback.reset();
    m_canceller.reset();
    return m_call;
  }

 private:
  bool end(status_code code, const char* why) {
    m_call.code = code;
    m_call.message = why;
    m_call.done = true;
    return true;
  }

  // As call_awaitable's: claims the resumption, then lets the loop end it.
  struct stop_handler {
    retry_attempt* self;
    void operator()() const noexcept {
      if (self->m_call.resumption_claimed.exchange(true, std::memory_order_acq_rel)) return;
      self->m_core->loop().post(self->m_canceller.handle());
    }
  };

  session_core* m_core;
  const retry_plan& m_plan;
  std::optional<time_point> m_deadline;
  pending_call m_call;
  call_canceller m_canceller;
  std::optional<std::stop_callback<stop_handler>> m_stop_callback;
};

/// Runs the attempts of `plan` until one succeeds, fails with a code the
/// policy does not retry, or the attempts, the deadline or the stop token
/// run out; leaves the outcome in `plan.outcome` (and a success's value in
/// the call, through `plan.accept`).
inline retry_driver run_attempts(retry_plan& plan) {
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
      pending_call& ended = co_await one;
      outcome = ended.code == status_code::ok ? plan.accept(plan.call, ended.payload)
                                              : status(ended.code, std::move(ended.message));
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
    const auto forward = [&wake]() noexcept { wake.request_stop(); };
    const std::stop_callback<decltype(forward)> on_stop(plan.stop, forward);
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

}  // namespace detail

/// What `client::call` and `client::try_call` return: one call, not yet
/// made. Awaiting it makes the call and yields the method's result (`call`:
/// `R`, throwing `duet::rpc_error` when the call ends with a status) or a
/// `duet::result<R>` (`try_call`).
///
/// Lazy like a task: nothing is sent until it is awaited, and it is awaited
/// once. It is an awaitable, not a coroutine: the call's state (its slot in
/// the call table, its deadline, its arguments) lives inside it, so in the
/// awaiting coroutine's frame, and a call costs no frame of its own. It
/// converts to `duet::task<T>` where a task is wanted (a vector of calls for
/// `when_all`), at the cost of one coroutine frame.
///
/// With a retry policy (given by the client only when the method is
/// idempotent or the call has an idempotency key), awaiting runs the
/// attempts in a `detail::retry_driver` coroutine: each attempt is a call of
/// its own that borrows these arguments, so nothing is copied per attempt.
///
/// Movable until awaited; the client it came from must outlive the awaiting.
/// A call on a reconnecting client goes to the connection that is current
/// when it is awaited (and fails at once with `unavailable` when there is
/// none); otherwise to the client's one connection.
template <class R, bool Throws, class... Args>
class [[nodiscard]] call_awaitable {
  static_assert(!detail::borrows_input<R>,
                "duet::client: a call's result outlives the response's bytes, so it must own its data: declare "
                "the method's result as std::string or std::vector<std::byte> on the calling side (the wire "
                "form is the same as std::string_view's or std::span's, which a server may return)");

 public:
  /// What `co_await` yields.
  using value_type = std::conditional_t<Throws, R, result<R>>;

  /// A call of `method_name` to `target` that passes through `interceptors`
  /// (may be null: none), which must outlive the awaiting, and is tried
  /// again by `retry` (may be null: never; copied) when it fails. The
  /// interceptors see the call once, not each attempt.
  call_awaitable(detail::call_target target, const detail::client_interceptor_list* interceptors,
                 std::string_view method_name, const call_options& options, std::uint32_t method,
                 const retry_policy* retry, Args... args)
      : m_core(target.core), m_slot(target.slot), m_options(options), m_method(method),
        m_arguments(std::move(args)...), m_method_name(method_name) {
    m_hooks.list = interceptors;
    if (retry != nullptr && retry->max_attempts > 1) m_retry.emplace().policy = *retry;
  }

  // Moving a call that is under way would move its slot in the call table.
  call_awaitable(call_awaitable&& other) noexcept(std::is_nothrow_move_constructible_v<std::tuple<Args...>>)
      : m_core(other.m_core), m_slot(other.m_slot), m_options(other.m_options), m_method(other.m_method),
        m_arguments(std::move(other.m_arguments)), m_retry(other.m_retry), m_method_name(other.m_method_name) {
    m_hooks.list = other.m_hooks.list;
  }
  call_awaitable(const call_awaitable&) = delete;
  call_awaitable& operator=(const call_awaitable&) = delete;
  call_awaitable& operator=(call_awaitable&&) = delete;
  ~call_awaitable() = default;

  bool await_ready() {
    if (m_options.response_metadata != nullptr) {
      m_options.response_metadata->clear();
      m_call.response_metadata = m_options.response_metadata;
    }
    m_call.request_metadata = &m_options.metadata;  // sent only when not empty
    m_call.idempotency_key = m_options.idempotency_key;
    if (m_hooks.installed() && intercept_before()) return true;
    if (m_options.stop.stop_requested()) {
      m_call.code = status_code::cancelled;
      m_call.message = "the call was cancelled before it was sent";
      m_call.done = true;
      return true;
    }
    // The attempts start in await_suspend, each on the connection current then.
    if (m_retry) return false;
    if (m_slot != nullptr && (m_core = m_slot->current) == nullptr) {
      m_call.code = status_code::unavailable;
      m_call.message = "the client has no connection right now (it is reconnecting)";
      m_call.done = true;
      return true;
    }
    return m_core->start_call(m_call, m_options.effective_deadline(), m_method, &detail::encode_argument_tuple<Args...>,
                              &m_arguments);
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
    if (m_retry) {
      detail::retry_plan& plan = *m_retry;
      plan.core = m_slot != nullptr ? nullptr : m_core;
      plan.slot = m_slot;
      plan.method = m_method;
      plan.encode = &detail::encode_argument_tuple<Args...>;
      plan.arguments = &m_arguments;
      plan.request_metadata = &m_options.metadata;
      plan.idempotency_key = m_options.idempotency_key;
      plan.response_metadata = m_call.response_metadata;
      plan.stop = m_options.stop;
      plan.deadline = m_options.effective_deadline();
      plan.accept = &accept_attempt;
      plan.call = this;
      m_driver = detail::run_attempts(plan);
      return m_driver.start(awaiting);
    }
    m_core->suspend_call(m_call, awaiting);
    if (m_options.stop.stop_possible()) {
      m_call.cancellable = true;
      m_canceller = detail::call_canceller::on_loop(*m_core, m_call);
      // May run at once if the token was stopped meanwhile: it only posts.
      m_stop_callback.emplace(m_options.stop, stop_handler{this});
    }
    return std::noop_coroutine();
  }
  value_type await_resume() {
    // Waits for a stop callback running on another thread right now (it
    // lost the race or has posted the canceller, which resumed us).
    m_stop_callback.reset();
    m_canceller.reset();
    if (m_hooks.ran != 0) return intercepted_outcome();
    return outcome();
  }

  /// The same call as a task (one coroutine frame), for APIs that take tasks.
  operator task<value_type>() && { return as_task(std::move(*this)); }

 private:
  static task<value_type> as_task(call_awaitable self) { co_return co_await self; }

  // A successful attempt's payload, decoded into m_retried_value as the
  // attempt ends (the payload views the reader's buffer).
  static status accept_attempt(void* call, const_buffer payload) {
    auto& self = *static_cast<call_awaitable*>(call);
    if constexpr (std::is_void_v<R>) {
      if (!payload.empty()) return status(status_code::internal, "the response to a void method carried a payload");
    } else {
      R value{};
      if (!duet::decode_all(payload, value)) {
        return status(status_code::internal, "the response does not decode as the method's result type");
      }
      self.m_retried_value.emplace(std::move(value));
    }
    (void)self;
    return status{};
  }

  value_type retried_outcome() {
    m_driver.rethrow_failure();
    m_driver.reset();
    status& ended = m_retry->outcome;
    if (!ended.ok()) return fail(std::move(ended));
    if constexpr (std::is_void_v<R>) {
      if constexpr (!Throws) return result<void>();
    } else {
      return std::move(*m_retried_value);
    }
  }

  // Called as the awaiter resumes; after a response, m_call.payload views
  // the reader's buffer, so the result is decoded here, before anything else
  // runs.
  value_type outcome() {
    if (m_retry && m_retry->accept != nullptr) return retried_outcome();  // the attempts ran
    if (m_call.code != status_code::ok) return fail(status(m_call.code, std::move(m_call.message)));
    if constexpr (std::is_void_v<R>) {
      // A void method's response carries no payload; anything else is a
      // peer that disagrees about the signature.
      if (!m_call.payload.empty()) {
        return fail(status(status_code::internal, "the response to a void method carried a payload"));
      }
      if constexpr (!Throws) return result<void>();
    } else {
      R value{};
      if (!duet::decode_all(m_call.payload, value)) {
        return fail(status(status_code::internal, "the response does not decode as the method's result type"));
      }
      return value;
    }
  }

  [[nodiscard]] outgoing_call describe() noexcept {
    return outgoing_call{m_method_name, m_method, m_options.metadata, m_options};
  }

  // The interceptors' before hooks; true when one ended the call.
  [[gnu::noinline]] bool intercept_before() {
    // The after hooks see the response's metadata even when the caller
    // does not ask for it.
    if (m_call.response_metadata == nullptr) m_call.response_metadata = &m_response_metadata;
    outgoing_call call = describe();
    status verdict = m_hooks.before(call);
    if (verdict.ok()) return false;
    m_call.code = verdict.code();
    m_call.message = verdict.message();
    m_call.done = true;
    return true;
  }

  // outcome(), with the interceptors' after hooks told how it ended.
  [[gnu::noinline]] value_type intercepted_outcome() {
    outgoing_call call = describe();
    const metadata& response = *m_call.response_metadata;
    if constexpr (Throws) {
      try {
        if constexpr (std::is_void_v<R>) {
          outcome();
          m_hooks.after(call, status{}, response);
          return;
        } else {
          R value = outcome();
          m_hooks.after(call, status{}, response);
          return value;
        }
      } catch (const rpc_error& e) {
        m_hooks.after(call, e.status(), response);
        throw;
      }
    } else {
      value_type r = outcome();
      m_hooks.after(call, r.has_value() ? status{} : r.error(), response);
      return r;
    }
  }

  static value_type fail(status s) {
    if constexpr (Throws) {
      throw rpc_error(std::move(s));
    } else {
      return value_type(std::move(s));
    }
  }

  // Any thread: claims the call's resumption, then lets the loop end it.
  struct stop_handler {
    call_awaitable* self;
    void operator()() const noexcept {
      if (self->m_call.resumption_claimed.exchange(true, std::memory_order_acq_rel)) return;
      self->m_core->loop().post(self->m_canceller.handle());  // throws only out of memory: terminates
    }
  };

  detail::session_core* m_core;
  const detail::connection_slot* m_slot;  // a reconnecting client's: m_core is read from it when awaited
  call_options m_options;
  std::uint32_t m_method;
  std::tuple<Args...> m_arguments;
  std::optional<detail::retry_plan> m_retry;  // set only when the call may be retried
  detail::retry_driver m_driver;
  // A retried call's value, stored by accept_attempt (void: unused).
  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> m_retried_value;
  detail::pending_call m_call;
  detail::call_canceller m_canceller;
  std::optional<std::stop_callback<stop_handler>> m_stop_callback;
  std::string_view m_method_name;
  detail::interception<detail::client_interceptor_list> m_hooks;
  metadata m_response_metadata;  // for the interceptors when the caller gives no response_metadata
};

}  // namespace duet::inline v0
