#pragma once

#include <duet/rpc/call.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/retry_policy.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>

#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

/// The typed calls of whatever makes calls on a connection: `duet::client`
/// and `duet::peer` derive from it and say where a call goes. `Self`
/// provides, to this class (a friend):
///
///     call_target call_target_now();                    // where a call made now goes
///     session_core* core_now() const;                   // the session now, or null
///     const client_interceptor_list* interceptors_now() const;  // may be null
///     const retry_policy* retry_for(bool idempotent, const call_options* options) const;  // may be null
///
/// Written once, so that the calls of a client and of a peer are the same
/// calls with the same rules.
template <class Self>
class caller {
 public:
  /// Calls `m` with `args` and returns its result; throws `duet::rpc_error`
  /// when the call ends with a status instead. Resumes the awaiter on the
  /// loop thread. Lazy: the request goes out when the result is awaited.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, true, Args...> call(const method<Name, R(Args...)>& m,
                                                      std::type_identity_t<Args>... args) {
    return {target(), interceptors(), m.name, nullptr, m.id, retry(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `call`, with a timeout or deadline.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, true, Args...> call(const call_options& options, const method<Name, R(Args...)>& m,
                                                      std::type_identity_t<Args>... args) {
    return {target(), interceptors(), m.name, &options, m.id, retry(m.idempotent, &options), std::move(args)...};
  }

  /// Calls `m` with `args`; yields the value or the status the call ended
  /// with. Never throws for RPC failures (only for allocation failure).
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, false, Args...> try_call(const method<Name, R(Args...)>& m,
                                                           std::type_identity_t<Args>... args) {
    return {target(), interceptors(), m.name, nullptr, m.id, retry(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `try_call`, with a timeout or deadline.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, false, Args...> try_call(const call_options& options,
                                                           const method<Name, R(Args...)>& m,
                                                           std::type_identity_t<Args>... args) {
    return {target(), interceptors(), m.name, &options, m.id, retry(m.idempotent, &options), std::move(args)...};
  }

  /// As `call`, decoding the result into `into` (which must outlive the
  /// awaiting) instead of returning it: a byte vector or string keeps its
  /// capacity, so calls into the same storage allocate nothing for their
  /// results in steady state. `into` is written only when the call
  /// succeeds (see `call_into_awaitable`).
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_into_awaitable<R, true, Args...> call_into(std::type_identity_t<R>& into,
                                                                const method<Name, R(Args...)>& m,
                                                                std::type_identity_t<Args>... args) {
    return {into, target(), interceptors(), m.name, nullptr, m.id, retry(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `call_into`, with a timeout or deadline.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_into_awaitable<R, true, Args...> call_into(std::type_identity_t<R>& into,
                                                                const call_options& options,
                                                                const method<Name, R(Args...)>& m,
                                                                std::type_identity_t<Args>... args) {
    return {into, target(), interceptors(), m.name, &options, m.id, retry(m.idempotent, &options),
            std::move(args)...};
  }

  /// As `try_call`, decoding the result into `into` (see `call_into`);
  /// yields ok or the status the call ended with.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_into_awaitable<R, false, Args...> try_call_into(std::type_identity_t<R>& into,
                                                                     const method<Name, R(Args...)>& m,
                                                                     std::type_identity_t<Args>... args) {
    return {into, target(), interceptors(), m.name, nullptr, m.id, retry(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `try_call_into`, with a timeout or deadline.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] call_into_awaitable<R, false, Args...> try_call_into(std::type_identity_t<R>& into,
                                                                     const call_options& options,
                                                                     const method<Name, R(Args...)>& m,
                                                                     std::type_identity_t<Args>... args) {
    return {into, target(), interceptors(), m.name, &options, m.id, retry(m.idempotent, &options),
            std::move(args)...};
  }

  /// Sends a notification: a one-way call of `m` with `args` that the peer
  /// runs but never answers (a result the method declares is dropped).
  /// Returns once it is queued, in order with the calls around it: ok, or
  /// `unavailable` (no connection), `resource_exhausted` (larger than the
  /// peer accepts) or `internal` (encoding threw). Delivery is not
  /// confirmed; a peer that does not serve `m` drops it and counts it
  /// (`router::dropped_notifications()`). Notifications do not pass through
  /// interceptors. Call it on the loop thread.
  template <fixed_string Name, class R, class... Args>
  [[nodiscard]] status notify(const method<Name, R(Args...)>& m, std::type_identity_t<Args>... args) {
    session_core* core = static_cast<const Self&>(*this).core_now();
    if (core == nullptr) return status(status_code::unavailable, "there is no connection");
    const std::tuple<Args...> arguments(std::move(args)...);
    return core->notify(m.id, &encode_argument_tuple<Args...>, &arguments);
  }

 protected:
  caller() = default;
  ~caller() = default;

 private:
  call_target target() noexcept { return static_cast<Self&>(*this).call_target_now(); }
  [[nodiscard]] const client_interceptor_list* interceptors() const noexcept {
    return static_cast<const Self&>(*this).interceptors_now();
  }
  [[nodiscard]] const retry_policy* retry(bool idempotent, const call_options* options) const noexcept {
    return static_cast<const Self&>(*this).retry_for(idempotent, options);
  }
};

}  // namespace duet::inline v0::detail
