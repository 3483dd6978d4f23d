#pragma once

#include <duet/codec/codec.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/rpc/call.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/rpc/method.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/retry_policy.hpp>
#include <duet/session/session.hpp>
#include <duet/status.hpp>
#include <duet/transport/transport.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0 {

/// The calling side of a connection: typed calls over one session.
///
///     duet::client client(loop, std::move(stream));
///     int sum = co_await client.call(add, 2, 3);                 // throws duet::rpc_error
///     duet::result<int> r = co_await client.try_call(add, 2, 3); // never throws for RPC failures
///
/// Any number of calls may be in flight at once; each completes when its
/// own response arrives, in whatever order the server answers.
///
/// Threads and lifetimes: a client lives on the loop it was made with, and
/// calls must be awaited from coroutines running on that loop. The client
/// must outlive the awaiting of every call made through it. Destroying or
/// closing it ends every pending call with `cancelled`. `close()` is the
/// orderly end: await it before the loop stops so nothing is left behind.
template <transport Transport>
class client {
 public:
  using transport_type = Transport;

  /// Starts a client over a connected `stream` on `loop`.
  client(event_loop& loop, Transport stream, const session_options& options = {})
      : m_session(session<Transport>::make(loop, std::move(stream), options)) {
    m_session->start();
  }

  client(client&&) noexcept = default;
  client& operator=(client&& other) noexcept {
    if (this != &other) {
      if (m_session) m_session->close();
      m_session = std::move(other.m_session);
      m_interceptors = std::move(other.m_interceptors);
      m_retry = std::move(other.m_retry);
    }
    return *this;
  }
  ~client() {
    if (m_session) m_session->close();
  }

  /// Calls `m` with `args` and returns its result; throws `duet::rpc_error`
  /// when the call ends with a status instead. Resumes the awaiter on the
  /// loop thread. Lazy: the request goes out when the result is awaited.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, true, Args...> call(const method<Name, R(Args...)>& m,
                                                      std::type_identity_t<Args>... args) {
    return {*m_session, m_interceptors.get(), m.name, call_options{}, m.id, retry_for(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `call`, with a timeout or deadline.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, true, Args...> call(const call_options& options, const method<Name, R(Args...)>& m,
                                                      std::type_identity_t<Args>... args) {
    return {*m_session, m_interceptors.get(), m.name, options, m.id, retry_for(m.idempotent, &options),
            std::move(args)...};
  }

  /// Calls `m` with `args`; yields the value or the status the call ended
  /// with. Never throws for RPC failures (only for allocation failure).
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, false, Args...> try_call(const method<Name, R(Args...)>& m,
                                                           std::type_identity_t<Args>... args) {
    return {*m_session, m_interceptors.get(), m.name, call_options{}, m.id, retry_for(m.idempotent, nullptr),
            std::move(args)...};
  }

  /// As `try_call`, with a timeout or deadline.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] call_awaitable<R, false, Args...> try_call(const call_options& options,
                                                           const method<Name, R(Args...)>& m,
                                                           std::type_identity_t<Args>... args) {
    return {*m_session, m_interceptors.get(), m.name, options, m.id, retry_for(m.idempotent, &options),
            std::move(args)...};
  }

  /// Adds `interceptor` after those already added: its `before_call` runs
  /// before every call this client makes, its `after_call` when the call
  /// ends (docs/call-semantics.md, Interceptors). Notifications do not pass
  /// through interceptors. Call it on the loop thread, not from inside an
  /// interceptor. Throws std::invalid_argument for a null pointer.
  client& add_interceptor(std::shared_ptr<client_interceptor> interceptor) {
    if (!interceptor) throw std::invalid_argument("duet::client::add_interceptor: null interceptor");
    if (!m_interceptors) m_interceptors = std::make_unique<detail::client_interceptor_list>();
    m_interceptors->push_back(std::move(interceptor));
    return *this;
  }

  /// Sends a notification: a one-way call of `m` with `args` that the
  /// server runs but never answers (a result the method declares is
  /// dropped). Returns once it is queued, in order with the calls around
  /// it: ok, or `unavailable` (closed), `resource_exhausted` (larger than
  /// the server accepts) or `internal` (encoding threw). Delivery is not
  /// confirmed; a server that does not serve `m` drops it and counts it
  /// (`router::dropped_notifications()`). Call it on the loop thread.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] status notify(const method<Name, R(Args...)>& m, std::type_identity_t<Args>... args) {
    if (!m_session) return status(status_code::unavailable, "the client has no connection");
    const std::tuple<Args...> arguments(std::move(args)...);
    return m_session->notify(m.id, &detail::encode_argument_tuple<Args...>, &arguments);
  }

  /// Closes the connection and completes once it has fully ended. Pending
  /// calls end with `cancelled`. Idempotent.
  [[nodiscard]] task<void> close() {
    std::shared_ptr<session<Transport>> s = m_session;
    if (!s) co_return;
    s->close();
    co_await s->finished();
  }

  /// The retry policy for calls that are safe to repeat (of a method
  /// declared idempotent, or with an idempotency key) and give none in their
  /// call options; empty (the default): no retries. Affects calls made
  /// afterwards. See docs/call-semantics.md, Retries.
  void set_retry_policy(std::optional<retry_policy> policy) { m_retry = std::move(policy); }

  /// The policy set by `set_retry_policy`.
  [[nodiscard]] const std::optional<retry_policy>& retry() const noexcept { return m_retry; }

  /// Whether the connection is still usable for new calls.
  [[nodiscard]] bool is_open() const noexcept { return m_session && m_session->is_open(); }

  /// Why the connection ended (ok while it is open).
  [[nodiscard]] status end_status() const { return m_session ? m_session->end_status() : status{}; }

  /// The underlying session (for the transport's endpoints and statistics).
  [[nodiscard]] session<Transport>& underlying_session() noexcept { return *m_session; }

 private:
  // The policy a call is tried again by: none unless the call is safe to
  // repeat; then its own, or the client's.
  [[nodiscard]] const retry_policy* retry_for(bool idempotent, const call_options* options) const noexcept {
    if (!idempotent && (options == nullptr || options->idempotency_key.empty())) return nullptr;
    if (options != nullptr && options->retry) return &*options->retry;
    return m_retry ? &*m_retry : nullptr;
  }

  std::shared_ptr<session<Transport>> m_session;
  std::optional<retry_policy> m_retry;
  // On the heap, so that calls keep pointing at it when the client moves;
  // null until the first interceptor: calls through a client without any
  // pay one null check.
  std::unique_ptr<detail::client_interceptor_list> m_interceptors;
};

}  // namespace duet::inline v0
