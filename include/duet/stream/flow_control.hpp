#pragma once

#include <cstdint>

namespace duet::inline v0 {

/// The sending side of one stream direction: how many more messages the
/// receiver accepts (docs/protocol.md, credit). It starts at the window the
/// receiver announced in its hello; each message sent takes one, each credit
/// frame received gives some back. A sender without credit waits.
///
/// Pure bookkeeping: no loop, no I/O, no allocation.
class send_credit {
 public:
  /// Credit for `window` messages, the receiver's announced window.
  explicit constexpr send_credit(std::uint32_t window = 0) noexcept : m_available(window) {}

  /// Messages that may be sent now.
  [[nodiscard]] constexpr std::uint32_t available() const noexcept { return m_available; }

  /// Whether one more message may be sent now.
  [[nodiscard]] constexpr bool can_send() const noexcept { return m_available != 0; }

  /// Takes the credit of one message about to be sent; false (nothing
  /// changes) when there is none.
  constexpr bool consume() noexcept {
    if (m_available == 0) return false;
    --m_available;
    return true;
  }

  /// Adds `n` messages granted by a credit frame. False (nothing changes)
  /// for a grant of 0 or one that takes the credit past 2^32 - 1: the peer
  /// broke the protocol.
  constexpr bool grant(std::uint32_t n) noexcept {
    if (n == 0 || n > ~std::uint32_t{0} - m_available) return false;
    m_available += n;
    return true;
  }

 private:
  std::uint32_t m_available;
};

/// The receiving side of one stream direction: the credit this side gave
/// the sender, the messages it holds, and when to grant more.
///
/// With window W, at every moment
///
///     outstanding (credit the sender still holds)
///       + buffered (received, not yet consumed)
///       + consumed since the last grant            == W
///
/// so the messages held never exceed W. A grant returns what was consumed,
/// once at least half the window has been (one credit frame per W/2
/// messages, and the sender never runs dry while the consumer keeps up).
///
/// Pure bookkeeping: no loop, no I/O, no allocation.
class receive_credit {
 public:
  /// A receiver that announced `window` messages (0 is taken as 1).
  explicit constexpr receive_credit(std::uint32_t window = 1) noexcept
      : m_window(window == 0 ? 1 : window), m_outstanding(m_window) {}

  /// The window this side announced.
  [[nodiscard]] constexpr std::uint32_t window() const noexcept { return m_window; }

  /// Credit the sender still holds.
  [[nodiscard]] constexpr std::uint32_t outstanding() const noexcept { return m_outstanding; }

  /// Messages received and not yet consumed.
  [[nodiscard]] constexpr std::uint32_t buffered() const noexcept { return m_window - m_outstanding - m_consumed; }

  /// A message arrived. False (nothing changes) when the sender had no
  /// credit left: it broke the protocol.
  constexpr bool receive() noexcept {
    if (m_outstanding == 0) return false;
    --m_outstanding;
    return true;
  }

  /// The application took one received message. Precondition: `buffered() > 0`.
  constexpr void consume() noexcept { ++m_consumed; }

  /// Messages to grant now, counted as granted: 0 until at least half the
  /// window was consumed since the last grant, then all of it. The caller
  /// sends a credit frame with a non-zero result.
  [[nodiscard]] constexpr std::uint32_t take_grant() noexcept {
    if (m_consumed == 0 || m_consumed < grant_threshold()) return 0;
    const std::uint32_t n = m_consumed;
    m_outstanding += n;
    m_consumed = 0;
    return n;
  }

  /// Consumed messages at which a grant is due: half the window, at least 1.
  [[nodiscard]] constexpr std::uint32_t grant_threshold() const noexcept { return m_window / 2 == 0 ? 1 : m_window / 2; }

 private:
  std::uint32_t m_window;
  std::uint32_t m_outstanding;
  std::uint32_t m_consumed = 0;
};

}  // namespace duet::inline v0
