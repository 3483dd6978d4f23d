#pragma once

#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/caller.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/detail/session_core.hpp>

namespace duet::inline v0 {

/// The other end of the connection a request came on, as a handler sees it
/// (`call_context::peer()`): a server's handler calls back the client that
/// called it, a client's handler calls the server, over the same
/// connection.
///
///     router.on(run_job, [](duet::call_context& ctx, job j) -> duet::task<int> {
///       bool go = co_await ctx.peer().call(confirm, j.name);  // asks the caller
///       ...
///     });
///
/// It has the calls of `duet::client` (`call`, `try_call`, `call_into`,
/// `try_call_into`, each also with `call_options`, and `notify`), with the
/// same results and rules, except that a peer's calls pass through no
/// interceptors and are never retried (they belong to this one
/// connection). The other end serves them with the router it was made with
/// (a client: `duet::client(loop, stream, router)`); one that serves
/// nothing answers `unimplemented`.
///
/// A small handle that owns nothing: valid while the handler it came from
/// runs, on the loop thread. A call still waiting when the connection ends
/// fails with `unavailable` (or `cancelled` when this side closed it),
/// like any call.
class peer : public detail::caller<peer> {
 public:
  /// Whether the connection still takes new calls (open, and the other end
  /// has not sent goaway).
  [[nodiscard]] bool is_open() const noexcept { return m_core->accepts_calls(); }

 private:
  friend class call_context;
  friend detail::caller<peer>;

  explicit peer(detail::session_core& core) noexcept : m_core(&core) {}

  detail::call_target call_target_now() noexcept { return detail::call_target(*m_core); }
  [[nodiscard]] detail::session_core* core_now() const noexcept { return m_core; }
  [[nodiscard]] static const detail::client_interceptor_list* interceptors_now() noexcept { return nullptr; }
  [[nodiscard]] static const retry_policy* retry_for(bool, const call_options*) noexcept { return nullptr; }

  detail::session_core* m_core;
};

inline peer call_context::peer() const noexcept { return duet::peer(*m_session); }

}  // namespace duet::inline v0
