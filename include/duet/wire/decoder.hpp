#pragma once

#include <duet/config.hpp>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>  // memcpy, memmove
#include <memory>   // unique_ptr, make_unique_for_overwrite
#include <string>
#include <string_view>
#include <utility>  // move

#include "duet/bytes.hpp"
#include "duet/wire/frame.hpp"

namespace duet::inline v0 {

/// Incremental parser of native frames over a byte stream.
///
/// The decoder owns a growable input buffer. The reader asks it for space
/// (`prepare`), reads from the transport straight into that space, says how
/// much arrived (`commit`), then takes every whole frame out (`next`) until
/// it answers `need_more`. Whatever the split of the stream into reads (one
/// byte at a time or many frames at once), the same frames come out.
///
/// Each header is checked as soon as its 24 bytes are buffered, before any of
/// the body arrives: bad magic, a version other than 1, an unknown kind, non-
/// zero flags, id 0 in a request/response/cancel, or a body (metadata +
/// payload) over `max_frame_size()` is a protocol error. After an error the
/// decoder stays in error: `next` always answers `error` and the bytes given
/// to it afterwards are discarded.
///
/// Frames are views into the buffer: they stay valid until the next
/// `prepare()` or `append()`, so every frame of one read can be handled
/// before reading again.
///
/// Not thread-safe: one reader uses it at a time.
class frame_decoder {
public:
  /// `frame_decoder::status` is the protocol-neutral `decode_status`.
  using status = decode_status;

  /// A decoder that accepts frames whose metadata + payload is at most
  /// `max_frame_size` bytes. Allocates nothing until the first `prepare()`.
  explicit frame_decoder(std::uint32_t max_frame_size = default_max_frame_size) noexcept
      : m_max_frame_size(max_frame_size) {}

  /// Writable space after the buffered bytes, to read the transport into.
  ///
  /// At least `min_size` bytes long (and never empty); when the start of a frame is buffered
  /// and its header announces more, the space holds at least the rest of the
  /// frame, so a large payload is read straight into place in one read
  /// without being moved again. May compact or grow the buffer: invalidates
  /// every `frame_view` obtained before. Once every buffered byte has been
  /// taken out, storage grown beyond 1 MiB (for a big frame) is given back.
  /// In error, discards the buffered bytes. Throws `std::bad_alloc`.
  [[nodiscard]] mutable_buffer prepare(std::size_t min_size = 4096);

  /// Records that the first `n` bytes of the last `prepare()`d space were
  /// written. Precondition: `n` is at most that space's size.
  void commit(std::size_t n) noexcept {
    assert(n <= m_capacity - m_end && "frame_decoder::commit: more bytes than prepare() gave");
    m_end += std::min(n, m_capacity - m_end);  // clamp: never step past the storage
  }

  /// Copies `bytes` in: `prepare(bytes.size())`, `memcpy`, `commit`. For
  /// callers whose transport reads into a buffer of its own. Invalidates
  /// every `frame_view` obtained before. Throws `std::bad_alloc`.
  void append(const_buffer bytes);

  /// Takes the next whole frame out of the buffer.
  ///
  /// Returns `status::frame` and fills `out` (its views point into the
  /// buffer, valid until the next `prepare()`), `status::need_more` when the
  /// buffered bytes hold no whole frame (`out` untouched), or `status::error`
  /// when the stream broke the protocol (then and forever after; see
  /// `error()` and `error_message()`).
  [[nodiscard]] status next(frame_view& out);

  /// Why the decoder is in error; `frame_error::none` while it is not.
  [[nodiscard]] frame_error error() const noexcept { return m_error; }

  /// A human-readable reason for the error, naming the offending value,
  /// e.g. "unknown frame kind 11"; empty while there is no error.
  [[nodiscard]] std::string_view error_message() const noexcept { return m_error_message; }

  /// Bytes received and not yet taken out as frames (a partial frame's bytes).
  [[nodiscard]] std::size_t buffered() const noexcept { return m_end - m_begin; }

  /// Whether `bytes` lie inside the decoder's storage (a frame's view, or
  /// part of one): such bytes change at the next `prepare()` or `append()`.
  [[nodiscard]] bool holds(const_buffer bytes) const noexcept {
    const auto first = reinterpret_cast<std::uintptr_t>(bytes.data());
    const auto begin = reinterpret_cast<std::uintptr_t>(m_data.get());
    return m_data != nullptr && first >= begin && first - begin <= m_capacity &&
           bytes.size() <= m_capacity - (first - begin);
  }

  /// Puts back `frame`, the frame the last `next()` took (nothing was
  /// taken, prepared or appended since): the next `next()` yields it again.
  void put_back(const frame_view& frame) noexcept {
    m_begin -= frame_header_size + frame.metadata.size() + frame.payload.size();
  }

  /// Whether the next whole frame buffered is a request or a notification
  /// (something a paused reader must hold back); false when it is another
  /// kind, and also when no whole valid frame is buffered yet. Takes
  /// nothing.
  [[nodiscard]] bool next_is_call() const noexcept;

  /// The largest metadata + payload this decoder accepts.
  [[nodiscard]] std::uint32_t max_frame_size() const noexcept { return m_max_frame_size; }

private:
  // After a big frame, an emptied buffer larger than this is given back at
  // the next prepare(): one 16 MiB frame must not pin 16 MiB per connection.
  static constexpr std::size_t retained_capacity = std::size_t{1} << 20;

  // Bytes from m_begin to the end of the frame starting there, when its
  // header is buffered and valid; 0 otherwise.
  [[nodiscard]] std::size_t partial_frame_size() const noexcept;
  void fail(frame_error e, const frame_header& h);
  void reallocate(std::size_t capacity);

  // Storage layout: [0, m_begin) consumed, [m_begin, m_end) buffered,
  // [m_end, m_capacity) free. Default-initialised bytes: a 16 MiB frame
  // must not cost a 16 MiB memset before the read overwrites it.
  std::unique_ptr<std::byte[]> m_data;
  std::size_t m_capacity = 0;
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
  std::uint32_t m_max_frame_size;
  frame_error m_error = frame_error::none;
  std::string m_error_message;
};

// Every frame comes through here: its happy path stays inline in both modes;
// the error path (fail) is out of line.
inline frame_decoder::status frame_decoder::next(frame_view& out) {
  if (m_error != frame_error::none) return status::error;
  if (m_end - m_begin < frame_header_size) return status::need_more;

  const std::byte* const start = m_data.get() + m_begin;
  frame_header h{};
  if (const frame_error e = load_frame_header(start, h, m_max_frame_size); e != frame_error::none) {
    fail(e, h);
    return status::error;
  }
  const std::size_t body = std::size_t{h.metadata_length} + h.payload_length;
  if (m_end - m_begin - frame_header_size < body) return status::need_more;

  out.header = h;
  out.metadata = {start + frame_header_size, h.metadata_length};
  out.payload = {start + frame_header_size + h.metadata_length, h.payload_length};
  m_begin += frame_header_size + body;
  return status::frame;
}

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE mutable_buffer frame_decoder::prepare(std::size_t min_size) {
  if (m_error != frame_error::none) m_begin = m_end = 0;  // in error: drop what nobody will parse
  if (m_begin == m_end) m_begin = m_end = 0;              // empty: start over at the front, for free

  const std::size_t have = m_end - m_begin;
  // Never an empty buffer: a read into one yields 0 bytes, which a transport
  // reports as the end of the stream.
  std::size_t need = std::max<std::size_t>(min_size, 1);
  if (const std::size_t whole = partial_frame_size(); whole > have) need = std::max(need, whole - have);

  if (have == 0 && m_capacity > retained_capacity && need <= retained_capacity) {
    reallocate(std::max(need, std::size_t{64} << 10));
  } else if (m_capacity - m_end < need) {
    if (m_capacity - have >= need) {
      // Compact: only the partial frame's bytes move, never a whole buffer.
      std::memmove(m_data.get(), m_data.get() + m_begin, have);
      m_end = have;
      m_begin = 0;
    } else {
      reallocate(std::max(have + need, 2 * m_capacity));
    }
  }
  return {m_data.get() + m_end, m_capacity - m_end};
}

DUET_INLINE void frame_decoder::append(const_buffer bytes) {
  if (bytes.empty()) return;  // memcpy from an empty span's null data() is UB
  mutable_buffer space = prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

DUET_INLINE bool frame_decoder::next_is_call() const noexcept {
  if (m_error != frame_error::none || m_end - m_begin < frame_header_size) return false;
  frame_header h{};
  if (load_frame_header(m_data.get() + m_begin, h, m_max_frame_size) != frame_error::none) return false;
  if (m_end - m_begin < frame_size(h)) return false;
  return h.kind == frame_kind::request || h.kind == frame_kind::notification;
}

DUET_INLINE std::size_t frame_decoder::partial_frame_size() const noexcept {
  if (m_error != frame_error::none || m_end - m_begin < frame_header_size) return 0;
  frame_header h{};
  if (load_frame_header(m_data.get() + m_begin, h, m_max_frame_size) != frame_error::none) return 0;
  return static_cast<std::size_t>(frame_size(h));
}

DUET_INLINE void frame_decoder::fail(frame_error e, const frame_header& h) {
  m_error = e;
  const std::byte* const start = m_data.get() + m_begin;
  switch (e) {
    case frame_error::bad_magic:
      m_error_message = "bad magic: bytes " + std::to_string(std::to_integer<unsigned>(start[0])) + " " +
                        std::to_string(std::to_integer<unsigned>(start[1])) + ", expected 68 85 (\"DU\")";
      break;
    case frame_error::bad_version:
      m_error_message = "unsupported protocol version " + std::to_string(std::to_integer<unsigned>(start[2])) +
                        " (this peer speaks " + std::to_string(unsigned{frame_version}) + ")";
      break;
    case frame_error::bad_kind:
      m_error_message = "unknown frame kind " + std::to_string(static_cast<unsigned>(h.kind));
      break;
    case frame_error::reserved_flags:
      m_error_message = "reserved flags " + std::to_string(h.flags) + " set in a " +
                        std::string(to_string(h.kind)) + " frame (not defined for its kind)";
      break;
    case frame_error::zero_id:
      m_error_message = std::string(to_string(h.kind)) + " frame with transaction id 0";
      break;
    case frame_error::too_large:
      m_error_message = std::string(to_string(h.kind)) + " frame body of " +
                        std::to_string(std::uint64_t{h.metadata_length} + h.payload_length) +
                        " bytes exceeds the limit of " + std::to_string(m_max_frame_size) + " bytes";
      break;
    case frame_error::none: break;
  }
}

DUET_INLINE void frame_decoder::reallocate(std::size_t capacity) {
  const std::size_t have = m_end - m_begin;
  auto data = std::make_unique_for_overwrite<std::byte[]>(capacity);
  if (have != 0) std::memcpy(data.get(), m_data.get() + m_begin, have);
  m_data = std::move(data);
  m_capacity = capacity;
  m_begin = 0;
  m_end = have;
}

}  // namespace duet::inline v0
#endif
