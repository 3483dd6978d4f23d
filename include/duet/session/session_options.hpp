#pragma once

#include <duet/loop/deadline.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace duet::inline v0 {

/// What a serving session does with a request that arrives while the
/// connection is over one of its caps (`session_options::max_in_flight`
/// requests running, or `max_queued_response_bytes` of answers waiting for
/// the writer).
enum class overload_action : std::uint8_t {
  /// Admit no new request until the connection is back under its caps:
  /// the requests that arrive meanwhile wait, in order (copied out of the
  /// read buffer), while responses and every other frame are still read,
  /// so a handler waiting on a call back to its peer gets its answer. Past
  /// `max_in_flight` waiting requests, or `max_queued_response_bytes` of
  /// them, the session stops reading: the peer's requests wait in the
  /// socket (and then in the peer's kernel and write buffers). Nothing is
  /// lost and nothing runs early.
  pause_reading,
  /// Keep reading, and answer each request over the caps at once with
  /// `resource_exhausted` without running it (a notification over the caps
  /// is dropped). Those answers take room too: once the queued answers
  /// reach twice `max_queued_response_bytes`, the session stops reading as
  /// with `pause_reading`, so memory stays bounded either way.
  reject,
};

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
  /// from the peer whose handlers may run at once (past it new requests
  /// wait until one finishes, or are refused, see `on_overload`).
  std::uint32_t max_in_flight = 16384;

  /// Bytes of encoded frames waiting for the writer past which new calls
  /// wait for room, and stream senders wait in `send` until the writer has
  /// taken the output: bounds memory when the peer reads slowly, and keeps
  /// a stream from encoding far ahead of the socket. (While the writer is
  /// not writing, stream senders already wait at 64 KiB, or at this limit
  /// if smaller, so that it starts.)
  std::size_t max_queued_bytes = std::size_t{8} << 20;

  /// Bytes of encoded answers (responses, error responses, pongs) waiting
  /// for the writer, queued or being written, past which the serving side
  /// stops taking requests from the peer (see `on_overload`) until the writer
  /// has drained below it: bounds memory when a peer sends requests but does
  /// not read the answers. Checked before each request, so the queue can pass
  /// it by one answer, plus the answers of coroutine handlers already running.
  std::size_t max_queued_response_bytes = std::size_t{8} << 20;

  /// What happens to requests past `max_in_flight` or
  /// `max_queued_response_bytes`: the session stops reading (the default), or
  /// answers them `resource_exhausted` without running them.
  overload_action on_overload = overload_action::pause_reading;

  /// Keepalive (off while zero): when nothing has been read from the peer
  /// for this long (checked once per interval, so a ping leaves after one
  /// to two intervals of quiet), send a ping; see `keepalive_timeout`.
  duration keepalive_interval{};

  /// How long after a keepalive ping some frame (the pong, or anything
  /// else) must arrive; if none does, the session ends with `unavailable`
  /// ("keepalive timeout") and every pending call with it.
  duration keepalive_timeout = std::chrono::seconds(20);

  /// Whether this side announces streams in its hello (docs/streams.md).
  /// Off: the peer never opens a stream here, and streams opened from here
  /// end at once with `unimplemented`.
  bool streams = true;

  /// The bytes of stream messages this side accepts per stream direction
  /// before it grants more credit (its hello's `stream_window`, 0 taken as
  /// 1; docs/streams.md, "Flow control"). Each message counts its payload
  /// plus 24 bytes (its frame's header), so empty messages count too. A
  /// slow consumer holds at most this plus one message per stream; a
  /// window much smaller than a message costs a round trip per message
  /// (any message still goes through: a sender with credit left may send
  /// one of any size). Credit is granted once half the window was consumed.
  std::uint32_t stream_window = default_stream_window;
};

}  // namespace duet::inline v0
