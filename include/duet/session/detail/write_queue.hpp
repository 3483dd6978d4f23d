#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/session/detail/call_operation.hpp>
#include <duet/wire/decoder.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace duet::inline v0::detail {

/// A session's output: the frames queued for the writer, and the one batch
/// the writer is writing. Double buffered: the writer takes everything
/// queued as one gather list (`take`), and new frames queue into the other
/// buffer meanwhile; both keep their capacity.
///
/// A frame may send a long run of bytes from where it lies instead of
/// copying it into the buffer (a borrowed view): a request's arguments (the
/// call keeps them alive until it ends) or the reader's buffer (until the
/// reader reads again). Whichever of those ends comes before the write
/// copies the bytes (`detach_views_of`, `detach_reader_views`).
///
/// The hot path appends without resizing the buffer per frame: the buffer
/// is kept longer than what is queued, the rest being room (`extend`,
/// `writer`), until something uses it as a plain vector (`buffer`).
///
/// It also counts the bytes of answers to the peer (responses, errors,
/// pongs) queued or being written, which backpressure limits.
class write_queue {
 public:
  /// `reader` is the session's decoder: bytes it holds are the reader's.
  explicit write_queue(const frame_decoder& reader) noexcept : m_reader(&reader) {}
  write_queue(const write_queue&) = delete;
  write_queue& operator=(const write_queue&) = delete;

  /// The buffer frames are appended to, as a plain vector: its size is
  /// where the queued bytes end (the room past them is given back first).
  [[nodiscard]] byte_vector& buffer() {
    if (!m_settled) {
      m_out.resize(m_end);
      m_settled = true;
    }
    return m_out;
  }

  /// Where the queued bytes end in the buffer (the next frame's offset).
  [[nodiscard]] std::size_t size() const noexcept { return m_settled ? m_out.size() : m_end; }

  /// The buffer's bytes; valid until the next append.
  [[nodiscard]] std::byte* data() noexcept { return m_out.data(); }

  /// Appends `n` uninitialised bytes and returns where they begin; the
  /// buffer grows only when its room runs out.
  [[nodiscard]] std::byte* extend(std::size_t n) {
    std::size_t& end = unsettled_end();
    if (m_out.size() - end < n) grow(n);
    std::byte* const at = m_out.data() + end;
    end += n;
    return at;
  }

  /// A writer appending to the buffer through its room, whose long runs
  /// `borrower` may take (nullptr: none). Nothing else may append while
  /// it is in use.
  [[nodiscard]] byte_writer writer(byte_borrower* borrower) noexcept {
    return byte_writer(m_out, unsettled_end(), borrower);
  }

  /// Whether nothing waits for the writer.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  /// Bytes queued for the writer, borrowed runs included.
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return size() + m_view_bytes; }

  /// Whether the writer holds a batch it took and has not finished writing.
  [[nodiscard]] bool writing() const noexcept { return !m_gather.empty(); }

  /// A borrower for the byte_writer of a frame being appended: it takes a
  /// request's long runs when `call` is set (the call's arguments), and runs
  /// that lie in the reader's buffer. Valid until the next call of this.
  [[nodiscard]] byte_borrower* borrower(call_operation* call) noexcept {
    m_borrowing_call = call;
    return &m_borrower;
  }

  /// Bytes that the frames appended from offset `frame_start` on send from
  /// where they are.
  [[nodiscard]] std::size_t view_bytes_after(std::size_t frame_start) const noexcept {
    if (m_view_bytes == 0 || m_views.back().at <= frame_start) return 0;  // the usual case
    std::size_t n = 0;
    for (auto v = m_views.rbegin(); v != m_views.rend() && v->at > frame_start; ++v) n += v->bytes.size();
    return n;
  }

  /// Removes everything appended from offset `frame_start` on, with its views.
  void drop_after(std::size_t frame_start) noexcept;

  /// The writer takes everything queued, as one gather list: the buffer's
  /// bytes with the borrowed runs in between. The list and what it views
  /// stay valid until `written()`.
  [[nodiscard]] std::span<const const_buffer> take();

  /// The write of what `take` gave is over (done or failed): the arguments
  /// and the reader's bytes it sent from are free again.
  void written() noexcept;

  /// Whether frames queued or being written send bytes from the reader's
  /// buffer, which must not be reused before `detach_reader_views()`.
  [[nodiscard]] bool sends_from_reader() const noexcept { return m_reader_views != 0; }

  /// Copies the reader's bytes that queued or unwritten frames still send
  /// from, so that the reader may reuse its buffer.
  void detach_reader_views();

  /// Copies the bytes that queued or unwritten frames send from `call`'s
  /// arguments: the call is ending, and its caller may free them.
  void detach_views_of(call_operation& call);

  // ---- answers to the peer (backpressure counts them) ----------------------

  /// `n` bytes of an answer were queued.
  void count_answer(std::size_t n) noexcept {
    m_answer_bytes += n;
    const std::size_t now = answer_bytes();
    if (now > m_peak_answer_bytes) m_peak_answer_bytes = now;
  }

  /// Bytes of answers queued or being written.
  [[nodiscard]] std::size_t answer_bytes() const noexcept { return m_answer_bytes + m_writing_answer_bytes; }

  /// The most `answer_bytes()` has been.
  [[nodiscard]] std::size_t peak_answer_bytes() const noexcept { return m_peak_answer_bytes; }

 private:
  // A run of bytes a queued frame sends from memory the session does not
  // own: a request's arguments or the reader's buffer.
  struct output_view {
    std::size_t at = 0;                 // offset in its output buffer the bytes follow
    const_buffer bytes;
    call_operation* call = nullptr;       // the call whose arguments they are, if any
    bool from_reader = false;           // they lie in the reader's buffer
    std::size_t gather_index = 0;       // while being written: their entry in m_gather
    std::unique_ptr<std::byte[]> copy;  // once detached: the bytes, owned
  };

  struct output_borrower : byte_borrower {
    write_queue* self = nullptr;
  };

  // The byte_writer's offer of a long run: a request's arguments are
  // always taken (the call keeps them alive), a response's bytes only when
  // they lie in the reader's buffer (a handler's own memory may be gone or
  // changed before the write).
  static bool borrow(byte_borrower& borrower, const_buffer bytes) {
    write_queue& self = *static_cast<output_borrower&>(borrower).self;
    const bool from_reader = self.m_reader->holds(bytes);
    if (self.m_borrowing_call == nullptr && !from_reader) return false;
    self.m_views.push_back(output_view{self.size(), bytes, self.m_borrowing_call, from_reader, 0, {}});
    self.m_view_bytes += bytes.size();
    if (from_reader) ++self.m_reader_views;
    if (self.m_borrowing_call != nullptr) self.m_borrowing_call->sends_from_arguments = true;
    return true;
  }

  // Copies the bytes of `v` (being written when `sending`) into storage of
  // its own and points the frame, and the write under way, at the copy.
  // Rare: a call that ended before its request was written, or a reader
  // that reads again before the writer could send its bytes.
  void detach(output_view& v, bool sending);

  // The end of the queued bytes, switching the buffer to room mode: its
  // size is then not the end, m_end is.
  std::size_t& unsettled_end() noexcept {
    if (m_settled) {
      m_end = m_out.size();
      m_settled = false;
    }
    return m_end;
  }

  // extend's growth: the buffer grows (geometrically) and all its capacity
  // becomes room.
  void grow(std::size_t n);

  // A buffer grown past this by one burst of large frames is given back
  // once written, so it does not pin its memory for the connection's life.
  static constexpr std::size_t retained_output_capacity = 2 * 1024 * 1024;

  const frame_decoder* m_reader;
  byte_vector m_out;                         // queued frames (then room, unless m_settled)
  std::size_t m_end = 0;                     // where the queued frames end in m_out, unless m_settled
  bool m_settled = true;                     // m_out's size is where they end
  std::vector<output_view> m_views;          // in m_out, by offset
  std::size_t m_view_bytes = 0;              // their total size
  byte_vector m_sending;                     // taken by the writer
  std::vector<output_view> m_sending_views;  // in m_sending
  std::vector<const_buffer> m_gather;        // the write under way
  std::size_t m_reader_views = 0;            // views into the reader's buffer, queued or being written
  call_operation* m_borrowing_call = nullptr;  // the call whose request is being encoded
  output_borrower m_borrower{{&borrow}, this};
  std::size_t m_answer_bytes = 0;          // answers in m_out
  std::size_t m_writing_answer_bytes = 0;  // answers in the write under way
  std::size_t m_peak_answer_bytes = 0;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

[[gnu::noinline]] DUET_INLINE void write_queue::drop_after(std::size_t frame_start) noexcept {
  if (m_settled) {
    m_out.resize(frame_start);
  } else {
    m_end = frame_start;
  }
  while (!m_views.empty() && m_views.back().at > frame_start) {
    m_view_bytes -= m_views.back().bytes.size();
    if (m_views.back().from_reader) --m_reader_views;
    m_views.pop_back();
  }
}

[[gnu::noinline]] DUET_INLINE void write_queue::grow(std::size_t n) {
  if (m_out.size() < m_end + n) m_out.resize(m_end + n);
  m_out.resize(m_out.capacity());
}

DUET_INLINE std::span<const const_buffer> write_queue::take() {
  (void)buffer();  // the batch ends where its bytes do
  std::swap(m_sending, m_out);
  std::swap(m_sending_views, m_views);
  m_view_bytes = 0;
  m_gather.clear();
  std::size_t from = 0;
  for (output_view& v : m_sending_views) {
    m_gather.push_back(const_buffer(m_sending).subspan(from, v.at - from));
    v.gather_index = m_gather.size();
    m_gather.push_back(v.bytes);
    from = v.at;
  }
  m_gather.push_back(const_buffer(m_sending).subspan(from));
  m_writing_answer_bytes = std::exchange(m_answer_bytes, 0);
  return m_gather;
}

DUET_INLINE void write_queue::written() noexcept {
  for (output_view& v : m_sending_views) {
    if (v.call != nullptr) v.call->sends_from_arguments = false;
    if (v.from_reader) --m_reader_views;
  }
  m_sending_views.clear();
  m_gather.clear();
  m_sending.clear();
  if (m_sending.capacity() > retained_output_capacity) byte_vector().swap(m_sending);
  m_writing_answer_bytes = 0;
}

DUET_INLINE void write_queue::detach_reader_views() {
  for (output_view& v : m_views) {
    if (v.from_reader) detach(v, false);
  }
  for (output_view& v : m_sending_views) {
    if (v.from_reader) detach(v, true);
  }
}

[[gnu::noinline]] DUET_INLINE void write_queue::detach_views_of(call_operation& call) {
  for (output_view& v : m_views) {
    if (v.call == &call) detach(v, false);
  }
  for (output_view& v : m_sending_views) {
    if (v.call == &call) detach(v, true);
  }
  call.sends_from_arguments = false;
}

DUET_INLINE void write_queue::detach(output_view& v, bool sending) {
  if (v.copy != nullptr) return;
  v.copy = std::make_unique_for_overwrite<std::byte[]>(v.bytes.size());
  std::memcpy(v.copy.get(), v.bytes.data(), v.bytes.size());
  v.bytes = const_buffer(v.copy.get(), v.bytes.size());
  if (sending) m_gather[v.gather_index] = v.bytes;
  if (v.from_reader) --m_reader_views;
  v.from_reader = false;
  v.call = nullptr;
}

}  // namespace duet::inline v0::detail
#endif
