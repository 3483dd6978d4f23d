#pragma once

#include <duet/config.hpp>

#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/answering.hpp>
#include <duet/rpc/detail/deadline_watch.hpp>
#include <duet/rpc/detail/server_hooks.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace duet::inline v0::detail {

/// What a request served by a coroutine handler needs whatever the
/// handler's signature: its context, its registration for cancel frames,
/// its deadline timer, its interceptors' pass, how it failed. Begun and
/// ended out of line, once for every handler, so that each handler's
/// coroutine holds little more than its arguments and result.
class async_request {
 public:
  /// Counts the handler as running and, for a request, registers it for
  /// cancel frames and the end of the connection.
  // Defined here, not in the definitions below: GCC 12 ignores gnu::noinline
  // on a constructor's definition outside its class (and warns when an inline
  // definition follows a declaration that has it).
  [[gnu::noinline]] async_request(session_core& s, const frame_header& header, std::string_view method_name,
                                  std::uint32_t method_id, const server_interceptors* interceptors)
      : session(s),
        id(header.id),
        wants_answer(header.kind == frame_kind::request),
        stream((header.flags & flag_stream) != 0),
        context(call_context_access::make(s, s.loop(), method_name, method_id, wants_answer)),
        hooks(interceptors) {
    if (stream) {
      session.stream_handler_started();
    } else {
      session.handler_started();
    }
    m_link.id = id;
    m_link.on_cancel = &link::cancel;
    m_link.context = &context;
    if (wants_answer) session.track(m_link);
  }
  async_request(const async_request&) = delete;
  async_request& operator=(const async_request&) = delete;
  ~async_request();

  /// Fires the context's stop token at the request's deadline, if it has one.
  void arm_deadline();
  void stop_deadline() noexcept { m_watch.reset(); }

  /// Whether the handler's result is to be sent: a request, on a session
  /// still open.
  [[nodiscard]] bool answerable() const noexcept { return wants_answer && session.is_open(); }

  /// The handler returned with `outcome` (a void handler): stops the
  /// timer, runs the after hooks; whether to answer.
  bool returned(const status& outcome);

  /// The handler (or answering) threw: call it inside the catch block.
  void failed();

  /// Ends the request: answers a failure, unregisters, counts the handler
  /// as finished.
  void finish();

  session_core& session;
  const std::uint32_t id;
  const bool wants_answer;
  const bool stream;  // a stream's handler: counted apart (session_core::stream_handler_started)
  call_context context;
  server_hooks hooks;

 private:
  // Lets a cancel frame (or the end of the connection) reach the context.
  struct link : running_request {
    call_context* context = nullptr;
    static void cancel(running_request& r) noexcept { static_cast<link&>(r).context->cancel(); }
  };

  link m_link;
  std::optional<deadline_watch> m_watch;  // made only for a request with a deadline
  std::optional<status> m_failure;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE async_request::~async_request() = default;

[[gnu::noinline]] DUET_INLINE void async_request::arm_deadline() {
  if (const std::optional<time_point> deadline = context.deadline()) {
    m_watch.emplace().start(session.loop(), *deadline, &context, &call_context_access::expire);
  }
}

[[gnu::noinline]] DUET_INLINE bool async_request::returned(const status& outcome) {
  m_watch.reset();
  hooks.after(context, outcome);
  return answerable();
}

[[gnu::noinline]] DUET_INLINE void async_request::failed() { m_failure = status_of_current_exception(); }

[[gnu::noinline]] DUET_INLINE void async_request::finish() {
  m_watch.reset();
  if (m_failure) {
    hooks.after(context, *m_failure);
    if (answerable()) session.send_error(id, *m_failure, call_context_access::response_metadata(context));
  }
  if (wants_answer) session.untrack(m_link);
  if (stream) {
    session.stream_handler_finished();
  } else {
    session.handler_finished();
  }
}

}  // namespace duet::inline v0::detail
#endif
