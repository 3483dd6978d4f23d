#pragma once

#include <cstddef>
#include <cstdint>

namespace duet::inline v0 {

/// The sending side of one stream direction: how many more bytes of
/// stream_data frames (header included) the receiver accepts
/// (docs/protocol.md, 12.3). It starts at the window the receiver announced
/// in its hello; each message sent takes its frame's bytes, each credit
/// frame received gives some back. A message may go while the credit is
/// above zero, so the credit can end up to one message below zero (and any
/// message size makes progress); a sender at zero or below waits.
///
/// Pure bookkeeping: no loop, no I/O, no allocation.
class send_credit {
 public:
  /// Credit for `window` bytes, the receiver's announced window.
  explicit constexpr send_credit(std::uint32_t window = 0) noexcept : m_available(window) {}

  /// Bytes that may still be sent; below zero after a message larger than
  /// what was left.
  [[nodiscard]] constexpr std::int64_t available() const noexcept { return m_available; }

  /// Whether one more message, of any size, may be sent now.
  [[nodiscard]] constexpr bool can_send() const noexcept { return m_available > 0; }

  /// Takes off the credit the `frame_bytes` of one message about to be
  /// sent (its stream_data frame: header and payload); false (nothing
  /// changes) when `can_send()` is not true.
  constexpr bool consume(std::size_t frame_bytes) noexcept {
    if (m_available <= 0) return false;
    m_available -= static_cast<std::int64_t>(frame_bytes);
    return true;
  }

  /// Adds `n` bytes granted by a credit frame. False (nothing changes)
  /// for a grant of 0 or one that takes the credit past 2^32 - 1: the peer
  /// broke the protocol (an honest receiver never gives more than its
  /// window).
  constexpr bool grant(std::uint32_t n) noexcept {
    if (n == 0 || m_available + static_cast<std::int64_t>(n) > max_credit) return false;
    m_available += n;
    return true;
  }

 private:
  static constexpr std::int64_t max_credit = 0xffffffff;

  std::int64_t m_available;
};

/// The receiving side of one stream direction: the credit this side gave
/// the sender (as it tracks it), the bytes it holds, and when to grant more.
/// Bytes are those of whole stream_data frames: header and payload.
///
/// With window W, at every moment
///
///     outstanding (credit the sender still holds, as tracked here)
///       + buffered (received, not yet consumed)
///       + consumed since the last grant            == W
///
/// A message is accepted while `outstanding` is above zero, so it can
/// take `outstanding` below zero by at most one message: the bytes held
/// never exceed W plus one message less one byte. A grant returns what was
/// consumed, once at least half the window has been (one credit frame per
/// W/2 bytes, and the sender never runs dry while the consumer keeps up).
///
/// Pure bookkeeping: no loop, no I/O, no allocation.
class receive_credit {
 public:
  /// A receiver that announced `window` bytes (0 is taken as 1).
  explicit constexpr receive_credit(std::uint32_t window = 1) noexcept
      : m_window(window == 0 ? 1 : window), m_outstanding(m_window) {}

  /// The window this side announced.
  [[nodiscard]] constexpr std::uint32_t window() const noexcept { return m_window; }

  /// Credit the sender still holds, as tracked here: below zero after a
  /// message larger than what it had left.
  [[nodiscard]] constexpr std::int64_t outstanding() const noexcept { return m_outstanding; }

  /// Bytes received and not yet consumed.
  [[nodiscard]] constexpr std::uint64_t buffered() const noexcept {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(m_window) - m_outstanding -
                                      static_cast<std::int64_t>(m_consumed));
  }

  /// A message of `frame_bytes` arrived. False (nothing changes) when the
  /// sender's credit was zero or below: it broke the protocol.
  constexpr bool receive(std::size_t frame_bytes) noexcept {
    if (m_outstanding <= 0) return false;
    m_outstanding -= static_cast<std::int64_t>(frame_bytes);
    return true;
  }

  /// The application took one received message of `frame_bytes`.
  /// Precondition: it was received (counted in `buffered()`).
  constexpr void consume(std::size_t frame_bytes) noexcept { m_consumed += frame_bytes; }

  /// Bytes to grant now, counted as granted: 0 until at least half the
  /// window was consumed since the last grant, then all of it (at most
  /// 2^32 - 1 at once; the rest stays for the next grant). The caller
  /// sends a credit frame with a non-zero result.
  [[nodiscard]] constexpr std::uint32_t take_grant() noexcept {
    if (m_consumed == 0 || m_consumed < grant_threshold()) return 0;
    const std::uint32_t n = m_consumed > 0xffffffff ? 0xffffffff : static_cast<std::uint32_t>(m_consumed);
    m_outstanding += n;
    m_consumed -= n;
    return n;
  }

  /// Consumed bytes at which a grant is due: half the window, at least 1.
  [[nodiscard]] constexpr std::uint32_t grant_threshold() const noexcept {
    return m_window / 2 == 0 ? 1 : m_window / 2;
  }

 private:
  std::uint32_t m_window;
  std::int64_t m_outstanding;
  std::uint64_t m_consumed = 0;
};

}  // namespace duet::inline v0
