#pragma once

// The definitions of session_core's routing of the frames that are neither
// requests nor responses of unary calls (session_core.hpp): the peer's
// hello, stream frames and the response that ends a caller's stream (both
// through the stream seam, stream_engine.hpp), and the check of a frame's
// metadata block. Off the unary hot path, out of line. They need the whole
// session core: session_core.hpp includes this file at its end.

#include <duet/config.hpp>

#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/stream_engine.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/native.hpp>

#include <string>

#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void session_core::route_hello(const frame_view& frame) {
  hello_message hello{};
  if (const char* why = m_hello.accept(frame, hello)) {
    shutdown(status_code::protocol_error, why);
    return;
  }
  m_frames.set_peer_max_frame_size(hello.max_frame_size);
  // A peer that serves nothing (0) answers any call with unimplemented;
  // admitting the calls lets each of them end with that answer.
  if (hello.max_in_flight != 0) m_admission.set_peer_max_in_flight(hello.max_in_flight);
  m_streams.on_peer_hello(*this, hello);
}

[[gnu::noinline]] DUET_INLINE void session_core::route_stream_frame(const frame_view& frame) {
  if (std::string why = m_streams.malformed(frame); !why.empty()) {
    shutdown(status_code::protocol_error, why);
  } else if (stream_engine* engine = m_streams.engine()) {
    engine->on_frame(*this, frame);
  } else {
    m_streams.drop_frame();
  }
}

[[gnu::noinline]] DUET_INLINE void session_core::route_stream_response(call_operation& call, const frame_view& frame) {
  m_streams.on_response(*this, call, frame);
  admit_queued();
  if (m_lifecycle.winding_down()) close_when_idle();
}

[[gnu::noinline]] DUET_INLINE bool session_core::check_metadata(const frame_view& frame) {
  if (is_well_formed_metadata(frame.metadata)) return true;
  shutdown(status_code::protocol_error,
           std::string("malformed metadata in a ") + std::string(to_string(frame.header.kind)) + " frame");
  return false;
}

}  // namespace duet::inline v0::detail
#endif
