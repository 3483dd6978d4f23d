#pragma once

#include <duet/config.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <span>
#include <stdexcept>  // invalid_argument, length_error
#include <string_view>
#include <vector>

#include "duet/bytes.hpp"
#include "duet/detail/endian.hpp"
#include "duet/wire/decoder.hpp"
#include "duet/wire/encoder.hpp"
#include "duet/wire/frame.hpp"
#include "duet/wire/protocol.hpp"

namespace duet::inline v0 {

/// duet's native wire protocol (docs/protocol.md): the frames of
/// `wire/frame.hpp`, read by `frame_decoder` and written by `frame_encoder`.
///
/// On top of framing, a native connection starts with a hello exchange:
/// each side's first frame is a hello (`encode_hello`) carrying the limits
/// it accepts; a peer whose first frame is not a valid hello
/// (`decode_hello` fails) broke the protocol.
struct native_protocol {
  using decoder = frame_decoder;
  using encoder = frame_encoder;
  static constexpr std::string_view name = "duet";
};

static_assert(wire_protocol<native_protocol>);

// ---------------------------------------------------------------------------
// Hello

/// Feature bit 0 of a hello: the sender speaks streams (docs/protocol.md,
/// streams) and its hello payload carries `stream_window` after the 16
/// bytes of version 1.
inline constexpr std::uint64_t feature_streams = std::uint64_t{1} << 0;

/// The stream window a duet peer announces unless told otherwise: the bytes
/// of stream_data frames (header included) it accepts per stream direction
/// before it grants more credit (docs/protocol.md, 12.3). 1 MiB: a receiver
/// grants every 512 KiB, which covers a round trip at several GB/s, so
/// neither 40-byte frames (one 28-byte credit frame per 13,000 of them) nor
/// 64 KiB chunks (8 in flight per grant) wait for credit on a fast link;
/// and a slow consumer holds at most 1 MiB plus one message per stream.
inline constexpr std::uint32_t default_stream_window = std::uint32_t{1} << 20;

/// What a hello frame says: the limits its sender accepts.
struct hello_message {
  /// The largest frame body (metadata + payload) the sender accepts; at least
  /// `min_max_frame_size`. The peer must not send it a bigger frame.
  std::uint32_t max_frame_size = default_max_frame_size;
  /// How many requests the sender serves at once on this connection; 0 means
  /// it serves none (a pure client). The peer must not have more of its
  /// requests outstanding.
  std::uint32_t max_in_flight = 0;
  /// Optional features the sender supports (`feature_streams`); unknown
  /// bits are ignored. Both sides use the intersection.
  std::uint64_t features = 0;
  /// With `feature_streams`: the bytes of stream_data frames (24-byte
  /// header and payload) the sender accepts per stream direction before it
  /// grants more credit (more than 0). Not on the wire, and 0 when decoded,
  /// without the feature.
  std::uint32_t stream_window = 0;

  friend constexpr bool operator==(const hello_message&, const hello_message&) = default;
};

/// Bytes in a version 1 hello payload.
inline constexpr std::size_t hello_payload_size = 16;

/// Bytes in a hello payload that announces `feature_streams`: the 16 of
/// version 1, then the u32 stream window.
inline constexpr std::size_t hello_streams_payload_size = 20;

/// The smallest `max_frame_size` a hello may announce, so a peer can always
/// send a short error response, a ping or a goaway.
inline constexpr std::uint32_t min_max_frame_size = 1024;

/// Appends a whole hello frame (kind hello, id 0, method 0) announcing `h`
/// to `out`: 16 payload bytes, 20 when `h.features` has `feature_streams`.
/// Throws `std::bad_alloc`.
DUET_INLINE void encode_hello(byte_vector& out, const hello_message& h);

/// Reads a hello frame's payload into `out`.
///
/// Returns false (leaving `out` untouched) when the payload is shorter than
/// 16 bytes, announces a `max_frame_size` below `min_max_frame_size`, or
/// sets `feature_streams` without a stream window above 0 in bytes 16 to
/// 20: a protocol error. Bytes after the fields the features define are
/// ignored (a later revision may append more behind a feature bit). The
/// caller checks the frame's kind.
[[nodiscard]] DUET_INLINE bool decode_hello(const_buffer payload, hello_message& out) noexcept;

/// Reads the hello frame `f` into `out`: as `decode_hello(f.payload, out)`,
/// and also false when `f` is not of kind hello.
[[nodiscard]] inline bool decode_hello(const frame_view& f, hello_message& out) noexcept {
  return f.header.kind == frame_kind::hello && decode_hello(f.payload, out);
}

// ---------------------------------------------------------------------------
// Metadata

/// One metadata pair. Keys are lowercase ASCII (`is_valid_metadata_key`);
/// values are any bytes. Both are views: into the frame when decoded.
struct metadata_entry {
  std::string_view key;
  std::string_view value;

  friend constexpr bool operator==(const metadata_entry&, const metadata_entry&) = default;
};

/// Whether `key` may be a metadata key: non-empty, only `a`-`z`, `0`-`9`,
/// `-`, `_` and `.`. Keys starting with "duet-" are reserved for duet.
[[nodiscard]] constexpr bool is_valid_metadata_key(std::string_view key) noexcept {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

namespace detail {

/// Appends `v` as an unsigned LEB128 varint (1 to 5 bytes, minimal).
DUET_INLINE void append_varint32(byte_vector& out, std::uint32_t v);

/// Reads a minimal unsigned LEB128 varint of at most 32 bits from
/// `[p, end)`, advancing `p`. False on truncation, overflow or a
/// non-minimal encoding (trailing zero group).
[[nodiscard]] constexpr bool read_varint32(const std::byte*& p, const std::byte* end,
                                           std::uint32_t& v) noexcept {
  std::uint32_t result = 0;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    if (p == end) return false;
    const auto b = std::to_integer<std::uint32_t>(*p++);
    const std::uint32_t bits = b & 0x7f;
    // The fifth byte holds bits 28..31 only: anything above overflows 32 bits.
    if (shift == 28 && bits > 0x0f) return false;
    result |= bits << shift;
    if ((b & 0x80) == 0) {
      if (bits == 0 && shift != 0) return false;  // non-minimal: a needless zero group
      v = result;
      return true;
    }
  }
  return false;  // a continuation bit on the fifth byte
}

}  // namespace detail

/// Appends `entries` in the metadata encoding (docs/protocol.md) to `out`:
/// a varint count, then each key and value with a varint length prefix.
/// Appends nothing for no entries (metadata length 0 means no metadata).
///
/// Throws `std::invalid_argument` for a key that is not valid, and
/// `std::length_error` for a key or value over 4 GiB - 1 bytes; `out` may
/// then hold part of the block (use `frame_encoder::cancel`).
DUET_INLINE void encode_metadata(byte_vector& out, std::span<const metadata_entry> entries);

/// Reads a metadata block pair by pair without allocating.
///
/// ```
/// metadata_reader r{frame.metadata};
/// for (metadata_entry e; r.next(e);) use(e);
/// if (r.failed()) /* malformed: protocol error */;
/// ```
class metadata_reader {
public:
  /// A reader over the metadata block `block` (may be empty: no entries).
  explicit metadata_reader(const_buffer block) noexcept;

  /// Reads the next pair into `out`: true while there is one, false at the
  /// end of the block or on malformed input (then `failed()`; `out` is
  /// untouched). The views point into the block.
  [[nodiscard]] bool next(metadata_entry& out) noexcept;

  /// Whether the block was malformed: a truncated or overlong varint, a
  /// length past the end, an invalid key, fewer pairs than the count, or
  /// bytes after the last pair.
  [[nodiscard]] bool failed() const noexcept { return m_failed; }

  /// Pairs announced but not read yet.
  [[nodiscard]] std::uint32_t remaining() const noexcept { return m_remaining; }

private:
  bool read_string(std::string_view& s) noexcept;

  const std::byte* m_pos;
  const std::byte* m_end;
  std::uint32_t m_remaining = 0;
  bool m_failed = false;
};

/// Decodes a whole metadata block into `out` (cleared first; views into
/// `block`). Returns false, with `out` cleared, when the block is malformed
/// (see `metadata_reader::failed`). Throws `std::bad_alloc`.
[[nodiscard]] DUET_INLINE bool decode_metadata(const_buffer block, std::vector<metadata_entry>& out);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE void encode_hello(byte_vector& out, const hello_message& h) {
  std::byte payload[hello_streams_payload_size];
  detail::store_le32(payload, h.max_frame_size);
  detail::store_le32(payload + 4, h.max_in_flight);
  detail::store_le64(payload + 8, h.features);
  detail::store_le32(payload + 16, h.stream_window);
  const bool streams = (h.features & feature_streams) != 0;
  encode_frame(out, frame_header{frame_kind::hello, 0, 0, 0, 0, 0, 0}, {},
               const_buffer(payload, streams ? hello_streams_payload_size : hello_payload_size));
}

DUET_INLINE bool decode_hello(const_buffer payload, hello_message& out) noexcept {
  if (payload.size() < hello_payload_size) return false;
  hello_message h{detail::load_le32(payload.data()), detail::load_le32(payload.data() + 4),
                  detail::load_le64(payload.data() + 8), 0};
  if (h.max_frame_size < min_max_frame_size) return false;
  if ((h.features & feature_streams) != 0) {
    if (payload.size() < hello_streams_payload_size) return false;
    h.stream_window = detail::load_le32(payload.data() + 16);
    if (h.stream_window == 0) return false;
  }
  out = h;
  return true;
}

namespace detail {

DUET_INLINE void append_varint32(byte_vector& out, std::uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

}  // namespace detail

DUET_INLINE void encode_metadata(byte_vector& out, std::span<const metadata_entry> entries) {
  if (entries.empty()) return;
  if (entries.size() > 0xffffffffu) throw std::length_error("duet: too many metadata entries");
  detail::append_varint32(out, static_cast<std::uint32_t>(entries.size()));
  const auto append_string = [&out](std::string_view s) {
    if (s.size() > 0xffffffffu) throw std::length_error("duet: metadata key or value too long");
    detail::append_varint32(out, static_cast<std::uint32_t>(s.size()));
    // resize + memcpy rather than insert: see encode_frame.
    const std::size_t at = out.size();
    out.resize(at + s.size());
    if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
  };
  for (const metadata_entry& e : entries) {
    if (!is_valid_metadata_key(e.key)) throw std::invalid_argument("duet: invalid metadata key");
    append_string(e.key);
    append_string(e.value);
  }
}

DUET_INLINE metadata_reader::metadata_reader(const_buffer block) noexcept
    : m_pos(block.data()), m_end(block.data() + block.size()) {
  if (block.empty()) return;
  if (!detail::read_varint32(m_pos, m_end, m_remaining)) m_failed = true;
  else if (m_remaining == 0 && m_pos != m_end) m_failed = true;  // bytes after an empty list
}

DUET_INLINE bool metadata_reader::next(metadata_entry& out) noexcept {
  if (m_failed || m_remaining == 0) return false;
  std::string_view key;
  std::string_view value;
  if (!read_string(key) || !is_valid_metadata_key(key) || !read_string(value)) {
    m_failed = true;
    return false;
  }
  // The count must end exactly at the end of the block: no trailing bytes.
  if (--m_remaining == 0 && m_pos != m_end) {
    m_failed = true;
    return false;
  }
  out = {key, value};
  return true;
}

DUET_INLINE bool metadata_reader::read_string(std::string_view& s) noexcept {
  std::uint32_t n = 0;
  if (!detail::read_varint32(m_pos, m_end, n) || static_cast<std::size_t>(m_end - m_pos) < n) return false;
  s = {reinterpret_cast<const char*>(m_pos), n};
  m_pos += n;
  return true;
}

DUET_INLINE bool decode_metadata(const_buffer block, std::vector<metadata_entry>& out) {
  out.clear();
  metadata_reader r{block};
  // Each pair takes at least 3 bytes: never trust the count for the reserve.
  out.reserve(std::min<std::size_t>(r.remaining(), block.size() / 3));
  for (metadata_entry e; r.next(e);) out.push_back(e);
  if (r.failed()) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace duet::inline v0
#endif
