#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/detail/endian.hpp>

#include <bit>  // std::bit_cast
#include <cstddef>
#include <cstdint>
#include <cstring>  // std::memcpy
#include <type_traits>

namespace duet::inline v0::detail {

/// The arithmetic types with one fixed-width little-endian wire form: every
/// integer, character and floating-point type except `long double`, whose
/// size and padding differ between platforms (and whose padding bytes are
/// indeterminate, so its bytes would not even be reproducible).
template <class T>
concept fixed_width_arithmetic =
    std::is_arithmetic_v<T> && !std::is_same_v<std::remove_cv_t<T>, long double> &&
    (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);

/// The unsigned integer with the same size as T.
template <std::size_t Size>
struct unsigned_of_size;
template <>
struct unsigned_of_size<1> {
  using type = std::uint8_t;
};
template <>
struct unsigned_of_size<2> {
  using type = std::uint16_t;
};
template <>
struct unsigned_of_size<4> {
  using type = std::uint32_t;
};
template <>
struct unsigned_of_size<8> {
  using type = std::uint64_t;
};

/// Stores `v`'s bit pattern little-endian into `p[0..sizeof(T))`.
template <fixed_width_arithmetic T>
constexpr void store_le(std::byte* p, T v) noexcept {
  using bits = typename unsigned_of_size<sizeof(T)>::type;
  const bits u = std::bit_cast<bits>(v);
  if constexpr (sizeof(T) == 1) {
    p[0] = static_cast<std::byte>(u);
  } else if constexpr (sizeof(T) == 2) {
    store_le16(p, u);
  } else if constexpr (sizeof(T) == 4) {
    store_le32(p, u);
  } else {
    store_le64(p, u);
  }
}

/// Loads a T from the little-endian bit pattern in `p[0..sizeof(T))`.
template <fixed_width_arithmetic T>
constexpr T load_le(const std::byte* p) noexcept {
  if constexpr (sizeof(T) == 1) {
    return std::bit_cast<T>(p[0]);
  } else if constexpr (sizeof(T) == 2) {
    return std::bit_cast<T>(load_le16(p));
  } else if constexpr (sizeof(T) == 4) {
    return std::bit_cast<T>(load_le32(p));
  } else {
    return std::bit_cast<T>(load_le64(p));
  }
}

/// The most bytes a LEB128 encoding of a 64-bit value takes.
inline constexpr std::size_t max_varint_size = 10;

/// The bytes `value`'s shortest LEB128 encoding takes (1 to 10).
constexpr std::size_t varint_size(std::uint64_t value) noexcept {
  std::size_t n = 1;
  for (; value >= 0x80; value >>= 7) ++n;
  return n;
}

/// Stores `value` as an unsigned LEB128 varint at `p` (room for
/// varint_size(value) bytes) and returns where it ends.
inline std::byte* store_varint(std::byte* p, std::uint64_t value) noexcept {
  for (; value >= 0x80; value >>= 7) *p++ = static_cast<std::byte>((value & 0x7f) | 0x80);
  *p++ = static_cast<std::byte>(value);
  return p;
}

/// Runs of at least this many bytes are worth sending from where they are
/// (one more entry in a gather write) rather than copying them.
inline constexpr std::size_t min_borrowed_bytes = 16 * 1024;

/// What a `byte_writer` offers a long run of bytes (`write_bytes` of at
/// least `min_borrowed_bytes`) before copying it: a session that can send
/// them straight from their memory records them at the vector's current end
/// and answers true; false, and the writer copies them. The session's
/// output queue implements it.
struct byte_borrower {
  bool (*m_borrow)(byte_borrower& self, const_buffer bytes) = nullptr;
};

}  // namespace duet::inline v0::detail

namespace duet::inline v0 {

/// Appends encoded bytes to a `byte_vector` it does not own.
///
/// A writer never clears or rewinds its vector: it starts at the vector's
/// current end, so a session can encode a payload straight after a frame
/// header it has already written. The vector must outlive the writer, and
/// nothing else may append to it while the writer is in use. Writes throw
/// only what the vector's growth throws (`std::bad_alloc`); they never
/// allocate beyond that growth. Copying a writer copies a reference to the
/// same vector. Not thread-safe.
class byte_writer {
 public:
  /// A writer appending to `out`, whose current contents are left alone.
  explicit byte_writer(byte_vector& out) noexcept : m_out(&out), m_start(out.size()) {}

  /// A writer whose long byte runs may be borrowed by `borrower` (nullptr:
  /// none) instead of copied into `out`; for the session's encoders.
  byte_writer(byte_vector& out, detail::byte_borrower* borrower) noexcept
      : m_out(&out), m_start(out.size()), m_borrower(borrower) {}

  /// A writer whose vector may be longer than what it holds, for the
  /// session's output queue: `end` is where the written bytes end, and the
  /// vector's bytes past it are room (uninitialised) that appends fill
  /// before growing the vector, so most appends cost no `resize`. The
  /// writer advances `end`; the vector's own size is not the end.
  byte_writer(byte_vector& out, std::size_t& end, detail::byte_borrower* borrower) noexcept
      : m_out(&out), m_start(end), m_borrower(borrower), m_end(&end) {}

  /// Appends one byte.
  void write_byte(std::byte b) { append(&b, 1); }

  /// Appends `bytes` unchanged (one copy, however long; a session may
  /// instead send a long run from where it is).
  void write_bytes(const_buffer bytes) {
    if (m_borrower != nullptr && bytes.size() >= detail::min_borrowed_bytes &&
        m_borrower->m_borrow(*m_borrower, bytes)) {
      m_borrowed += bytes.size();
      return;
    }
    append(bytes.data(), bytes.size());
  }

  /// Appends `value`'s bit pattern in `sizeof(T)` little-endian bytes
  /// (floating point included, NaN payloads preserved; `bool` as 0 or 1).
  template <detail::fixed_width_arithmetic T>
  void write_fixed(T value) {
    std::byte tmp[sizeof(T)];
    detail::store_le(tmp, value);
    append(tmp, sizeof(T));
  }

  /// Appends `value` as an unsigned LEB128 varint: seven bits per byte, low
  /// group first, the high bit set on every byte but the last; the shortest
  /// such form (1 to 10 bytes).
  void write_varint(std::uint64_t value) {
    std::byte tmp[detail::max_varint_size];
    append(tmp, static_cast<std::size_t>(detail::store_varint(tmp, value) - tmp));
  }

  /// The number of bytes this writer has appended (not the vector's size).
  [[nodiscard]] std::size_t size() const noexcept {
    return (m_end != nullptr ? *m_end : m_out->size()) - m_start + m_borrowed;
  }

 private:
  // One path for every write: into the room past the end when there is
  // enough (the session's writers), otherwise grow_and_append.
  void append(const std::byte* p, std::size_t n) {
    if (m_end != nullptr && n != 0 && n <= m_out->size() - *m_end) {
      std::memcpy(m_out->data() + *m_end, p, n);
      *m_end += n;
      return;
    }
    grow_and_append(p, n);
  }

  // append's path through the vector's resize (out of line: the room
  // usually suffices). resize + memcpy rather than insert: g++ 12 reports a
  // bogus -Warray-bounds when vector::insert of a small array is inlined
  // after another append, and users build with -Werror too.
  void grow_and_append(const std::byte* p, std::size_t n);

  byte_vector* m_out;
  std::size_t m_start;
  detail::byte_borrower* m_borrower = nullptr;
  std::size_t m_borrowed = 0;      // bytes the borrower took instead of the vector
  std::size_t* m_end = nullptr;    // where the bytes end, when not at the vector's size
};

/// A bounds-checked read cursor over bytes it does not own.
///
/// Every read returns `true` on success. A read that would pass the end, or
/// that meets a malformed value, returns `false`, consumes nothing and puts
/// the reader into the failed state; failure is sticky: once `failed()`,
/// every later read fails too, so a codec may check only its last result.
/// Reading never has undefined behaviour, whatever the bytes. The viewed
/// bytes must outlive the reader and anything `read_view` returned. Not
/// thread-safe.
class byte_reader {
 public:
  /// A reader positioned at the start of `bytes`.
  explicit byte_reader(const_buffer bytes) noexcept : m_data(bytes.data()), m_size(bytes.size()) {}

  /// Reads one byte.
  [[nodiscard]] bool read_byte(std::byte& out) noexcept {
    const std::byte* p = nullptr;
    if (!take(1, p)) return false;
    out = *p;
    return true;
  }

  /// Copies the next `out.size()` bytes into `out`.
  [[nodiscard]] bool read_bytes(mutable_buffer out) noexcept {
    const std::byte* p = nullptr;
    if (!take(out.size(), p)) return false;
    // memcpy from or to a null pointer is undefined even for 0 bytes.
    if (!out.empty()) std::memcpy(out.data(), p, out.size());
    return true;
  }

  /// Consumes the next `n` bytes and sets `out` to view them in place (no
  /// copy): `out` is valid as long as the bytes the reader was built on.
  [[nodiscard]] bool read_view(std::size_t n, const_buffer& out) noexcept {
    const std::byte* p = nullptr;
    if (!take(n, p)) return false;
    out = const_buffer(p, n);
    return true;
  }

  /// Reads a `sizeof(T)`-byte little-endian value (see
  /// `byte_writer::write_fixed`). A `bool` byte other than 0 or 1 fails.
  template <detail::fixed_width_arithmetic T>
  [[nodiscard]] bool read_fixed(T& out) noexcept {
    const std::byte* p = nullptr;
    if (!take(sizeof(T), p)) return false;
    if constexpr (std::is_same_v<std::remove_cv_t<T>, bool>) {
      // Any other byte would be a bool with an invalid object representation.
      if (std::to_integer<unsigned>(*p) > 1) return undo_and_fail(sizeof(T));
      out = *p == std::byte{1};
    } else {
      out = detail::load_le<T>(p);
    }
    return true;
  }

  /// Reads an unsigned LEB128 varint. Fails on a truncated varint, on one
  /// longer than 10 bytes or above 2^64 - 1, and on a non-shortest form (a
  /// final byte of 0 after the first), so every value has exactly one
  /// encoding.
  [[nodiscard]] bool read_varint(std::uint64_t& out) noexcept {
    if (m_failed) return false;
    // One byte, the common case (a length or count below 128).
    if (m_pos != m_size && std::to_integer<std::uint8_t>(m_data[m_pos]) < 0x80) {
      out = std::to_integer<std::uint8_t>(m_data[m_pos++]);
      return true;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < detail::max_varint_size; ++i) {
      if (m_pos + i == m_size) return mark_failed();
      const auto b = std::to_integer<std::uint64_t>(m_data[m_pos + i]);
      // The tenth byte holds only bit 63: anything more overflows 64 bits.
      if (i == detail::max_varint_size - 1 && b > 1) return mark_failed();
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        if (b == 0 && i > 0) return mark_failed();
        m_pos += i + 1;
        out = value;
        return true;
      }
    }
    return mark_failed();  // unreachable: the tenth byte always ends the loop
  }

  /// Reads a varint element count and checks it against the input left: it
  /// fails unless `count * min_element_size <= remaining()` afterwards (a
  /// `min_element_size` of 0 counts as 1). Decoders call this before
  /// reserving, so a hostile count cannot make them allocate more than the
  /// input could fill.
  [[nodiscard]] bool read_count(std::size_t& out, std::size_t min_element_size = 1) noexcept {
    std::uint64_t n = 0;
    const std::size_t before = m_pos;
    if (!read_varint(n)) return false;
    if (min_element_size == 0) min_element_size = 1;
    if (n > remaining() / min_element_size) return undo_and_fail(m_pos - before);
    out = static_cast<std::size_t>(n);
    return true;
  }

  /// Puts the reader into the failed state and returns `false`, so that a
  /// codec rejecting a well-formed but invalid value can `return r.mark_failed();`.
  bool mark_failed() noexcept {
    m_failed = true;
    return false;
  }

  /// True once any read has failed.
  [[nodiscard]] bool failed() const noexcept { return m_failed; }

  /// The number of bytes not yet consumed.
  [[nodiscard]] std::size_t remaining() const noexcept { return m_size - m_pos; }

  /// True when every byte has been consumed.
  [[nodiscard]] bool at_end() const noexcept { return m_pos == m_size; }

  /// The number of bytes consumed so far.
  [[nodiscard]] std::size_t position() const noexcept { return m_pos; }

 private:
  // Consumes the next n bytes and points p at them; fails (sticky) when the
  // reader has failed or fewer than n remain. p may be null for n == 0.
  bool take(std::size_t n, const std::byte*& p) noexcept {
    if (m_failed || n > m_size - m_pos) return mark_failed();
    p = m_data + m_pos;
    m_pos += n;
    return true;
  }

  bool undo_and_fail(std::size_t n) noexcept {
    m_pos -= n;
    return mark_failed();
  }

  const std::byte* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
  bool m_failed = false;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

[[gnu::noinline]] DUET_INLINE void byte_writer::grow_and_append(const std::byte* p, std::size_t n) {
  if (n == 0) return;
  if (m_end == nullptr) {
    const std::size_t old = m_out->size();
    m_out->resize(old + n);
    std::memcpy(m_out->data() + old, p, n);
    return;
  }
  // Grown (geometrically, by the vector), then all its capacity made room,
  // so the next appends need no resize.
  const std::size_t at = *m_end;
  if (m_out->size() < at + n) m_out->resize(at + n);
  m_out->resize(m_out->capacity());
  std::memcpy(m_out->data() + at, p, n);
  *m_end = at + n;
}

}  // namespace duet::inline v0
#endif
