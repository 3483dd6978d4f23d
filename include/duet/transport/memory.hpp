#pragma once

#include <duet/config.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstring>  // std::memcpy
#include <memory>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include <duet/bytes.hpp>
#include <duet/loop/scheduler.hpp>
#include <duet/transport/transport.hpp>

// No OS header here: the pair works on any `duet::scheduler` (an event_loop
// included elsewhere, or a user's own loop) through a type-erased `post`.

namespace duet::inline v0 {

class memory_stream;

template <scheduler Scheduler>
[[nodiscard]] std::pair<memory_stream, memory_stream> make_memory_pair(Scheduler& loop,
                                                                      std::size_t capacity = 256 * 1024);

namespace detail {

struct memory_read_op {
  mutable_buffer m_buffer;
  io_result m_result;
  std::coroutine_handle<> m_waiter;
};

struct memory_write_op {
  std::span<const const_buffer> m_buffers;
  std::size_t m_index = 0;   // next buffer to send
  std::size_t m_offset = 0;  // bytes of it already sent
  std::size_t m_total = 0;   // bytes sent so far
  io_result m_result;
  std::coroutine_handle<> m_waiter;

  [[nodiscard]] bool done() const noexcept { return m_index == m_buffers.size(); }

  // The unsent part of the current buffer (skipping empty ones).
  [[nodiscard]] const_buffer current() noexcept {
    while (m_index < m_buffers.size() && m_offset == m_buffers[m_index].size()) {
      ++m_index;
      m_offset = 0;
    }
    if (m_index == m_buffers.size()) return {};
    return m_buffers[m_index].subspan(m_offset);
  }

  void advance(std::size_t n) noexcept {
    m_offset += n;
    m_total += n;
    (void)current();  // normalises m_index so done() is accurate
  }
};

// One direction of a memory pair: a bounded ring of bytes, at most one
// waiting reader (only when the ring is empty) and one waiting writer (only
// when the ring is full).
class memory_pipe {
public:
  explicit memory_pipe(std::size_t capacity) : m_ring(std::max<std::size_t>(capacity, 1)) {}

  std::vector<std::byte> m_ring;
  std::size_t m_head = 0;  // index of the oldest byte
  std::size_t m_size = 0;  // bytes buffered
  memory_read_op* m_reader = nullptr;
  memory_write_op* m_writer = nullptr;
  bool m_writer_closed = false;  // the writing end closed: end of stream after the bytes
  bool m_reader_closed = false;  // the reading end closed: writes fail

  std::size_t push(const_buffer bytes) noexcept;

  std::size_t pop(mutable_buffer into) noexcept;
};

struct memory_channel {
  using post_type = void (*)(void*, std::coroutine_handle<>);

  memory_channel(void* scheduler, post_type post, std::size_t capacity);

  void post(std::coroutine_handle<> handle) noexcept { m_post(m_scheduler, handle); }

  // Moves bytes from the pending writer (if any) into the ring, then from the
  // ring to the pending reader (if any), completing whichever finished.
  void pump(memory_pipe& pipe) noexcept;

  void* m_scheduler;
  post_type m_post;
  memory_pipe m_pipes[2];  // m_pipes[i] carries bytes *to* end i
  bool m_closed[2] = {false, false};
};

}  // namespace detail

/// One end of an in-process connected byte stream made by
/// `make_memory_pair`: the transport for tests and for a client and server
/// living in one process. No file descriptor, no system call.
///
/// Each direction has a bounded buffer (the pair's capacity): a write copies
/// what fits and waits for the peer to read the rest; a read takes what is
/// buffered or waits for the peer to write. `close()` makes the peer read
/// end of stream once it has read the bytes already buffered, and makes the
/// peer's writes fail with `broken_pipe`. Completions that one end's
/// operation causes at the other end are posted to the scheduler, never
/// resumed inline, so ping-pong traffic cannot grow the stack.
///
/// Both ends belong to the scheduler (loop) they were made with and are used
/// on its thread; the pair's shared state lives until both ends are gone.
class memory_stream {
public:
  memory_stream(memory_stream&& other) noexcept
      : m_channel(std::move(other.m_channel)), m_side(other.m_side) {}

  memory_stream& operator=(memory_stream&& other) noexcept {
    if (this != &other) {
      close();
      m_channel = std::move(other.m_channel);
      m_side = other.m_side;
    }
    return *this;
  }

  memory_stream(const memory_stream&) = delete;
  memory_stream& operator=(const memory_stream&) = delete;

  ~memory_stream() { close(); }

  class read_awaiter;
  class write_awaiter;

  /// Reads at least one byte (up to `buffer.size()`), or end of stream
  /// once the peer closed and everything it sent was read. Completes at once
  /// when bytes are buffered. On a closed end: `operation_canceled`.
  [[nodiscard]] read_awaiter read_some(mutable_buffer buffer) noexcept;

  /// Writes every byte of `buffers`, waiting for the peer to make room as
  /// needed. Fails with `broken_pipe` if the peer closed, and with
  /// `operation_canceled` if this end is closed meanwhile.
  [[nodiscard]] write_awaiter write(std::span<const const_buffer> buffers) noexcept;

  /// Closes this end: pending operations on it complete with
  /// `operation_canceled`; the peer gets end of stream after the buffered
  /// bytes. Idempotent.
  void close() noexcept;

  /// True until close() (false for a moved-from stream).
  [[nodiscard]] bool is_open() const noexcept { return m_channel && !m_channel->m_closed[m_side]; }

private:
  template <scheduler Scheduler>
  friend std::pair<memory_stream, memory_stream> make_memory_pair(Scheduler& loop, std::size_t capacity);

  memory_stream(std::shared_ptr<detail::memory_channel> channel, int side) noexcept
      : m_channel(std::move(channel)), m_side(side) {}

  std::shared_ptr<detail::memory_channel> m_channel;
  int m_side = 0;
};

/// The awaitable of `memory_stream::read_some`.
class [[nodiscard]] memory_stream::read_awaiter : private detail::memory_read_op {
public:
  read_awaiter(detail::memory_channel* channel, int side, mutable_buffer buffer) noexcept
      : detail::memory_read_op{buffer, {}, {}}, m_channel(channel), m_side(side) {}

  [[nodiscard]] bool await_ready() noexcept;

  void await_suspend(std::coroutine_handle<> awaiter) noexcept {
    m_waiter = awaiter;
    m_channel->m_pipes[m_side].m_reader = this;
  }

  [[nodiscard]] io_result await_resume() const noexcept { return m_result; }

private:
  detail::memory_channel* m_channel;
  int m_side;
};

/// The awaitable of `memory_stream::write`.
class [[nodiscard]] memory_stream::write_awaiter : private detail::memory_write_op {
public:
  write_awaiter(detail::memory_channel* channel, int side, std::span<const const_buffer> buffers) noexcept
      : m_channel(channel), m_side(side) {
    m_buffers = buffers;
  }

  [[nodiscard]] bool await_ready() noexcept;

  void await_suspend(std::coroutine_handle<> awaiter) noexcept {
    m_waiter = awaiter;
    m_channel->m_pipes[1 - m_side].m_writer = this;
  }

  [[nodiscard]] io_result await_resume() const noexcept { return m_result; }

private:
  detail::memory_channel* m_channel;
  int m_side;
};

inline memory_stream::read_awaiter memory_stream::read_some(mutable_buffer buffer) noexcept {
  return read_awaiter(m_channel.get(), m_side, buffer);
}

inline memory_stream::write_awaiter memory_stream::write(std::span<const const_buffer> buffers) noexcept {
  return write_awaiter(m_channel.get(), m_side, buffers);
}

/// Makes a connected pair of in-memory streams whose completions are posted
/// to `loop` (any `duet::scheduler`, typically a `duet::event_loop`); each
/// direction buffers up to `capacity` bytes (at least 1). `loop` must
/// outlive both ends. Allocates once, here; reads and writes never allocate.
template <scheduler Scheduler>
std::pair<memory_stream, memory_stream> make_memory_pair(Scheduler& loop, std::size_t capacity) {
  auto post = [](void* context, std::coroutine_handle<> handle) { static_cast<Scheduler*>(context)->post(handle); };
  auto channel = std::make_shared<detail::memory_channel>(static_cast<void*>(&loop), post, capacity);
  return {memory_stream(channel, 0), memory_stream(channel, 1)};
}

static_assert(transport<memory_stream>);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

namespace detail {

DUET_INLINE std::size_t memory_pipe::push(const_buffer bytes) noexcept {
  const std::size_t n = std::min(bytes.size(), m_ring.size() - m_size);
  std::size_t tail = (m_head + m_size) % m_ring.size();
  std::size_t copied = 0;
  while (copied < n) {
    const std::size_t chunk = std::min(n - copied, m_ring.size() - tail);
    std::memcpy(m_ring.data() + tail, bytes.data() + copied, chunk);
    copied += chunk;
    tail = (tail + chunk) % m_ring.size();
  }
  m_size += n;
  return n;
}

DUET_INLINE std::size_t memory_pipe::pop(mutable_buffer into) noexcept {
  const std::size_t n = std::min(into.size(), m_size);
  std::size_t copied = 0;
  while (copied < n) {
    const std::size_t chunk = std::min(n - copied, m_ring.size() - m_head);
    std::memcpy(into.data() + copied, m_ring.data() + m_head, chunk);
    copied += chunk;
    m_head = (m_head + chunk) % m_ring.size();
  }
  m_size -= n;
  if (m_size == 0) m_head = 0;
  return n;
}

DUET_INLINE memory_channel::memory_channel(void* scheduler, post_type post, std::size_t capacity)
    : m_scheduler(scheduler), m_post(post), m_pipes{memory_pipe(capacity), memory_pipe(capacity)} {}

DUET_INLINE void memory_channel::pump(memory_pipe& pipe) noexcept {
  if (memory_write_op* writer = pipe.m_writer) {
    while (!writer->done()) {
      const std::size_t n = pipe.push(writer->current());
      if (n == 0) break;
      writer->advance(n);
    }
    if (writer->done()) {
      pipe.m_writer = nullptr;
      writer->m_result = io_result{writer->m_total, {}};
      post(writer->m_waiter);
    }
  }
  if (memory_read_op* reader = pipe.m_reader; reader != nullptr && pipe.m_size > 0) {
    pipe.m_reader = nullptr;
    reader->m_result = io_result{pipe.pop(reader->m_buffer), {}};
    post(reader->m_waiter);
    // The read made room: the writer may move on.
    if (pipe.m_writer != nullptr) pump(pipe);
  }
}

}  // namespace detail

DUET_INLINE void memory_stream::close() noexcept {
  if (!m_channel || m_channel->m_closed[m_side]) return;
  detail::memory_channel& channel = *m_channel;
  channel.m_closed[m_side] = true;
  const std::error_code canceled = std::make_error_code(std::errc::operation_canceled);

  detail::memory_pipe& in = channel.m_pipes[m_side];
  in.m_reader_closed = true;
  if (auto* reader = std::exchange(in.m_reader, nullptr)) {
    reader->m_result = io_result{0, canceled};
    channel.post(reader->m_waiter);
  }
  if (auto* writer = std::exchange(in.m_writer, nullptr)) {
    writer->m_result = io_result{0, std::make_error_code(std::errc::broken_pipe)};
    channel.post(writer->m_waiter);
  }

  detail::memory_pipe& out = channel.m_pipes[1 - m_side];
  out.m_writer_closed = true;
  if (auto* writer = std::exchange(out.m_writer, nullptr)) {
    writer->m_result = io_result{0, canceled};
    channel.post(writer->m_waiter);
  }
  if (auto* reader = std::exchange(out.m_reader, nullptr)) {
    reader->m_result = io_result{};  // a waiting reader means nothing is buffered: end of stream
    channel.post(reader->m_waiter);
  }
}

DUET_INLINE bool memory_stream::read_awaiter::await_ready() noexcept {
  if (m_channel == nullptr || m_channel->m_closed[m_side]) {
    m_result = io_result{0, std::make_error_code(std::errc::operation_canceled)};
    return true;
  }
  detail::memory_pipe& pipe = m_channel->m_pipes[m_side];
  if (pipe.m_size > 0 || m_buffer.empty()) {
    m_result = io_result{pipe.pop(m_buffer), {}};
    m_channel->pump(pipe);  // room was made: a waiting writer moves on
    return true;
  }
  if (pipe.m_writer_closed) {
    m_result = io_result{};
    return true;
  }
  return false;
}

DUET_INLINE bool memory_stream::write_awaiter::await_ready() noexcept {
  if (m_channel == nullptr || m_channel->m_closed[m_side]) {
    m_result = io_result{0, std::make_error_code(std::errc::operation_canceled)};
    return true;
  }
  detail::memory_pipe& pipe = m_channel->m_pipes[1 - m_side];
  if (pipe.m_reader_closed) {
    m_result = io_result{0, std::make_error_code(std::errc::broken_pipe)};
    return true;
  }
  (void)current();
  while (!done()) {
    const std::size_t n = pipe.push(current());
    if (n > 0) {
      advance(n);
      continue;
    }
    if (pipe.m_reader == nullptr) break;
    m_channel->pump(pipe);  // a waiting reader takes the full ring: room again
  }
  m_channel->pump(pipe);  // hand the bytes to a waiting reader
  if (done()) {
    m_result = io_result{m_total, {}};
    return true;
  }
  return false;
}

}  // namespace duet::inline v0
#endif
