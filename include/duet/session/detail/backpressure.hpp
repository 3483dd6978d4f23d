#pragma once

#include <duet/session/session_options.hpp>

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

/// How loaded the serving side of a session is, and what that means for
/// the peer's requests (`session_options::on_overload`): the requests its
/// asynchronous handlers run and the bytes of answers waiting for the
/// writer, against their caps. Over a cap the session either stops routing
/// what it reads (`pause_reading`, the default) or answers new requests
/// `resource_exhausted` (`reject`), pausing only at twice the bytes' cap.
///
/// A pause holds back requests and notifications only: the frames already
/// read that answer or feed what runs (responses, cancels, credit, stream
/// messages) are still routed. Served streams are counted apart, and do not
/// pause the reader: a stream handler waits for the peer's credit, which
/// only the reader brings.
class backpressure {
 public:
  explicit backpressure(const session_options& options) noexcept
      : m_max_handlers(options.max_in_flight),
        m_max_answer_bytes(options.max_queued_response_bytes),
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

  /// Whether the reader should wait before routing or reading more.
  [[nodiscard]] bool pauses_reader(std::size_t answer_bytes) const noexcept {
    if (m_action == overload_action::reject) {
      const std::size_t cap = m_max_answer_bytes;
      return answer_bytes >= (cap > ~std::size_t{0} / 2 ? cap : 2 * cap);
    }
    return overloaded(answer_bytes);
  }

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
  overload_action m_action;
  std::uint64_t m_rejected = 0;
};

}  // namespace duet::inline v0::detail
