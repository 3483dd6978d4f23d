#pragma once

#include <duet/codec/codec.hpp>
#include <duet/coro/task.hpp>
#include <duet/result.hpp>
#include <duet/rpc/method.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/session.hpp>
#include <duet/status.hpp>
#include <duet/transport/transport.hpp>

#include <memory>
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
    }
    return *this;
  }
  ~client() {
    if (m_session) m_session->close();
  }

  /// Calls `m` with `args` and returns its result; throws `duet::rpc_error`
  /// when the call ends with a status instead. Resumes the awaiter on the
  /// loop thread.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] task<R> call(const method<Name, R(Args...)>& m, std::type_identity_t<Args>... args) {
    return run_call<true, R>(call_options{}, m.id, std::move(args)...);
  }

  /// As `call`, with a timeout or deadline.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] task<R> call(const call_options& options, const method<Name, R(Args...)>& m,
                             std::type_identity_t<Args>... args) {
    return run_call<true, R>(options, m.id, std::move(args)...);
  }

  /// Calls `m` with `args`; returns the value or the status the call ended
  /// with. Never throws for RPC failures (only for allocation failure).
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] task<result<R>> try_call(const method<Name, R(Args...)>& m, std::type_identity_t<Args>... args) {
    return run_call<false, R>(call_options{}, m.id, std::move(args)...);
  }

  /// As `try_call`, with a timeout or deadline.
  template <detail::fixed_string Name, class R, class... Args>
  [[nodiscard]] task<result<R>> try_call(const call_options& options, const method<Name, R(Args...)>& m,
                                         std::type_identity_t<Args>... args) {
    return run_call<false, R>(options, m.id, std::move(args)...);
  }

  /// Closes the connection and completes once it has fully ended. Pending
  /// calls end with `cancelled`. Idempotent.
  [[nodiscard]] task<void> close() {
    std::shared_ptr<session<Transport>> s = m_session;
    if (!s) co_return;
    s->close();
    co_await s->finished();
  }

  /// Whether the connection is still usable for new calls.
  [[nodiscard]] bool is_open() const noexcept { return m_session && m_session->is_open(); }

  /// Why the connection ended (ok while it is open).
  [[nodiscard]] status end_status() const { return m_session ? m_session->end_status() : status{}; }

  /// The underlying session (for the transport's endpoints and statistics).
  [[nodiscard]] session<Transport>& underlying_session() noexcept { return *m_session; }

 private:
  // call and try_call share this one coroutine, so that `call` is exactly
  // try_call plus a throw and a call costs a single coroutine frame.
  template <bool Throws, class R, class... Args>
  task<std::conditional_t<Throws, R, result<R>>> run_call(call_options options, std::uint32_t method_id,
                                                          Args... args) {
    static_assert(!detail::borrows_input<R>,
                  "duet::client: a call's result outlives the response's bytes, so it must own its data: declare "
                  "the method's result as std::string or std::vector<std::byte> on the calling side (the wire "
                  "form is the same as std::string_view's or std::span's, which a server may return)");
    detail::session_core& core = *m_session;
    detail::pending_call call;
    co_await core.admit(call, options.effective_deadline());
    if (!call.done) {
      byte_writer writer = core.begin_request(call, method_id);
      try {
        duet::encode(writer, args...);
      } catch (const std::exception& e) {
        core.abandon_request(call, status_code::internal, std::string("encoding the request threw: ") + e.what());
      }
      if (!call.done) {
        core.send_request(call);
        co_await core.wait(call);
      }
    }
    if (call.code != status_code::ok) {
      if constexpr (Throws) {
        throw rpc_error(status(call.code, std::move(call.message)));
      } else {
        co_return result<R>(status(call.code, std::move(call.message)));
      }
    } else if constexpr (std::is_void_v<R>) {
      // A void method's response carries no payload; anything else is a
      // peer that disagrees about the signature.
      if (!call.payload.empty()) {
        if constexpr (Throws) {
          throw rpc_error(status(status_code::internal, "the response to a void method carried a payload"));
        } else {
          co_return result<void>(status(status_code::internal, "the response to a void method carried a payload"));
        }
      }
      if constexpr (!Throws) co_return result<void>();
    } else {
      // call.payload views the reader's buffer: decode before suspending.
      R value{};
      if (!duet::decode_all(call.payload, value)) {
        status bad(status_code::internal, "the response does not decode as the method's result type");
        if constexpr (Throws) {
          throw rpc_error(std::move(bad));
        } else {
          co_return result<R>(std::move(bad));
        }
      }
      co_return value;
    }
  }

  std::shared_ptr<session<Transport>> m_session;
};

}  // namespace duet::inline v0
