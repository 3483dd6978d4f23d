#pragma once

#include <duet/config.hpp>

#include <duet/loop/event_loop.hpp>

#include <cstdint>

namespace duet::inline v0::detail {

class session_core;

/// A timer inside a session (the keepalive's, the drain's grace period).
struct session_timer : timer_node {
  session_core* owner = nullptr;
};

/// What the keepalive timer does when it fires.
enum class keepalive_step : std::uint8_t {
  wait,       // the peer was heard from: wait another interval
  ping,       // silence for an interval: send a ping, wait for the timeout
  peer_dead,  // silence since the ping: the peer is taken for dead
};

/// The keepalive's state (`session_options::keepalive_interval`): the timer
/// fires every interval; a read since the last look means the peer lives;
/// otherwise a ping goes out, and if still nothing has been read when the
/// timeout passes, the peer is taken for dead.
class keepalive {
 public:
  [[nodiscard]] session_timer& timer() noexcept { return m_timer; }

  /// A read brought bytes: a sign of life.
  void heard() noexcept { ++m_reads; }

  /// The timer fired: what to do now.
  [[nodiscard]] keepalive_step due() noexcept;

  /// The id of the next ping; the ping counts as sent and outstanding (even
  /// when it could not be queued: the timeout still applies).
  std::uint32_t next_ping() noexcept {
    ++m_pings_sent;
    m_ping_outstanding = true;
    return ++m_next_ping_id;
  }

  /// Pings sent so far.
  [[nodiscard]] std::uint64_t pings_sent() const noexcept { return m_pings_sent; }

 private:
  session_timer m_timer;
  std::uint64_t m_reads = 0;       // reads that brought bytes
  std::uint64_t m_reads_seen = 0;  // m_reads when the timer last looked
  std::uint64_t m_pings_sent = 0;
  std::uint32_t m_next_ping_id = 0;
  bool m_ping_outstanding = false;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE keepalive_step keepalive::due() noexcept {
  if (m_reads != m_reads_seen) {
    m_reads_seen = m_reads;
    m_ping_outstanding = false;
    return keepalive_step::wait;
  }
  return m_ping_outstanding ? keepalive_step::peer_dead : keepalive_step::ping;
}

}  // namespace duet::inline v0::detail
#endif
