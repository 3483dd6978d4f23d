#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "duet/bytes.hpp"
#include "duet/detail/endian.hpp"
#include "duet/version.hpp"

/// \file
/// The native frame: field layout, frame kinds, limits and the header's
/// byte-exact encoding. docs/protocol.md is the normative description; this
/// header and that page change together, and a change bumps the version.
///
/// ```
///  0      2    3    4       6        8          12         16          20          24
///  +------+----+----+-------+--------+----------+----------+-----------+-----------+
///  |"DU"  |ver |kind| flags | status |    id    |  method  | meta len  |  pay len  |
///  +------+----+----+-------+--------+----------+----------+-----------+-----------+
///  then meta len bytes of metadata, then pay len bytes of payload (all little-endian)
/// ```

namespace duet::inline v0 {

/// What a frame is for. The numbers are wire values. Kind 0 and kinds above
/// `frame_kind::credit` are protocol errors; the stream kinds (stream_data,
/// stream_end, credit) only where both hellos announced `feature_streams`.
enum class frame_kind : std::uint8_t {
  request = 1,       ///< a call expecting exactly one response with the same id
  response = 2,      ///< the answer to a request; `status` says how it ended
  notification = 3,  ///< a one-way call: no response, id 0
  cancel = 4,        ///< the caller gave up on request (or stream) `id`
  stream_data = 5,   ///< one message of stream `id`
  stream_end = 6,    ///< the caller of stream `id` sends no more messages
  ping = 7,          ///< liveness probe; answered by a pong echoing id and payload
  pong = 8,          ///< the answer to a ping
  goaway = 9,        ///< the sender takes no new requests on this connection
  hello = 10,        ///< the first frame each side sends: limits and features
  credit = 11,       ///< the sender accepts more messages of stream `id`
};

/// Whether `k` is a wire value of a defined frame kind (1 to 11).
[[nodiscard]] constexpr bool is_known_frame_kind(std::uint8_t k) noexcept {
  return k >= static_cast<std::uint8_t>(frame_kind::request) &&
         k <= static_cast<std::uint8_t>(frame_kind::credit);
}

/// Flag of a request frame: the request opens a stream (docs/protocol.md,
/// streams). Only where both hellos announced `feature_streams`.
inline constexpr std::uint16_t flag_stream = 0x0001;

/// Flag of a stream_data or credit frame: its sender is the callee of
/// stream `id`, so the id is in the receiver's own id space; clear when the
/// sender is the caller.
inline constexpr std::uint16_t flag_from_callee = 0x0002;

/// The flags a frame of kind `k` may carry; any other bit is a protocol error.
[[nodiscard]] constexpr std::uint16_t allowed_frame_flags(frame_kind k) noexcept {
  switch (k) {
    case frame_kind::request: return flag_stream;
    case frame_kind::stream_data:
    case frame_kind::credit: return flag_from_callee;
    default: return 0;
  }
}

/// The kind's name as written in docs/protocol.md, e.g. "request";
/// "invalid" for a value outside 1 to 11.
[[nodiscard]] constexpr std::string_view to_string(frame_kind k) noexcept {
  switch (k) {
    case frame_kind::request: return "request";
    case frame_kind::response: return "response";
    case frame_kind::notification: return "notification";
    case frame_kind::cancel: return "cancel";
    case frame_kind::stream_data: return "stream_data";
    case frame_kind::stream_end: return "stream_end";
    case frame_kind::ping: return "ping";
    case frame_kind::pong: return "pong";
    case frame_kind::goaway: return "goaway";
    case frame_kind::hello: return "hello";
    case frame_kind::credit: return "credit";
  }
  return "invalid";
}

/// The fields of a frame header, in host representation.
///
/// `metadata_length` and `payload_length` give the sizes of the two parts of
/// the body that follow the header. `status` is meaningful in response and
/// goaway frames only (senders put 0 elsewhere).
struct frame_header {
  frame_kind kind;
  std::uint16_t flags;
  std::uint16_t status;
  std::uint32_t id;
  std::uint32_t method;
  std::uint32_t metadata_length;
  std::uint32_t payload_length;

  friend constexpr bool operator==(const frame_header&, const frame_header&) = default;
};

/// Bytes in a frame header.
inline constexpr std::size_t frame_header_size = 24;

/// The two magic bytes that open every frame: "DU".
inline constexpr std::byte frame_magic[2] = {std::byte{0x44}, std::byte{0x55}};

/// The `version` byte this build writes and accepts (docs/protocol.md).
inline constexpr std::uint8_t frame_version = static_cast<std::uint8_t>(protocol_version);
static_assert(protocol_version == frame_version, "the protocol version must fit the header's version byte");

/// The default largest frame body (metadata + payload) a decoder accepts: 16 MiB.
inline constexpr std::uint32_t default_max_frame_size = 16u << 20;

/// A decoded frame: its header and views of its metadata and payload.
///
/// The views point into the buffer of whoever produced the frame (for
/// `frame_decoder`, valid until its next `prepare()`); copy what must live
/// longer.
struct frame_view {
  frame_header header;
  const_buffer metadata;
  const_buffer payload;
};

/// Result of asking a decoder for the next message (see `frame_decoder::next`).
enum class decode_status : std::uint8_t {
  frame,      ///< a whole frame was produced
  need_more,  ///< no whole frame is buffered yet: read more bytes
  error,      ///< the stream broke the protocol; it stays broken
};

/// Why a byte stream is not a valid sequence of native frames.
enum class frame_error : std::uint8_t {
  none = 0,
  bad_magic,       ///< the first two bytes are not "DU"
  bad_version,     ///< the version byte is not `frame_version`
  bad_kind,        ///< kind 0 or above 11
  reserved_flags,  ///< a flag the frame's kind does not define
  zero_id,         ///< id 0 in a request, response, cancel or stream frame
  too_large,       ///< metadata + payload exceed the receiver's limit
};

/// A short English description of `e`, e.g. "bad magic".
[[nodiscard]] constexpr std::string_view to_string(frame_error e) noexcept {
  switch (e) {
    case frame_error::none: return "no error";
    case frame_error::bad_magic: return "bad magic";
    case frame_error::bad_version: return "unsupported protocol version";
    case frame_error::bad_kind: return "unknown frame kind";
    case frame_error::reserved_flags: return "flags not defined for the frame's kind";
    case frame_error::zero_id: return "transaction id 0 in a request, response, cancel or stream frame";
    case frame_error::too_large: return "frame larger than the limit";
  }
  return "unknown frame error";
}

/// Where the two lengths sit in a frame header (after this side has
/// written the rest of it, a frame writer patches them in).
inline constexpr std::size_t frame_metadata_length_offset = 16;
inline constexpr std::size_t frame_payload_length_offset = 20;

namespace detail {
// allowed_frame_flags by kind (its wire value, a known one), for load_frame_header.
struct frame_flags_table {
  std::uint16_t flags[16] = {};
  [[nodiscard]] constexpr std::uint16_t operator[](std::uint8_t kind) const noexcept { return flags[kind & 15u]; }
};
inline constexpr frame_flags_table frame_flags_by_kind = [] {
  frame_flags_table t;
  for (unsigned k = 0; k < 16; ++k) t.flags[k] = allowed_frame_flags(static_cast<frame_kind>(k));
  return t;
}();
static_assert(static_cast<unsigned>(frame_kind::credit) < 16, "every known kind has its entry");
// One bit per kind (its wire value) whose frames may have id 0.
inline constexpr std::uint32_t kinds_without_id =
    (1u << static_cast<unsigned>(frame_kind::notification)) | (1u << static_cast<unsigned>(frame_kind::ping)) |
    (1u << static_cast<unsigned>(frame_kind::pong)) | (1u << static_cast<unsigned>(frame_kind::goaway)) |
    (1u << static_cast<unsigned>(frame_kind::hello));
}  // namespace detail

/// Writes `h` as the 24 header bytes at `out[0..24)`.
constexpr void store_frame_header(std::byte* out, const frame_header& h) noexcept {
  out[0] = frame_magic[0];
  out[1] = frame_magic[1];
  out[2] = static_cast<std::byte>(frame_version);
  out[3] = static_cast<std::byte>(h.kind);
  detail::store_le16(out + 4, h.flags);
  detail::store_le16(out + 6, h.status);
  detail::store_le32(out + 8, h.id);
  detail::store_le32(out + 12, h.method);
  detail::store_le32(out + frame_metadata_length_offset, h.metadata_length);
  detail::store_le32(out + frame_payload_length_offset, h.payload_length);
}

/// Reads the 24 header bytes at `in[0..24)` into `h` and checks everything
/// the header alone can tell: magic, version, kind, flags (only those of
/// `allowed_frame_flags`), the id rule and the body size against
/// `max_frame_size` (metadata + payload). Whether the stream kinds and flags
/// were negotiated is the session's business.
///
/// Returns `frame_error::none` when the header is valid. On an error `h`
/// holds whatever fields were read (its kind may then be out of range).
[[nodiscard]] constexpr frame_error load_frame_header(const std::byte* in, frame_header& h,
                                                      std::uint32_t max_frame_size) noexcept {
  if (detail::load_le16(in) != detail::load_le16(frame_magic)) return frame_error::bad_magic;
  if (std::to_integer<std::uint8_t>(in[2]) != frame_version) return frame_error::bad_version;
  const auto kind = std::to_integer<std::uint8_t>(in[3]);
  h.kind = static_cast<frame_kind>(kind);
  h.flags = detail::load_le16(in + 4);
  h.status = detail::load_le16(in + 6);
  h.id = detail::load_le32(in + 8);
  h.method = detail::load_le32(in + 12);
  h.metadata_length = detail::load_le32(in + 16);
  h.payload_length = detail::load_le32(in + 20);
  if (!is_known_frame_kind(kind)) return frame_error::bad_kind;
  // Undefined flags are an error rather than ignored: a future flag must never
  // be silently dropped by an old peer. New flags come with a hello feature bit.
  // Both rules by table, one entry (or bit) per kind: every frame comes here.
  if ((h.flags & ~detail::frame_flags_by_kind[kind]) != 0) return frame_error::reserved_flags;
  if (h.id == 0 && ((detail::kinds_without_id >> kind) & 1u) == 0) return frame_error::zero_id;
  // 64-bit sum: two 32-bit lengths can overflow a 32-bit total.
  if (std::uint64_t{h.metadata_length} + h.payload_length > max_frame_size) return frame_error::too_large;
  return frame_error::none;
}

/// Bytes the whole frame described by `h` occupies on the wire, header included.
[[nodiscard]] constexpr std::uint64_t frame_size(const frame_header& h) noexcept {
  return frame_header_size + std::uint64_t{h.metadata_length} + h.payload_length;
}

}  // namespace duet::inline v0
