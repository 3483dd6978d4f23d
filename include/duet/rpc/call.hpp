#pragma once

#include <duet/config.hpp>

#include <duet/codec/codec.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/rpc/detail/retry_loop.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/stream/stream.hpp>

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
/// Decodes a successful call operation's payload into the typed call `call`
/// (`call_awaitable::accept`): null, or why it could not.
using result_acceptor = const char* (*)(void* call, const_buffer payload);

/// The part of a client call that does not depend on its types: the
/// target, options, interceptors and retry plan, and the call operation itself.
/// `call_awaitable` wraps it with the arguments and the result, so the work
/// of starting, suspending and ending a call is compiled once per program
/// rather than once per call signature.
class untyped_call {
 public:
  /// `options` null: the defaults (copied only when given, so that a call
  /// without options costs nothing to set them up).
  untyped_call(call_target target, const client_interceptor_list* interceptors, std::string_view method_name,
               const call_options* options, std::uint32_t method, const retry_policy* retry);
  // Only before it is awaited: moving a call under way would move its slot
  // in the call table.
  untyped_call(untyped_call&& other) noexcept;
  untyped_call(const untyped_call&) = delete;
  untyped_call& operator=(const untyped_call&) = delete;
  untyped_call& operator=(untyped_call&&) = delete;
  ~untyped_call();

  /// `await_ready`: runs the interceptors' before hooks and starts the
  /// call operation; true when the call ended without waiting.
  bool ready(argument_encoder encode, const void* arguments);

  /// `await_suspend`: waits for the call operation, or starts the attempts of a
  /// retried call, which resume `awaiting` when they are over.
  std::coroutine_handle<> suspend(std::coroutine_handle<> awaiting, argument_encoder encode, const void* arguments,
                                  result_acceptor accept, void* typed_call);

  /// `await_resume`: true when the call succeeded and `accept` has taken
  /// its payload (which views the reader's buffer, so it is decoded here,
  /// before anything else runs); false when it failed: `failure()` says
  /// how. The interceptors' after hooks have seen the outcome.
  bool resume(result_acceptor accept, void* typed_call);

  /// Why the call failed, once `resume` said it did; taken once.
  [[nodiscard]] status failure();

 private:
  [[nodiscard]] outgoing_call describe() noexcept {
    call_options& own = own_options();
    return outgoing_call{m_method_name, m_method, own.metadata, own};
  }

  // The call's own options, which interceptors may add metadata to: the
  // caller's copy, made now from the defaults if the caller gave none.
  call_options& own_options();

  // The call's options: the caller's copy, or the defaults.
  [[nodiscard]] const call_options& options() const noexcept { return m_has_options ? m_options : no_call_options; }

  // The constructor's steps for a call with options, or one that may be
  // retried (out of line: most calls have neither).
  void adopt_options(const call_options& options);
  void plan_retries(const retry_policy& retry);

  // Whether the attempts of a retried call ran (and so hold the outcome).
  [[nodiscard]] bool retried() const noexcept { return m_retry && m_retry->accept != nullptr; }

  // resume(), for a retried call, a failed one or one with interceptors:
  // the outcome ends in the call operation's code and message either way.
  bool resume_otherwise(result_acceptor accept, void* typed_call);

  // The interceptors' before hooks; true when one ended the call.
  bool intercept_before();

  // suspend() for a retried call: starts its attempts.
  std::coroutine_handle<> start_attempts(std::coroutine_handle<> awaiting, argument_encoder encode,
                                         const void* arguments, result_acceptor accept, void* typed_call);

  // ready() for a call whose caller asked for the response's metadata:
  // empties the caller's, which the response fills.
  void receive_response_metadata();

  // ready() for a call with options, interceptors or retries, or on a
  // reconnecting client.
  bool ready_in_general(argument_encoder encode, const void* arguments);

  // ready() for a call that does not start here: stopped already, or a
  // reconnecting client without a connection. True when it ended.
  bool ready_otherwise();

  // The members a call touches first, so that a call in flight keeps few
  // cache lines warm (thousands of calls in flight each have their own).
  call_operation m_op;
  session_core* m_core;
  const connection_slot* m_slot;  // a reconnecting client's: m_core is read from it when awaited
  std::uint32_t m_method;
  std::string_view m_method_name;
  interception<client_interceptor_list> m_hooks;
  std::unique_ptr<retry_plan> m_retry;  // made only when the call may be retried
  retry_driver m_driver;
  metadata m_response_metadata;  // for the interceptors when the caller gives no response_metadata
  bool m_has_options = false;
  union {
    call_options m_options;  // the caller's, when m_has_options
  };

  // Zero-initialised storage is already a valid default (null pointers,
  // empty optionals), so a call made while statics are being initialised
  // sees the defaults too.
  static inline const call_options no_call_options{};
};

/// What every typed call awaitable shares, wherever its result goes: the
/// untyped call, the arguments it sends from, and the steps that do not
/// depend on the result. `Call` (the derived awaitable) decodes a successful
/// payload in `static const char* accept(void* call, const_buffer)`: null, or
/// why it could not.
template <class Call, class... Args>
class typed_call {
 public:
  /// A call of `method_name` to `target` that passes through `interceptors`
  /// (may be null: none), which must outlive the awaiting, and is tried
  /// again by `retry` (may be null: never; copied) when it fails. The
  /// interceptors see the call once, not each attempt.
  typed_call(call_target target, const client_interceptor_list* interceptors, std::string_view method_name,
             const call_options* options, std::uint32_t method, const retry_policy* retry, Args... args)
      : m_call(target, interceptors, method_name, options, method, retry), m_arguments(std::move(args)...) {}

  typed_call(typed_call&& other) noexcept(std::is_nothrow_move_constructible_v<std::tuple<Args...>>)
      : m_call(std::move(other.m_call)), m_arguments(std::move(other.m_arguments)) {}
  typed_call(const typed_call&) = delete;
  typed_call& operator=(const typed_call&) = delete;
  typed_call& operator=(typed_call&&) = delete;
  ~typed_call() = default;

  bool await_ready() { return m_call.ready(&encode_argument_tuple<Args...>, &m_arguments); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
    return m_call.suspend(awaiting, &encode_argument_tuple<Args...>, &m_arguments, &Call::accept,
                          static_cast<Call*>(this));
  }

 protected:
  /// As the caller resumes: whether the call succeeded and `Call::accept`
  /// took its result.
  bool succeeded() { return m_call.resume(&Call::accept, static_cast<Call*>(this)); }

  /// How a call that did not succeed ends the awaiting: `rpc_error` thrown
  /// (`Throws`), or the status returned as a `Value` (a `result`).
  template <class Value, bool Throws>
  Value fail() {
    if constexpr (Throws) {
      throw rpc_error(m_call.failure());
    } else {
      return Value(m_call.failure());
    }
  }

 private:
  untyped_call m_call;
  std::tuple<Args...> m_arguments;
};

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
class [[nodiscard]] call_awaitable : public detail::typed_call<call_awaitable<R, Throws, Args...>, Args...> {
  using base = detail::typed_call<call_awaitable, Args...>;
  friend base;

  static_assert(!detail::is_stream_v<R>,
                "duet::client::call: the method is a stream: open it with co_await client.open(method, args...)");

  static_assert(!detail::borrows_input<R>,
                "duet::client: a call's result outlives the response's bytes, so it must own its data: declare "
                "the method's result as std::string or std::vector<std::byte> on the calling side (the wire "
                "form is the same as std::string_view's or std::span's, which a server may return)");

 public:
  /// What `co_await` yields.
  using value_type = std::conditional_t<Throws, R, result<R>>;

  using base::base;
  call_awaitable(call_awaitable&&) = default;

  value_type await_resume() {
    if (!this->succeeded()) return this->template fail<value_type, Throws>();
    if constexpr (!std::is_void_v<R>) {
      return std::move(*m_value);
    } else if constexpr (!Throws) {
      return result<void>();
    }
  }

  /// The same call as a task (one coroutine frame), for APIs that take tasks.
  operator task<value_type>() && { return as_task(std::move(*this)); }

 private:
  static task<value_type> as_task(call_awaitable self) { co_return co_await self; }

  // A successful call's payload, decoded into m_value (by the one
  // call operation, or by the attempt of a retried call that succeeded).
  static const char* accept(void* call, const_buffer payload) {
    if constexpr (std::is_void_v<R>) {
      (void)call;
      // A void method's response carries no payload; anything else is a
      // peer that disagrees about the signature.
      if (!payload.empty()) return "the response to a void method carried a payload";
    } else {
      auto& self = *static_cast<call_awaitable*>(call);
      if (!duet::decode_all(payload, self.m_value.emplace())) {
        return "the response does not decode as the method's result type";
      }
    }
    return nullptr;
  }

  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> m_value;  // void: unused
};

/// What `client::call_into` and `client::try_call_into` return: a call like
/// `call_awaitable`'s whose result is decoded into storage the caller gives
/// (`R&`, which must outlive the awaiting) instead of a new value, the way
/// `duet::decode` overwrites a value: a `std::vector<std::byte>` or
/// `std::string` result keeps its capacity, so a caller that makes call
/// after call into the same storage allocates nothing for the results once
/// they stop growing. Awaiting yields nothing (`call_into`, throwing
/// `duet::rpc_error` when the call ends with a status) or a
/// `duet::result<void>` (`try_call_into`). The storage is written only
/// when the call succeeds; when the response does not decode as `R` (the
/// call then fails with `internal`), it holds a valid but unspecified value.
template <class R, bool Throws, class... Args>
class [[nodiscard]] call_into_awaitable
    : public detail::typed_call<call_into_awaitable<R, Throws, Args...>, Args...> {
  using base = detail::typed_call<call_into_awaitable, Args...>;
  friend base;

  static_assert(!std::is_void_v<R>, "duet::client::call_into: the method returns nothing to decode");
  static_assert(!detail::borrows_input<R>,
                "duet::client::call_into: the result outlives the response's bytes, so it must own its data");

 public:
  /// What `co_await` yields.
  using value_type = std::conditional_t<Throws, void, result<void>>;

  /// As `call_awaitable`'s constructor; the result goes into `into`.
  call_into_awaitable(R& into, detail::call_target target, const detail::client_interceptor_list* interceptors,
                      std::string_view method_name, const call_options* options, std::uint32_t method,
                      const retry_policy* retry, Args... args)
      : base(target, interceptors, method_name, options, method, retry, std::move(args)...), m_into(&into) {}

  call_into_awaitable(call_into_awaitable&&) = default;

  value_type await_resume() {
    if (!this->succeeded()) return this->template fail<value_type, Throws>();
    if constexpr (!Throws) return result<void>();
  }

  /// The same call as a task (one coroutine frame), for APIs that take tasks.
  operator task<value_type>() && { return as_task(std::move(*this)); }

 private:
  static task<value_type> as_task(call_into_awaitable self) { co_return co_await self; }

  // A successful call's payload, decoded into the caller's storage.
  static const char* accept(void* call, const_buffer payload) {
    auto& self = *static_cast<call_into_awaitable*>(call);
    if (!duet::decode_all(payload, *self.m_into)) return "the response does not decode as the method's result type";
    return nullptr;
  }

  R* m_into;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE untyped_call::untyped_call(call_target target, const client_interceptor_list* interceptors,
                                        std::string_view method_name, const call_options* options,
                                        std::uint32_t method, const retry_policy* retry)
    : m_core(target.core), m_slot(target.slot), m_method(method), m_method_name(method_name) {
  m_hooks.list = interceptors;
  if (options != nullptr) adopt_options(*options);
  if (retry != nullptr && retry->max_attempts > 1) plan_retries(*retry);
}

[[gnu::noinline]] DUET_INLINE void untyped_call::adopt_options(const call_options& options) {
  new (&m_options) call_options(options);
  m_has_options = true;
}

DUET_INLINE untyped_call::~untyped_call() {
  if (m_has_options) m_options.~call_options();
}

[[gnu::noinline]] DUET_INLINE void untyped_call::plan_retries(const retry_policy& retry) {
  m_retry = std::make_unique<retry_plan>(retry);
}

DUET_INLINE call_options& untyped_call::own_options() {
  if (!m_has_options) {
    new (&m_options) call_options();
    m_has_options = true;
    m_op.request_metadata = &m_options.metadata;  // what the interceptors add to
  }
  return m_options;
}

DUET_INLINE untyped_call::untyped_call(untyped_call&& other) noexcept
    : m_core(other.m_core), m_slot(other.m_slot), m_method(other.m_method), m_method_name(other.m_method_name),
      m_retry(std::move(other.m_retry)) {
  m_hooks.list = other.m_hooks.list;
  if (other.m_has_options) {
    new (&m_options) call_options(std::move(other.m_options));
    m_has_options = true;
  }
}

DUET_INLINE bool untyped_call::ready(argument_encoder encode, const void* arguments) {
  // The usual call: no options, interceptors or retries, one connection
  // (no metadata, key or deadline to give the call operation).
  if (!m_has_options && !m_hooks.installed() && !m_retry && m_slot == nullptr) {
    return m_core->start_call(m_op, std::nullopt, m_method, encode, arguments);
  }
  return ready_in_general(encode, arguments);
}

[[gnu::noinline]] DUET_INLINE bool untyped_call::ready_in_general(argument_encoder encode, const void* arguments) {
  call_operation& call = m_op;
  if (options().response_metadata != nullptr) receive_response_metadata();
  call.request_metadata = &options().metadata;  // sent only when not empty
  call.idempotency_key = options().idempotency_key;
  if (m_hooks.installed() && intercept_before()) return true;
  // The attempts start in suspend, each on the connection current then.
  if (options().stop.stop_requested() || m_retry || m_slot != nullptr) {
    if (ready_otherwise()) return true;
    if (m_retry) return false;
  }
  return m_core->start_call(call, options().effective_deadline(), m_method, encode, arguments);
}

[[gnu::noinline]] DUET_INLINE void untyped_call::receive_response_metadata() {
  options().response_metadata->clear();
  m_op.response_metadata = options().response_metadata;
}

[[gnu::noinline]] DUET_INLINE bool untyped_call::ready_otherwise() {
  if (options().stop.stop_requested()) {
    return m_op.end_now(status_code::cancelled, "the call was cancelled before it was sent");
  }
  if (m_retry) return false;
  if ((m_core = m_slot->current) == nullptr) {
    return m_op.end_now(status_code::unavailable, "the client has no connection right now (it is reconnecting)");
  }
  return false;
}

DUET_INLINE std::coroutine_handle<> untyped_call::suspend(std::coroutine_handle<> awaiting, argument_encoder encode,
                                                       const void* arguments, result_acceptor accept,
                                                       void* typed_call) {
  if (m_retry) return start_attempts(awaiting, encode, arguments, accept, typed_call);
  m_core->suspend_call(m_op, awaiting, options().stop);
  return std::noop_coroutine();
}

[[gnu::noinline]] DUET_INLINE std::coroutine_handle<> untyped_call::start_attempts(std::coroutine_handle<> awaiting,
                                                                                argument_encoder encode,
                                                                                const void* arguments,
                                                                                result_acceptor accept,
                                                                                void* typed_call) {
  {
    retry_plan& plan = *m_retry;
    plan.core = m_slot != nullptr ? nullptr : m_core;
    plan.slot = m_slot;
    plan.method = m_method;
    plan.encode = encode;
    plan.arguments = arguments;
    plan.request_metadata = &options().metadata;
    plan.idempotency_key = options().idempotency_key;
    plan.response_metadata = m_op.response_metadata;
    plan.stop = options().stop;
    plan.deadline = options().effective_deadline();
    plan.accept = accept;
    plan.call = typed_call;
    m_driver = plan.policy.attempts_runner(plan);
    return m_driver.start(awaiting);
  }
}

DUET_INLINE bool untyped_call::resume(result_acceptor accept, void* typed_call) {
  m_op.settle();
  call_operation& call = m_op;
  if (m_hooks.ran == 0 && !retried() && call.code == status_code::ok) {
    const char* why = accept(typed_call, call.payload);
    if (why == nullptr) return true;
    call.code = status_code::internal;
    call.message = why;
    return false;
  }
  return resume_otherwise(accept, typed_call);
}

DUET_INLINE status untyped_call::failure() {
  call_operation& call = m_op;
  return status(call.code, std::move(call.message));
}

DUET_INLINE bool untyped_call::resume_otherwise(result_acceptor accept, void* typed_call) {
  call_operation& call = m_op;
  if (retried()) {
    m_driver.rethrow_failure();
    m_driver.reset();
    call.code = m_retry->outcome.code();
    call.message = m_retry->outcome.message();
  } else if (call.code == status_code::ok) {
    if (const char* why = accept(typed_call, call.payload)) {
      call.code = status_code::internal;
      call.message = why;
    }
  }
  if (m_hooks.ran != 0) {
    outgoing_call described = describe();
    const status outcome = call.code == status_code::ok ? status{} : status(call.code, call.message);
    m_hooks.after(described, outcome, *call.response_metadata);
  }
  return call.code == status_code::ok;
}

[[gnu::noinline]] DUET_INLINE bool untyped_call::intercept_before() {
  call_operation& call = m_op;
  // The after hooks see the response's metadata even when the caller
  // does not ask for it.
  if (call.response_metadata == nullptr) call.response_metadata = &m_response_metadata;
  outgoing_call described = describe();
  status verdict = m_hooks.before(described);
  if (verdict.ok()) return false;
  call.code = verdict.code();
  call.message = verdict.message();
  call.done = true;
  return true;
}

}  // namespace duet::inline v0::detail
#endif
