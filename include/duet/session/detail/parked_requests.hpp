#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/frame.hpp>

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

/// Requests and notifications that arrived while the serving side was over
/// one of its caps, waiting to be admitted in the order they came: copies
/// of whole frames, one after another in one buffer that keeps its
/// capacity. Only a connection over its caps copies a request here; every
/// other request is dispatched from the reader's buffer. The session bounds
/// how much it holds (see `backpressure::pauses_reader`).
class parked_requests {
 public:
  [[nodiscard]] bool empty() const noexcept { return m_count == 0; }
  /// Frames waiting.
  [[nodiscard]] std::size_t count() const noexcept { return m_count; }
  /// Bytes of the frames waiting, headers included.
  [[nodiscard]] std::size_t bytes() const noexcept { return m_frames.size() - m_next; }

  /// Copies `frame` (whose views may be the reader's) to the back.
  void park(const frame_view& frame) {
    encode_frame(m_frames, frame.header, frame.metadata, frame.payload);
    ++m_count;
  }

  /// Takes the oldest frame. Precondition: not empty. Its views stay valid
  /// until `park`, `release_if_drained` or `clear` with nothing between, so
  /// the frame may be dispatched as the reader dispatches its own.
  [[nodiscard]] frame_view take() noexcept;

  /// Once every frame was taken: empties the buffer for reuse, and gives
  /// its memory back if one burst grew it past the bound.
  void release_if_drained() noexcept {
    if (m_count != 0) return;
    m_frames.clear();
    m_next = 0;
    if (m_frames.capacity() > retained_capacity) byte_vector().swap(m_frames);
  }

  /// Forgets every frame (the connection ended). Keeps the memory: a frame
  /// taken just before may still be in use.
  void clear() noexcept {
    m_frames.clear();
    m_next = 0;
    m_count = 0;
  }

 private:
  static constexpr std::size_t retained_capacity = 1024 * 1024;

  byte_vector m_frames;
  std::size_t m_next = 0;   // offset of the oldest frame not taken
  std::size_t m_count = 0;  // frames not taken
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE frame_view parked_requests::take() noexcept {
  frame_view frame;
  const std::byte* at = m_frames.data() + m_next;
  (void)load_frame_header(at, frame.header, ~std::uint32_t{0});  // checked when it was read
  at += frame_header_size;
  frame.metadata = const_buffer(at, frame.header.metadata_length);
  frame.payload = const_buffer(at + frame.header.metadata_length, frame.header.payload_length);
  m_next += static_cast<std::size_t>(frame_size(frame.header));
  --m_count;
  return frame;
}

}  // namespace duet::inline v0::detail
#endif
