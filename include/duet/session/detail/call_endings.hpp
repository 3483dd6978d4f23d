#pragma once

// The definitions of session_core's outgoing calls off the hot path
// (session_core.hpp): a call refused by a connection that is not open, a
// call cancelled by its stop token, a call whose deadline passed, and
// notifications. They need the whole session core: session_core.hpp
// includes this file at its end.

#include <duet/config.hpp>

#include <duet/loop/event_loop.hpp>
#include <duet/session/detail/call_operation.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>

#include <coroutine>
#include <cstdint>
#include <utility>

#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

[[gnu::noinline]] DUET_INLINE bool session_core::refuse_call(call_operation& call) {
  if (m_lifecycle.closed()) {
    finish(call, m_end_status.code(), m_end_status.message());
  } else {
    finish(call, status_code::unavailable, "the peer is going away (goaway): no new calls on this connection");
  }
  return true;
}

DUET_INLINE std::coroutine_handle<> session_core::cancel_call(call_operation& call) {
  if (!call.done) {
    if (call.id == 0) {
      m_admission.unqueue(call);
    } else if (m_admission.take(call.id) != nullptr && !m_lifecycle.closed()) {
      m_frames.control(frame_kind::cancel, call.id, call.method, {});
      wake_writer();
    }
    finish(call, status_code::cancelled, "the call was cancelled");
    admit_queued();
    close_when_idle();
  } else {
    // Ended (a response, a deadline) after the stop claimed it: the stop
    // came first, so the call reports it; a response's bytes are gone.
    call.code = status_code::cancelled;
    call.message = "the call was cancelled";
    call.payload = {};
    if (call.response_metadata != nullptr) call.response_metadata->clear();
  }
  return std::exchange(call.waiter, {});
}

DUET_INLINE void session_core::on_deadline(timer_node& node) noexcept {
  auto& call = static_cast<call_operation&>(node);
  session_core& self = *call.session;
  if (call.id == 0) {
    self.m_admission.unqueue(call);  // still waiting for room: it never went out
  } else if (self.m_admission.take(call.id) == nullptr) {
    return;
  }
  self.complete(call, status_code::deadline_exceeded, "the call's deadline passed");
  self.admit_queued();
  self.close_when_idle();
}

[[gnu::noinline]] DUET_INLINE status session_core::notify(std::uint32_t method, argument_encoder encode,
                                                          const void* arguments) {
  if (m_lifecycle.closed()) return status(status_code::unavailable, "the connection is closed");
  if (!m_frames.encode_outgoing(frame_header{frame_kind::notification, 0, 0, 0, method, 0, 0}, encode, arguments)) {
    return m_frames.take_failure();
  }
  wake_writer();
  return status();
}

}  // namespace duet::inline v0::detail
#endif
