#pragma once

#include <duet/config.hpp>

#include <cstdint>

namespace duet::inline v0::detail {

/// Where a connection is in its life (docs/design.md, "The connection's
/// lifecycle", draws the transitions). A goaway either way winds the
/// connection down: nothing new starts on the side that said goaway
/// (`draining`: this side answers new requests `unavailable`;
/// `peer_going_away`: this side starts no new calls), and once nothing is
/// in flight the writer sends what is queued and closes (`*_flushing`).
/// `closed` is final: the transport is closed and every call has ended.
enum class connection_state : std::uint8_t {
  open,
  draining,                   // this side sent goaway
  peer_going_away,            // the peer sent goaway
  both_going_away,            // both did
  draining_flushing,          // draining, and nothing is in flight: close once the output is written
  peer_going_away_flushing,   // peer_going_away, and nothing is in flight
  both_going_away_flushing,   // both_going_away, and nothing is in flight
  closed,
};

/// The connection's state, changed only by the transitions below; each
/// returns whether it applied (a transition that does not apply in the
/// current state leaves it alone).
class lifecycle {
 public:
  [[nodiscard]] connection_state state() const noexcept { return m_state; }

  [[nodiscard]] bool closed() const noexcept { return m_state == connection_state::closed; }

  /// Whether this side sent goaway (and is not closed).
  [[nodiscard]] bool draining() const noexcept {
    return m_state == connection_state::draining || m_state == connection_state::both_going_away ||
           m_state == connection_state::draining_flushing || m_state == connection_state::both_going_away_flushing;
  }

  /// Whether the peer sent goaway (and the connection is not closed).
  [[nodiscard]] bool peer_going_away() const noexcept {
    return m_state == connection_state::peer_going_away || m_state == connection_state::both_going_away ||
           m_state == connection_state::peer_going_away_flushing ||
           m_state == connection_state::both_going_away_flushing;
  }

  /// Whether a goaway either way was sent and the connection is not closed.
  [[nodiscard]] bool winding_down() const noexcept {
    return m_state != connection_state::open && m_state != connection_state::closed;
  }

  /// Whether nothing is in flight after a goaway: the writer closes the
  /// connection once the output is written.
  [[nodiscard]] bool flushing() const noexcept {
    return m_state >= connection_state::draining_flushing && m_state != connection_state::closed;
  }

  /// This side sends goaway: open -> draining, peer_going_away(_flushing)
  /// -> both_going_away(_flushing).
  bool start_draining() noexcept;

  /// The peer sent goaway: open -> peer_going_away, draining(_flushing) ->
  /// both_going_away(_flushing).
  bool peer_said_goaway() noexcept;

  /// Nothing is in flight any more after a goaway: X -> X_flushing.
  bool start_flushing() noexcept;

  /// Any state but closed -> closed.
  bool close() noexcept {
    if (m_state == connection_state::closed) return false;
    m_state = connection_state::closed;
    return true;
  }

 private:
  connection_state m_state = connection_state::open;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE bool lifecycle::start_draining() noexcept {
  switch (m_state) {
    case connection_state::open: m_state = connection_state::draining; return true;
    case connection_state::peer_going_away: m_state = connection_state::both_going_away; return true;
    case connection_state::peer_going_away_flushing:
      m_state = connection_state::both_going_away_flushing;
      return true;
    default: return false;
  }
}

DUET_INLINE bool lifecycle::peer_said_goaway() noexcept {
  switch (m_state) {
    case connection_state::open: m_state = connection_state::peer_going_away; return true;
    case connection_state::draining: m_state = connection_state::both_going_away; return true;
    case connection_state::draining_flushing: m_state = connection_state::both_going_away_flushing; return true;
    default: return false;
  }
}

DUET_INLINE bool lifecycle::start_flushing() noexcept {
  switch (m_state) {
    case connection_state::draining: m_state = connection_state::draining_flushing; return true;
    case connection_state::peer_going_away: m_state = connection_state::peer_going_away_flushing; return true;
    case connection_state::both_going_away: m_state = connection_state::both_going_away_flushing; return true;
    default: return false;
  }
}

}  // namespace duet::inline v0::detail
#endif
