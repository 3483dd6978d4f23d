#pragma once

#include <duet/session/detail/parked_requests.hpp>
#include <duet/session/session_options.hpp>

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

/// How loaded the serving side of a session is, and what that means for
/// the peer's requests (`session_options::on_overload`): the requests its
/// asynchronous handlers run and the bytes of answers waiting for the
/// writer, against their caps. Over a cap the session either holds back the
/// admission of new requests (`pause_reading`, the default: they are parked
/// here, in order, and admitted as room comes) or answers them
/// `resource_exhausted` (`reject`). Either way every other frame is still
/// routed (responses above all, so that a handler waiting on a call back to
/// its peer gets its answer; cancels, pings, goaway, credit and stream
/// messages); only past the parked requests' bound, or at twice the
/// answers' byte cap, does the reader stop. Served streams are counted
/// apart and do not count against the handlers' cap: a stream handler
/// waits for the peer's credit, which only the reader brings.
class backpressure {
 public:
  explicit backpressure(const session_options& options) noexcept
      : m_max_handlers(options.max_in_flight),
        m_max_answer_bytes(options.max_queued_response_bytes),
        m_pause_answer_bytes(m_max_answer_bytes > ~std::size_t{0} / 2 ? m_max_answer_bytes : 2 * m_max_answer_bytes),
        m_action(options.on_overload) {}

  void handler_started() noexcept { ++m_handlers; }
  void handler_finished() noexcept { --m_handlers; }
  void stream_started() noexcept { ++m_streams; }
  void stream_finished() noexcept { --m_streams; }

  /// Stream handlers running now.
  [[nodiscard]] std::uint32_t streams() const noexcept { return m_streams; }

  /// Asynchronous handlers running now.
  [[nodiscard]] std::uint32_t handlers() const noexcept { return m_handlers; }

  /// Whether the serving side is over one of its caps, with `answer_bytes`
  /// of answers queued or being written.
  [[nodiscard]] bool overloaded(std::size_t answer_bytes) const noexcept {
    return m_handlers >= m_max_handlers || answer_bytes >= m_max_answer_bytes;
  }

  /// Whether the reader should wait before routing or reading more: the
  /// parked requests passed their bound, `max_in_flight` frames or
  /// `max_queued_response_bytes` bytes (a peer that honours the
  /// `max_in_flight` of our hello never gets there with its calls; the
  /// same byte budget as the answers', so a flooding peer costs about twice
  /// it), or the answers waiting for the writer reached twice their cap (a
  /// peer that sends and never reads: pongs and refusals are answers too).
  [[nodiscard]] bool pauses_reader(std::size_t answer_bytes) const noexcept {
    if (answer_bytes >= m_pause_answer_bytes) return true;
    return !m_parked.empty() && (m_parked.count() > m_max_handlers || m_parked.bytes() > m_max_answer_bytes);
  }

  /// With `overload_action::pause_reading`, whether a request or
  /// notification arriving now must be parked: over the caps, or others
  /// wait ahead of it.
  [[nodiscard]] bool must_park(std::size_t answer_bytes) const noexcept {
    return (!m_parked.empty() || overloaded(answer_bytes)) && m_action == overload_action::pause_reading;
  }

  /// The requests waiting for room, oldest first (copies: only an
  /// overloaded connection makes them).
  [[nodiscard]] parked_requests& parked() noexcept { return m_parked; }
  [[nodiscard]] bool has_parked() const noexcept { return !m_parked.empty(); }

  /// With `overload_action::reject`, whether a request arriving now is over
  /// the caps and must not run (counted).
  [[nodiscard]] bool rejects(std::size_t answer_bytes) noexcept {
    if (m_action != overload_action::reject || !overloaded(answer_bytes)) return false;
    ++m_rejected;
    return true;
  }

  /// Requests and notifications `rejects` refused.
  [[nodiscard]] std::uint64_t rejected() const noexcept { return m_rejected; }

 private:
  std::uint32_t m_handlers = 0;
  std::uint32_t m_streams = 0;
  std::uint32_t m_max_handlers;
  std::size_t m_max_answer_bytes;
  std::size_t m_pause_answer_bytes;  // twice m_max_answer_bytes, saturated: see pauses_reader
  overload_action m_action;
  std::uint64_t m_rejected = 0;
  parked_requests m_parked;
};

}  // namespace duet::inline v0::detail
