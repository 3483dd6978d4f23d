#pragma once

#include <duet/config.hpp>

#include <duet/codec/codec.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/rpc/call.hpp>
#include <duet/rpc/detail/caller.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/reconnect.hpp>
#include <duet/rpc/retry_policy.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/session.hpp>
#include <duet/status.hpp>
#include <duet/stream/client_stream.hpp>
#include <duet/transport/transport.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0 {

class router;

namespace detail {
/// The session's view of `routes` (defined in <duet/rpc/router.hpp>, which
/// a program that passes a router includes), so that a client that serves
/// nothing does not compile the router.
DUET_INLINE request_dispatcher* dispatcher_of(router& routes) noexcept;
}  // namespace detail

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
///
/// A client made with `reconnect_options` makes its own connections and a
/// new one, with backoff, whenever the current one is lost or the server
/// sends goaway; each call goes to the connection current when it is
/// awaited, and fails at once with `unavailable` while there is none
/// (`wait_connected` waits for one). Calls pending on a lost connection end
/// with `unavailable`; they are never sent again.
///
/// A client made with a router also serves the router's methods to the
/// server, over the same connection: the server's handlers call it back
/// through `call_context::peer()` (docs/call-semantics.md, Calls in both
/// directions). The router must outlive the client.
///
/// The calls (`call`, `try_call`, `call_into`, `try_call_into`, each also
/// with `call_options`, and `notify`) are those of every caller, described
/// in <duet/rpc/detail/caller.hpp>.
template <transport Transport>
class client : public detail::caller<client<Transport>> {
 public:
  using transport_type = Transport;

  /// Starts a client over a connected `stream` on `loop`.
  client(event_loop& loop, Transport stream, const session_options& options = {})
      : m_session(session<Transport>::make(loop, std::move(stream), options)) {
    m_session->start();
  }

  /// Starts a client over a connected `stream` on `loop` that also serves
  /// `routes`' methods to the server on this connection.
  client(event_loop& loop, Transport stream, router& routes, const session_options& options = {})
      : m_session(session<Transport>::make(loop, std::move(stream), options, detail::dispatcher_of(routes))) {
    m_session->start();
  }

  /// Starts a reconnecting client on `loop`: it connects at once with
  /// `reconnect.connect`, and again whenever its connection is lost or the
  /// server sends goaway, waiting `reconnect.backoff` between failed
  /// attempts. Until the first connection is up, calls fail with
  /// `unavailable`. Throws std::invalid_argument when `reconnect.connect`
  /// is empty.
  client(event_loop& loop, reconnect_options<Transport> reconnect, const session_options& options = {}) {
    reconnect_with(loop, std::move(reconnect), options, nullptr);
  }

  /// A reconnecting client that also serves `routes`' methods to the
  /// server on each of its connections.
  client(event_loop& loop, reconnect_options<Transport> reconnect, router& routes,
         const session_options& options = {}) {
    reconnect_with(loop, std::move(reconnect), options, detail::dispatcher_of(routes));
  }

  client(client&&) noexcept = default;
  client& operator=(client&& other) noexcept {
    if (this != &other) {
      if (m_session) m_session->close();
      if (m_reconnector) m_reconnector->close_fn(*m_reconnector);
      m_session = std::move(other.m_session);
      m_interceptors = std::move(other.m_interceptors);
      m_reconnector = std::move(other.m_reconnector);
      m_retry = std::move(other.m_retry);
    }
    return *this;
  }
  ~client() {
    if (m_session) m_session->close();
    if (m_reconnector) m_reconnector->close_fn(*m_reconnector);
  }

  /// Opens a stream of stream method `m` (docs/streams.md): a server
  /// stream with its arguments, a client or bidirectional stream with none.
  /// Yields a `client_stream` once the request is queued; a stream that
  /// cannot open (no connection, a peer without streams: `unimplemented`)
  /// comes back already ended, with its status. Streams do not pass through
  /// interceptors and are never retried.
  template <detail::fixed_string Name, class R, class... Args, class... A>
  [[nodiscard]] auto open(const method<Name, R(Args...)>& m, A&&... args) {
    return open(call_options{}, m, std::forward<A>(args)...);
  }

  /// As `open`, with call options: the deadline covers the whole stream,
  /// the stop token cancels it, the metadata goes with the request, and
  /// `response_metadata` receives the trailing metadata.
  template <detail::fixed_string Name, class R, class... Args, class... A>
  [[nodiscard]] auto open(const call_options& options, const method<Name, R(Args...)>& m, A&&... args) {
    using M = method<Name, R(Args...)>;
    static_assert(M::kind != method_kind::unary,
                  "duet::client::open: the method is not a stream: call it with co_await client.call(method, args...)");
    if constexpr (M::kind == method_kind::server_stream) {
      static_assert(detail::arguments_fit<detail::parameter_list<Args...>, A...>(),
                    "duet::client::open: the arguments do not fit the method: pass one value for each of its "
                    "parameters");
      if constexpr (detail::arguments_fit<detail::parameter_list<Args...>, A...>()) {
        return detail::stream_opener<void, typename M::callee_message, void, Args...>(
            this->call_target_now(), options, m.id, Args(std::forward<A>(args))...);
      }
    } else if constexpr (M::kind != method_kind::unary) {
      static_assert(sizeof...(A) == 0,
                    "duet::client::open: a client or bidirectional stream is opened without arguments: send its "
                    "messages with co_await stream.send(message)");
      return detail::stream_opener<typename M::caller_message, typename M::callee_message, typename M::result_type>(
          this->call_target_now(), options, m.id);
    }
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

  /// Closes the connection and completes once it has fully ended. Pending
  /// calls end with `cancelled`. Idempotent.
  [[nodiscard]] task<void> close() {
    if (std::shared_ptr<detail::reconnect_state<Transport>> r = m_reconnector) {
      co_await r->close_and_wait_fn(*r);
      co_return;
    }
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

  /// Whether the connection is still usable for new calls (open, and the
  /// server has not sent goaway).
  [[nodiscard]] bool is_open() const noexcept {
    const detail::session_core* core = core_now();
    return core != nullptr && core->accepts_calls();
  }

  /// Why the connection ended (ok while it is open). For a reconnecting
  /// client: why the latest connection ended (ok while one is up, or before
  /// the first).
  [[nodiscard]] status end_status() const {
    if (m_reconnector) {
      const session<Transport>* latest = m_reconnector->latest();
      return latest != nullptr ? latest->end_status() : status{};
    }
    return m_session ? m_session->end_status() : status{};
  }

  /// The underlying session (for the transport's endpoints and statistics).
  /// A reconnecting client's current one; precondition: `is_open()`.
  [[nodiscard]] session<Transport>& underlying_session() noexcept {
    return m_reconnector ? *m_reconnector->current() : *m_session;
  }

  /// Reconnecting client: completes with true once a connection is up
  /// (at once if one is), false if `timeout` passes or the client closes
  /// first. A client made over one stream: true while it is open.
  [[nodiscard]] task<bool> wait_connected(duration timeout) {
    if (std::shared_ptr<detail::reconnect_state<Transport>> r = m_reconnector) {
      co_return co_await r->wait_connected_fn(*r, timeout);
    }
    co_return is_open();
  }

  /// Connections made so far (1 for a client made over one stream).
  [[nodiscard]] std::uint64_t connections_made() const noexcept {
    return m_reconnector ? m_reconnector->connections_made() : 1;
  }

 private:
  friend detail::caller<client>;

  void reconnect_with(event_loop& loop, reconnect_options<Transport> reconnect, const session_options& options,
                      detail::request_dispatcher* dispatcher) {
    auto r = std::make_shared<detail::reconnector<Transport>>(loop, std::move(reconnect), options, dispatcher);
    if (!r->has_connect()) throw std::invalid_argument("duet::client: reconnect_options::connect is empty");
    r->start();
    m_reconnector = std::move(r);
  }

  detail::call_target call_target_now() noexcept {
    if (m_reconnector) return detail::call_target(m_reconnector->slot());
    return detail::call_target(*m_session);
  }
  detail::session_core* core_now() const noexcept {
    return m_reconnector ? m_reconnector->slot().current : m_session.get();
  }
  [[nodiscard]] const detail::client_interceptor_list* interceptors_now() const noexcept {
    return m_interceptors.get();
  }

  // The policy a call is tried again by: none unless the call is safe to
  // repeat; then its own, or the client's.
  [[nodiscard]] const retry_policy* retry_for(bool idempotent, const call_options* options) const noexcept {
    if (!idempotent && (options == nullptr || options->idempotency_key.empty())) return nullptr;
    if (options != nullptr && options->retry) return &*options->retry;
    return m_retry ? &*m_retry : nullptr;
  }

  std::shared_ptr<session<Transport>> m_session;                    // a client over one stream
  // A reconnecting client's: only the reconnecting constructor names the
  // reconnector itself, so a client over one stream compiles none of it.
  std::shared_ptr<detail::reconnect_state<Transport>> m_reconnector;
  // On the heap, so that calls keep pointing at it when the client moves;
  // null until the first interceptor: calls through a client without any
  // pay one null check.
  std::unique_ptr<detail::client_interceptor_list> m_interceptors;
  std::optional<retry_policy> m_retry;
};

}  // namespace duet::inline v0
