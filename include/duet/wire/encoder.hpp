#pragma once

#include <duet/config.hpp>

#include <cassert>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <limits>
#include <stdexcept>  // length_error

#include "duet/bytes.hpp"
#include "duet/wire/frame.hpp"

namespace duet::inline v0 {

/// Appends native frames to a byte vector, with the body encoded in place.
///
/// The caller writes one frame at a time into the vector it gave:
///
/// ```
/// frame_encoder enc{out};
/// enc.begin(frame_kind::request, id, method);  // appends a header, lengths unknown
/// /* append metadata to out (optional) */
/// enc.end_metadata();                          // the bytes so far are metadata
/// /* append the payload to out, e.g. with the codec */
/// enc.end();                                   // the rest is payload; lengths patched
/// ```
///
/// Bytes already in the vector before `begin()` are left alone, so one vector
/// collects every frame queued in a loop turn and leaves in one write. The
/// encoder keeps offsets, not pointers: the vector may reallocate while the
/// body is appended. It does not check the peer's frame-size limit; compare
/// the body size against the peer's hello before sending.
///
/// Not thread-safe; the vector must outlive the encoder.
class frame_encoder {
public:
  /// An encoder appending to `out`.
  explicit frame_encoder(byte_vector& out) noexcept : m_out(&out) {}

  /// Starts a frame: appends a header whose lengths are patched by `end()`.
  /// Precondition: no frame is open. Throws `std::bad_alloc`.
  void begin(frame_kind kind, std::uint32_t id, std::uint32_t method, std::uint16_t status = 0,
             std::uint16_t flags = 0) {
    assert(!m_open && "frame_encoder::begin: the previous frame was not ended");
    m_header_at = m_out->size();
    m_out->resize(m_header_at + frame_header_size);
    store_frame_header(m_out->data() + m_header_at, frame_header{kind, flags, status, id, method, 0, 0});
    m_payload_at = m_out->size();
    m_open = true;
  }

  /// Marks everything appended since `begin()` as the frame's metadata; what
  /// follows is payload. Optional when there is no metadata. Precondition: a
  /// frame is open.
  void end_metadata() noexcept {
    assert(m_open && "frame_encoder::end_metadata: no frame is open");
    m_payload_at = m_out->size();
  }

  /// Ends the frame: everything appended since `end_metadata()` (or since
  /// `begin()`) is payload; writes both lengths into the header.
  ///
  /// Throws `std::length_error` (and removes the frame) when the metadata or
  /// the payload exceeds 4 GiB - 1 bytes, which the header cannot express.
  /// Precondition: a frame is open.
  void end();

  /// Abandons the open frame (e.g. when encoding its payload threw): the
  /// vector is truncated to what it held before `begin()`. Does nothing when
  /// no frame is open.
  void cancel() noexcept {
    if (!m_open) return;
    m_out->resize(m_header_at);  // shrinking never allocates or throws
    m_open = false;
  }

  /// Whether `begin()` was called without a matching `end()` or `cancel()`.
  [[nodiscard]] bool is_open() const noexcept { return m_open; }

  /// Bytes appended to the open frame's body so far (metadata + payload);
  /// 0 when no frame is open. Lets the caller check the peer's limit.
  [[nodiscard]] std::size_t body_size() const noexcept {
    return m_open ? m_out->size() - m_header_at - frame_header_size : 0;
  }

private:
  byte_vector* m_out;
  std::size_t m_header_at = 0;   // offset of the open frame's header in *m_out
  std::size_t m_payload_at = 0;  // offset where its payload starts (= end of metadata)
  bool m_open = false;
};

/// Appends one whole frame to `out`: header `h` (its lengths are ignored and
/// replaced by the sizes of `metadata` and `payload`), then both parts.
///
/// Throws `std::length_error` when either part exceeds 4 GiB - 1 bytes
/// (nothing is appended then), `std::bad_alloc` when the vector cannot grow.
DUET_INLINE void encode_frame(byte_vector& out, const frame_header& h, const_buffer metadata, const_buffer payload);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE void frame_encoder::end() {
  assert(m_open && "frame_encoder::end: no frame is open");
  const std::size_t body_at = m_header_at + frame_header_size;
  const std::size_t metadata = m_payload_at - body_at;
  const std::size_t payload = m_out->size() - m_payload_at;
  if (metadata > std::numeric_limits<std::uint32_t>::max() ||
      payload > std::numeric_limits<std::uint32_t>::max()) {
    cancel();
    throw std::length_error("duet: frame metadata or payload longer than 4 GiB - 1 bytes");
  }
  std::byte* const header = m_out->data() + m_header_at;
  detail::store_le32(header + 16, static_cast<std::uint32_t>(metadata));
  detail::store_le32(header + 20, static_cast<std::uint32_t>(payload));
  m_open = false;
}

DUET_INLINE void encode_frame(byte_vector& out, const frame_header& h, const_buffer metadata, const_buffer payload) {
  if (metadata.size() > std::numeric_limits<std::uint32_t>::max() ||
      payload.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("duet: frame metadata or payload longer than 4 GiB - 1 bytes");
  frame_header full = h;
  full.metadata_length = static_cast<std::uint32_t>(metadata.size());
  full.payload_length = static_cast<std::uint32_t>(payload.size());
  // One resize and plain copies: g++ 12 at -O3 reports a false
  // -Warray-bounds inside vector::insert, which would break users' -Werror.
  const std::size_t at = out.size();
  out.resize(at + frame_header_size + metadata.size() + payload.size());
  std::byte* p = out.data() + at;
  store_frame_header(p, full);
  if (!metadata.empty()) std::memcpy(p + frame_header_size, metadata.data(), metadata.size());
  if (!payload.empty()) std::memcpy(p + frame_header_size + metadata.size(), payload.data(), payload.size());
}

}  // namespace duet::inline v0
#endif
