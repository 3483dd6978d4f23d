#pragma once

#include <duet/config.hpp>

#include <duet/codec/codec.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/handler_shape.hpp>
#include <duet/rpc/detail/server_hooks.hpp>
#include <duet/session/detail/response_writer.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace duet::inline v0::detail {

// The steps of answering a request that do not depend on its handler.

/// Ends a request before its handler runs: the interceptors whose `before`
/// ran see `why`, and a request (not a notification) is answered with it and
/// the response metadata added so far.
void end_early(session_core& session, call_context& context, const frame_header& header, server_hooks& hooks,
               const status& why);

/// What comes before a handler for a request with metadata or a router with
/// interceptors: reads the metadata and deadline into `context`, runs the
/// `before` hooks. False when the request was ended there (`end_early`).
/// Out of line: requests with neither never come here.
bool admit_request(session_core& session, call_context& context, const frame_view& frame, server_hooks& hooks);

/// Ends a request whose arguments do not decode.
void refuse_undecodable(session_core& session, call_context& context, const frame_header& header, server_hooks& hooks);

/// Answers request `id` whose response threw `what` while encoding: `internal`.
void answer_unencodable(session_core& session, std::uint32_t id, const char* what, const metadata* response_metadata);

// The code for answering is shared by every handler of a result type R.
template <class R>
void answer_value(session_core& session, std::uint32_t id, const R& value, const metadata* response_metadata) {
  response_writer response(session, id, response_metadata);
  try {
    duet::encode(response.payload(), value);
  } catch (const std::exception& e) {
    response.abandon();
    answer_unencodable(session, id, e.what(), response_metadata);
    return;
  }
  response.send();
}

inline void answer_void(session_core& session, std::uint32_t id, const metadata* response_metadata) {
  response_writer(session, id, response_metadata).send();
}

/// Answers request `id` of a method returning `R` with what its handler
/// produced: a value, or a `result` holding one or a failure.
template <class R, class X>
void answer_produced(session_core& session, std::uint32_t id, X& produced, const metadata* response_metadata) {
  if constexpr (is_result<std::remove_cvref_t<X>>::value) {
    if (!produced.has_value()) {
      session.send_error(id, produced.error(), response_metadata);
    } else if constexpr (std::is_void_v<R>) {
      answer_void(session, id, response_metadata);
    } else {
      answer_value<R>(session, id, *produced, response_metadata);
    }
  } else {
    answer_value<R>(session, id, static_cast<const R&>(produced), response_metadata);
  }
}

DUET_INLINE status status_of_current_exception();

/// Ends a request whose plain handler threw (call it inside the catch
/// block): the after hooks see the failure, a request is answered with it.
void end_by_exception(session_core& session, call_context& context, std::uint32_t id, server_hooks& hooks);

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

// The functions marked gnu::noinline stay out of line even when inline (so
// that every handler's code stays small); the attribute is on their
// definitions, since GCC warns when an inline definition follows a
// declaration that has it.
[[gnu::noinline]] DUET_INLINE void end_early(session_core& session, call_context& context, const frame_header& header,
                                             server_hooks& hooks, const status& why) {
  hooks.after(context, why);
  if (header.kind == frame_kind::request) {
    session.send_error(header.id, why, call_context_access::response_metadata(context));
  }
}

[[gnu::noinline]] DUET_INLINE bool admit_request(session_core& session, call_context& context, const frame_view& frame,
                                                 server_hooks& hooks) {
  std::optional<status> early;
  if (!frame.metadata.empty()) early = call_context_access::read_request_metadata(context, frame.metadata);
  if (!early && hooks.installed()) {
    if (status verdict = hooks.before(context); !verdict.ok()) early = std::move(verdict);
  }
  if (!early) return true;
  end_early(session, context, frame.header, hooks, *early);
  return false;
}

[[gnu::noinline]] DUET_INLINE void refuse_undecodable(session_core& session, call_context& context,
                                                      const frame_header& header, server_hooks& hooks) {
  end_early(session, context, header, hooks,
            status(status_code::invalid_argument, "the request's payload does not decode as the arguments of " +
                                                      std::string(context.method_name())));
}

// Out of line: it builds strings, which answer_value's happy path must not
// pay for in its stack frame.
[[gnu::noinline]] DUET_INLINE void answer_unencodable(session_core& session, std::uint32_t id, const char* what,
                                                      const metadata* response_metadata) {
  session.send_error(id, status(status_code::internal, std::string("encoding the response threw: ") + what),
                     response_metadata);
}

DUET_INLINE status status_of_current_exception() {
  try {
    throw;
  } catch (const rpc_error& e) {
    return e.status().ok() ? status(status_code::internal, "a handler threw an rpc_error with status ok")
                           : e.status();
  } catch (const std::exception& e) {
    return status(status_code::internal, e.what());
  } catch (...) {
    return status(status_code::internal, "the handler threw an exception that is not a std::exception");
  }
}

[[gnu::noinline]] DUET_INLINE void end_by_exception(session_core& session, call_context& context, std::uint32_t id,
                                                    server_hooks& hooks) {
  const status failure = status_of_current_exception();
  hooks.after(context, failure);
  if (context.expects_response()) session.send_error(id, failure, call_context_access::response_metadata(context));
}

}  // namespace duet::inline v0::detail
#endif
