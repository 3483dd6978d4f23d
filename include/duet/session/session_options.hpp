#pragma once

#include <duet/loop/deadline.hpp>
#include <duet/wire/frame.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace duet::inline v0 {

/// Limits of one connection, the same for its calling and serving sides.
/// Each side tells the peer its own limits in the hello frame and honours
/// the peer's.
struct session_options {
  /// Largest frame body (metadata + payload) this side accepts. A larger
  /// incoming frame is a protocol error that closes the connection; a call
  /// or response larger than the *peer's* limit fails alone with
  /// `resource_exhausted`.
  std::uint32_t max_frame_size = default_max_frame_size;

  /// Most calls this side keeps waiting for a response at once (further
  /// callers wait for a slot, first come first served), and most requests
  /// from the peer whose handlers may run at once (past it the session
  /// stops reading until one finishes).
  std::uint32_t max_in_flight = 16384;

  /// Bytes of encoded frames waiting for the writer past which new calls
  /// wait for room: bounds memory when the peer reads slowly.
  std::size_t max_queued_bytes = std::size_t{8} << 20;

  /// Keepalive (off while zero): when nothing has been read from the peer
  /// for this long (checked once per interval, so a ping leaves after one
  /// to two intervals of quiet), send a ping; see `keepalive_timeout`.
  duration keepalive_interval{};

  /// How long after a keepalive ping some frame (the pong, or anything
  /// else) must arrive; if none does, the session ends with `unavailable`
  /// ("keepalive timeout") and every pending call with it.
  duration keepalive_timeout = std::chrono::seconds(20);
};

}  // namespace duet::inline v0
