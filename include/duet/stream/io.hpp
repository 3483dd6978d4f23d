#pragma once

#include <duet/codec/codec.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/stream_routing.hpp>
#include <duet/status.hpp>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>

namespace duet::inline v0 {

namespace detail {

/// A message whose encoding is its bytes behind their count: a byte string
/// or span with the built-in codec (`stream_table::send_bytes` sends it).
template <class T>
concept byte_run_message = uses_builtin_codec<T> &&
                           (kind_of<T> == codec_kind::view || kind_of<T> == codec_kind::sequence) &&
                           sizeof(element_t<T>) == 1 && memcpy_codable<element_t<T>> && contiguous_of<T, element_t<T>>;

template <class T>
bool decode_message(void* target, const_buffer bytes) {
  if constexpr (byte_run_message<T> && kind_of<T> == codec_kind::view) {
    // A view of fewer than 128 bytes: a one-byte count, then the bytes to
    // the end (what decode_all accepts then), viewed where they are.
    if (!bytes.empty() && std::to_integer<std::size_t>(bytes[0]) == bytes.size() - 1 && bytes.size() <= 0x80) {
      using element = element_t<T>;
      *static_cast<T*>(target) = T(reinterpret_cast<const element*>(bytes.data() + 1), bytes.size() - 1);
      return true;
    }
  }
  return duet::decode_all(bytes, *static_cast<T*>(target));
}

template <class T>
void encode_message(const void* value, byte_writer& out) {
  duet::encode(out, *static_cast<const T*>(value));
}

/// `co_await next()` on one side of a stream: the next message, or nothing
/// at the end; with `Into`, `co_await next_into(v)`: true with the next
/// message decoded into `v` (whose capacity it reuses), false at the end.
/// A message that arrived while nobody waited comes from the queue;
/// otherwise the reader decodes it straight into this awaiter's value (or
/// `v`) when it arrives, and resumes the consumer.
template <class T, bool Into = false>
class next_awaiter {
 public:
  explicit next_awaiter(stream_channel& ch) noexcept
    requires(!Into)
      : m_ch(&ch) {}
  next_awaiter(stream_channel& ch, T& into) noexcept
    requires Into
      : m_ch(&ch), m_slot(&into) {}

  bool await_ready() {
    stream_channel& ch = *m_ch;
    if (!ch.queue.empty()) {
      m_got = decode_message<T>(target(), ch.queue.front()) ? stream_channel::delivery::message
                                                            : stream_channel::delivery::undecodable;
      const std::size_t bytes = ch.queue.pop();
      ch.session->streams().consumed(*ch.session, ch, bytes);
      return true;
    }
    if (stream_table& table = ch.session->streams(); table.delivering_to(ch)) {
      // Resumed by the reader: the next message may already be in its buffer.
      if (const_buffer payload; table.take_next(*ch.session, ch, payload)) {
        m_got = decode_message<T>(target(), payload) ? stream_channel::delivery::message
                                                     : stream_channel::delivery::undecodable;
        table.consumed(*ch.session, ch, payload.size());
        return true;
      }
    }
    if (ch.inbound_ended || ch.closed()) {
      m_got = stream_channel::delivery::end;
      return true;
    }
    return false;
  }

  void await_suspend(std::coroutine_handle<> awaiting) {
    stream_channel& ch = *m_ch;
    ch.reader = awaiting;
    ch.decode = &decode_message<T>;
    ch.target = target();
    ch.delivered = stream_channel::delivery::none;
  }

  auto await_resume() {
    if (m_got == stream_channel::delivery::none) m_got = std::exchange(m_ch->delivered, stream_channel::delivery::none);
    if (m_got == stream_channel::delivery::undecodable) {
      throw rpc_error(status(m_ch->callee ? status_code::invalid_argument : status_code::internal,
                             "a stream message does not decode as the method's message type"));
    }
    if constexpr (Into) {
      return m_got == stream_channel::delivery::message;
    } else {
      return m_got == stream_channel::delivery::message ? std::move(m_slot) : std::optional<T>();
    }
  }

 private:
  // Where the next message is decoded: a fresh value, or the caller's.
  T* target() {
    if constexpr (Into) {
      return m_slot;
    } else {
      return &m_slot.emplace();
    }
  }

  stream_channel* m_ch;
  std::conditional_t<Into, T*, std::optional<T>> m_slot;
  stream_channel::delivery m_got = stream_channel::delivery::none;
};

/// `co_await send(v)` on one side of a stream: waits for credit and for
/// room in the connection's output, then queues the message; false once
/// the stream ended (or this side's messages did). Throws `rpc_error` when
/// the message cannot be sent (larger than the peer accepts, or encoding
/// threw).
template <class T>
class send_awaiter {
 public:
  send_awaiter(stream_channel& ch, const T& value) noexcept : m_ch(&ch), m_value(&value) {}

  bool await_ready() {
    // Sent at once when there is credit and room: the value is read before
    // any suspension.
    if (!open()) return true;
    if (!m_ch->session->streams().may_send(*m_ch->session, *m_ch)) return false;
    m_sent = put();
    return true;
  }

  void await_suspend(std::coroutine_handle<> awaiting) noexcept {
    m_ch->session->streams().wait_to_send(*m_ch, awaiting);
  }

  bool await_resume() {
    if (m_sent) return true;
    if (!open() || !m_ch->outbound.can_send()) return false;
    return put();
  }

 private:
  [[nodiscard]] bool open() const noexcept {
    const stream_channel& ch = *m_ch;
    if (ch.closed() || !ch.session->is_open()) return false;
    // The caller's messages end with its half-close.
    return ch.callee || ch.phase == stream_phase::open;
  }

  bool put() {
    stream_channel& ch = *m_ch;
    if constexpr (byte_run_message<T>) {
      const auto bytes = const_buffer(reinterpret_cast<const std::byte*>(m_value->data()), m_value->size());
      if (!ch.session->streams().send_bytes(*ch.session, ch, bytes))
        throw rpc_error(status(status_code::resource_exhausted, "a stream message is larger than the peer's maximum frame size"));
    } else {
      status s = ch.session->streams().send(*ch.session, ch, &encode_message<T>, m_value);
      if (!s.ok()) throw rpc_error(std::move(s));
    }
    return true;
  }

  stream_channel* m_ch;
  const T* m_value;
  bool m_sent = false;
};

}  // namespace detail

/// A stream handler's way to send messages to its caller (docs/streams.md):
///
///     co_await out.send(tick{...});   // false once the stream is over
///
/// `send` waits while the caller has granted no credit (a slow consumer
/// holds the handler back, not the connection) and while the connection's
/// queued output is at `session_options::max_queued_bytes` (the handler
/// runs no further ahead of the socket), and yields false once the
/// stream ended: the caller cancelled, the deadline passed, the connection
/// closed. It throws `duet::rpc_error` for a message larger than the caller
/// accepts. Pass a value that outlives the `co_await` (a named local).
/// Valid while the handler runs; one `send` at a time.
template <class T>
class stream_writer {
 public:
  explicit stream_writer(detail::stream_channel& ch) noexcept : m_ch(&ch) {}
  stream_writer(const stream_writer&) = delete;
  stream_writer& operator=(const stream_writer&) = delete;

  /// Sends `message` once there is credit; true when it is queued.
  [[nodiscard]] detail::send_awaiter<T> send(const T& message) noexcept { return {*m_ch, message}; }

  /// Whether the stream ended (cancelled, timed out, the connection closed).
  [[nodiscard]] bool ended() const noexcept { return m_ch->closed(); }

 private:
  detail::stream_channel* m_ch;
};

/// A stream handler's way to receive its caller's messages
/// (docs/streams.md):
///
///     while (std::optional<chunk> c = co_await in.next()) { ... }
///
/// `next` yields the next message, or nothing once the caller finished
/// sending (or the stream ended); `next_into(v)` decodes it into `v`
/// instead, reusing what `v` holds (a vector's or string's capacity), and
/// yields false at the end. A message that does not decode as `T`
/// throws `duet::rpc_error` (`invalid_argument`), which, escaping the
/// handler, ends the stream with it. Valid while the handler runs; one
/// `next` at a time.
template <class T>
class stream_reader {
 public:
  explicit stream_reader(detail::stream_channel& ch) noexcept : m_ch(&ch) {}
  stream_reader(const stream_reader&) = delete;
  stream_reader& operator=(const stream_reader&) = delete;

  /// The next message, or nothing at the end.
  [[nodiscard]] detail::next_awaiter<T> next() noexcept { return detail::next_awaiter<T>(*m_ch); }

  /// The next message decoded into `message` (true), or false at the end;
  /// `message` must outlive the `co_await`.
  [[nodiscard]] detail::next_awaiter<T, true> next_into(T& message) noexcept {
    return detail::next_awaiter<T, true>(*m_ch, message);
  }

 private:
  detail::stream_channel* m_ch;
};

}  // namespace duet::inline v0
