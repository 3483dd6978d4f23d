#pragma once

#include <duet/config.hpp>

#include <duet/detail/endian.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace duet::inline v0::detail {

class session_core;
class call_operation;
class stream_table;

/// What a session hands to its streams (docs/protocol.md, 12): the one seam
/// between the session and the stream machinery (`stream_table`, in
/// stream_table.hpp). The session holds an engine only once a stream is used
/// on it (`session_core::streams()`, reached only from the stream layer's
/// templates), so a program that declares no stream method compiles and
/// emits none of the machinery. Loop thread only.
class stream_engine {
 public:
  stream_engine() = default;
  stream_engine(const stream_engine&) = delete;
  stream_engine& operator=(const stream_engine&) = delete;
  virtual ~stream_engine() = default;

  /// The peer's hello arrived (`stream_support` knows what was negotiated):
  /// the callers waiting for it go on, or end with `unimplemented`.
  virtual void on_peer_hello(session_core& s) = 0;

  /// Routes a well-formed stream_data, stream_end or credit frame
  /// (`stream_support::malformed` found nothing wrong with it).
  virtual void on_frame(session_core& s, const frame_view& frame) = 0;

  /// A stream_data frame without metadata, after the hello, on a session
  /// that negotiated streams (`stream_support::routes_data`): the reader's
  /// short way for a stream's messages, which skips what `on_frame`'s
  /// caller checks for every stream frame.
  virtual void on_data(session_core& s, const frame_view& frame) = 0;

  /// The response to caller stream `call` (already out of the call table)
  /// arrived: the stream ends with its status, trailing metadata and, for a
  /// client stream, its value.
  virtual void on_response(session_core& s, call_operation& call, const frame_view& frame) = 0;

  /// Caller stream `call` ended on this side (its deadline, the end of the
  /// connection, a cancel); the call's code and message say why.
  virtual void on_local_end(session_core& s, call_operation& call) = 0;

  /// Caller stream `call`, which waited for room, was admitted and its
  /// request is queued (or could not be: `call.done`).
  virtual void on_admitted(session_core& s, call_operation& call) = 0;

  /// The session is ending: callers still waiting for the hello end.
  virtual void on_shutdown(session_core& s) = 0;

  /// The writer took the queued output: senders waiting for room go on.
  virtual void on_output_taken(session_core& s) = 0;
};

/// The session's side of the seam (`session_core::m_streams`): whether this
/// side announces streams and with what window, what the hellos
/// negotiated, the stream frames dropped, and the engine once there is one.
///
/// This side announces streams (`session_options::streams`) whether or not
/// the program has stream code: a client's hello leaves before anybody
/// could know whether it will open a stream, and one that did not announce
/// could never open one. Until its engine is installed, a session has no
/// stream, so a stream frame that is well formed names an id no stream has:
/// it is dropped and counted, as the engine would.
class stream_support {
 public:
  stream_support(bool enabled, std::uint32_t window) noexcept
      : m_enabled(enabled), m_window(window == 0 ? 1 : window) {}

  /// Whether this side announces streams in its hello.
  [[nodiscard]] bool enabled() const noexcept { return m_enabled; }
  /// The window this side announces: the bytes of stream_data frames it
  /// accepts per stream direction.
  [[nodiscard]] std::uint32_t window() const noexcept { return m_window; }
  /// Whether the peer's hello has arrived.
  [[nodiscard]] bool peer_known() const noexcept { return m_peer_known; }
  /// Whether both hellos announced streams.
  [[nodiscard]] bool negotiated() const noexcept { return m_negotiated; }
  /// The window the peer announced (0 until negotiated).
  [[nodiscard]] std::uint32_t peer_window() const noexcept { return m_peer_window; }

  /// Stream frames dropped because their id matched no open stream (they
  /// crossed its end on the wire).
  [[nodiscard]] std::uint64_t dropped_frames() const noexcept { return m_dropped; }
  void drop_frame() noexcept { ++m_dropped; }

  /// The engine, or null while no stream was used on this session; the
  /// table inside it (`stream_table`), for the stream layer.
  [[nodiscard]] stream_engine* engine() const noexcept { return m_engine.get(); }
  [[nodiscard]] stream_table* table() const noexcept { return m_table; }
  void install(std::unique_ptr<stream_engine> engine, stream_table& table) noexcept {
    m_engine = std::move(engine);
    m_table = &table;
  }

  /// The peer's hello arrived: records what was negotiated and tells the engine.
  void on_peer_hello(session_core& s, const hello_message& hello) {
    m_peer_known = true;
    m_negotiated = m_enabled && (hello.features & feature_streams) != 0;
    m_peer_window = m_negotiated ? hello.stream_window : 0;
    if (m_engine) m_engine->on_peer_hello(s);
  }

  /// Whether the reader may hand a stream_data frame without metadata
  /// straight to the engine (`stream_engine::on_data`): streams were
  /// negotiated and a stream was used.
  [[nodiscard]] bool routes_data() const noexcept { return m_negotiated && m_engine != nullptr; }

  /// Why a stream frame is a protocol error whatever its id (streams not
  /// negotiated, metadata, a stream_end with a payload, a credit frame not
  /// granting 1 to 2^32 - 1 bytes), or empty when it is well formed.
  [[nodiscard]] std::string malformed(const frame_view& frame) const;

  // The session's hooks, for caller streams (which exist only with an
  // engine) or for whatever engine there is.
  void on_response(session_core& s, call_operation& call, const frame_view& frame) {
    m_engine->on_response(s, call, frame);
  }
  void on_local_end(session_core& s, call_operation& call) { m_engine->on_local_end(s, call); }
  void on_admitted(session_core& s, call_operation& call) { m_engine->on_admitted(s, call); }
  void on_shutdown(session_core& s) {
    if (m_engine) m_engine->on_shutdown(s);
  }
  void on_output_taken(session_core& s) {
    if (m_engine) m_engine->on_output_taken(s);
  }

 private:
  bool m_enabled;
  std::uint32_t m_window;
  bool m_peer_known = false;
  bool m_negotiated = false;
  std::uint32_t m_peer_window = 0;
  std::uint64_t m_dropped = 0;
  std::unique_ptr<stream_engine> m_engine;
  stream_table* m_table = nullptr;  // inside m_engine
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE std::string stream_support::malformed(const frame_view& frame) const {
  const frame_header& h = frame.header;
  if (!m_negotiated) {
    return std::string("a ") + std::string(to_string(h.kind)) + " frame, but streams were not negotiated";
  }
  if (!frame.metadata.empty()) return std::string("metadata in a ") + std::string(to_string(h.kind)) + " frame";
  if (h.kind == frame_kind::stream_end && !frame.payload.empty()) return "a stream_end frame with a payload";
  if (h.kind == frame_kind::credit) {
    if (frame.payload.size() != 4) return "a credit frame whose payload is not 4 bytes";
    if (load_le32(frame.payload.data()) == 0) return "a credit frame granting 0 bytes";
  }
  return {};
}

}  // namespace duet::inline v0::detail
#endif
