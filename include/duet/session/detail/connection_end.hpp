#pragma once

// The definitions of session_core's end of the connection
// (session_core.hpp): shutdown, a graceful drain, the peer's goaway, and the
// keepalive timer that notices a silent peer. The state they move through
// is `lifecycle` (lifecycle.hpp); the pings' bookkeeping is `keepalive`
// (keepalive.hpp). They need the whole session core: session_core.hpp
// includes this file at its end.

#include <duet/config.hpp>

#include <duet/loop/event_loop.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>

#include <span>
#include <string>
#include <string_view>
#include <utility>

#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void session_core::on_unusable(void (*fn)(void*) noexcept, void* context) noexcept {
  m_on_unusable = fn;
  m_on_unusable_context = context;
}

DUET_INLINE void session_core::notify_unusable() noexcept {
  if (auto fn = std::exchange(m_on_unusable, nullptr)) fn(m_on_unusable_context);
}

DUET_INLINE void session_core::shutdown(status_code code, std::string_view why) {
  if (!m_lifecycle.close()) return;
  m_end_status = status(code, std::string(why));
  m_loop.cancel_timer(m_drain_timer);
  m_loop.cancel_timer(m_keepalive.timer());
  notify_unusable();
  m_load.parked().clear();    // requests parked over the caps will never run
  m_running.cancel_all();     // handlers still running serve a connection that is gone
  m_captures.abandon_all();   // answers still awaited will not come
  m_streams.on_shutdown(*this);  // streams still waiting for the peer's hello
  close_transport();
  wake_writer();
  // A reader parked by backpressure must wake to see the end.
  if (m_reader) m_loop.post(std::exchange(m_reader, {}));
  fail_everything();
}

DUET_INLINE void session_core::fail_everything() {
  const status_code code = m_end_status.code();
  m_admission.take_all([&](call_operation& call) { complete(call, code, m_end_status.message()); });
  while (call_operation* call = m_admission.dequeue())
    complete(*call, code, m_end_status.message());
}

DUET_INLINE void session_core::flushed_and_closing() {
  shutdown(status_code::unavailable, m_lifecycle.draining() ? "the connection was drained (goaway)"
                                                            : "the connection was closed after the peer's goaway");
}

DUET_INLINE void session_core::on_drain_grace_over(timer_node& node) noexcept {
  static_cast<session_timer&>(node).owner->shutdown(status_code::unavailable, "the server's drain grace period ended");
}

DUET_INLINE void session_core::drain(time_point deadline, std::string_view why) {
  if (!m_lifecycle.start_draining()) return;
  // Set here, not in the constructor: a program that never drains
  // compiles none of it.
  m_drain_timer.owner = this;
  m_drain_timer.set_callback(&on_drain_grace_over);
  m_frames.control(frame_kind::goaway, 0, 0, std::as_bytes(std::span<const char>(why.data(), why.size())));
  wake_writer();
  m_loop.start_timer(m_drain_timer, deadline);
  admit_parked();  // answers them unavailable
  close_when_idle();
}

DUET_INLINE void session_core::route_goaway(const frame_view& frame) {
  if (!m_lifecycle.peer_said_goaway()) return;
  std::string why = "the peer is going away (goaway)";
  if (!frame.payload.empty()) {
    why += ": ";
    why.append(reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size());
  }
  notify_unusable();
  // Calls still waiting for room never went out, and must not go out here.
  while (call_operation* call = m_admission.dequeue()) {
    complete(*call, status_code::unavailable, why);
    if (m_lifecycle.closed()) return;  // a resumed caller closed the session
  }
  close_when_idle();
}

DUET_INLINE void session_core::start_keepalive() {
  if (m_options.keepalive_interval > duration::zero() && !m_lifecycle.closed()) {
    m_loop.start_timer(m_keepalive.timer(), deadline_after(m_options.keepalive_interval));
  }
}

DUET_INLINE void session_core::on_keepalive(timer_node& node) noexcept {
  session_core& self = *static_cast<session_timer&>(node).owner;
  if (self.m_lifecycle.closed()) return;
  switch (self.m_keepalive.due()) {
    case keepalive_step::wait:
      self.m_loop.start_timer(node, deadline_after(self.m_options.keepalive_interval));
      return;
    case keepalive_step::peer_dead:
      self.shutdown(status_code::unavailable, "keepalive timeout: the peer did not answer a ping in time");
      return;
    case keepalive_step::ping:
      break;
  }
  const std::uint32_t id = self.m_keepalive.next_ping();
  try {
    self.m_frames.control(frame_kind::ping, id, 0, {});
    self.wake_writer();
  } catch (...) {
    // Out of memory: no ping this time; the timeout still applies.
  }
  self.m_loop.start_timer(node, deadline_after(self.m_options.keepalive_timeout));
}

}  // namespace duet::inline v0::detail
#endif
