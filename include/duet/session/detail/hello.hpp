#pragma once

#include <duet/session/session_options.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

namespace duet::inline v0::detail {

/// The exchange of hellos that opens a connection (docs/protocol.md,
/// hello): each side's first frame announces the largest frame it accepts
/// and how many requests it serves at once.
class handshake {
 public:
  /// This side's hello: `serves` is false when it has no dispatcher (0
  /// requests at once tells the peer it serves nothing).
  [[nodiscard]] static hello_message ours(const session_options& options, bool serves) noexcept {
    hello_message hello{};
    hello.max_frame_size = options.max_frame_size;
    hello.max_in_flight = serves ? options.max_in_flight : 0;
    if (options.streams) {
      hello.features |= feature_streams;
      hello.stream_window = options.stream_window == 0 ? 1 : options.stream_window;
    }
    return hello;
  }

  /// Whether the peer's hello came.
  [[nodiscard]] bool done() const noexcept { return m_done; }

  /// The peer's first frame, which must be a well-formed hello: decodes it
  /// into `peer` and returns null, or returns why the connection must end.
  [[nodiscard]] const char* accept(const frame_view& frame, hello_message& peer) noexcept {
    if (frame.header.kind != frame_kind::hello) return "the peer's first frame was not hello";
    peer = hello_message{};
    if (!decode_hello(frame.payload, peer)) return "the peer's hello frame is malformed";
    m_done = true;
    return nullptr;
  }

 private:
  bool m_done = false;
};

}  // namespace duet::inline v0::detail
