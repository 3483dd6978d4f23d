#pragma once

// The definitions of session_core's serving side off the hot path
// (session_core.hpp): requests answered without running them (draining,
// nothing served, over the caps), requests parked over the caps and
// admitted again (`backpressure`, backpressure.hpp), and answers that are
// errors or kept from earlier. They need the whole session core:
// session_core.hpp includes this file at its end.

#include <duet/config.hpp>

#include <duet/detail/scope_exit.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>

#include <cstdint>
#include <utility>

#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void session_core::capture_answer(answer_capture& c) noexcept {
  if (m_lifecycle.closed()) {
    c.on_abandon(c);
    return;
  }
  m_captures.add(c);
}

DUET_INLINE void session_core::stream_handler_finished() noexcept {
  m_load.stream_finished();
  notify_if_idle();
  close_when_idle();
}

[[gnu::noinline]] DUET_INLINE void session_core::refuse_request(std::uint32_t id) {
  if (m_lifecycle.draining()) {
    send_error(id, status(status_code::unavailable, "the server is draining (goaway sent): the request was not run"));
  } else if (m_dispatcher == nullptr) {
    send_error(id, status(status_code::unimplemented, "this side serves no methods"));
  } else {  // over the caps (`rejects` counted it)
    send_error(id, status(status_code::resource_exhausted, "the server is overloaded on this connection"));
  }
}

[[gnu::noinline]] DUET_INLINE void session_core::park(const frame_view& frame) {
  m_load.parked().park(frame);
  // Parked behind others while under the caps (they are admitted as soon
  // as room comes, so this is rare): let them all go on now.
  if (!m_load.overloaded(queued_response_bytes())) admit_parked();
}

[[gnu::noinline]] DUET_INLINE void session_core::admit_parked() {
  parked_requests& parked = m_load.parked();
  if (!m_admitting_parked && !parked.empty()) {
    // A handler admitted here may end at once and call back in: the flag
    // keeps this loop the only one taking from the queue.
    m_admitting_parked = true;
    {
      const scope_exit done([this]() noexcept { m_admitting_parked = false; });
      while (!parked.empty() && !m_lifecycle.closed() &&
             (m_lifecycle.draining() || !m_load.overloaded(queued_response_bytes()))) {
        admit(parked.take());
      }
    }
    parked.release_if_drained();
    if (parked.empty()) close_when_idle();
  }
  if (m_reader && !reader_should_pause()) m_loop.post(std::exchange(m_reader, {}));
}

DUET_INLINE void session_core::send_error(std::uint32_t id, const status& s, const metadata* response_metadata) {
  if (m_lifecycle.closed()) return;
  const auto code = static_cast<std::uint16_t>(s.ok() ? status_code::internal : s.code());
  const std::size_t at = m_frames.error_response(id, code, s.message(), response_metadata);
  if (!m_captures.empty()) m_captures.deliver(id, m_frames.queue().buffer(), at);
  wake_writer();
}

DUET_INLINE void session_core::send_kept_answer(std::uint32_t id, std::uint16_t code, const_buffer metadata_block,
                                                const_buffer payload) {
  if (m_lifecycle.closed()) return;
  if (!m_frames.kept_answer(id, code, metadata_block, payload)) {
    send_error(id,
               status(status_code::resource_exhausted, "the kept answer is larger than the peer's maximum frame size"));
    return;
  }
  wake_writer();
}

}  // namespace duet::inline v0::detail
#endif
