#pragma once

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/status.hpp>
#include <duet/stream/flow_control.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace duet::inline v0::detail {

class session_core;
class call_operation;

/// Decodes one message's bytes into the value a waiting consumer gave
/// (`stream_channel::wait_message`); false when they do not decode.
using message_decoder = bool (*)(void* target, const_buffer bytes);

/// Encodes one message (an object its sender owns) into a stream_data frame.
using message_encoder = void (*)(const void* value, byte_writer& out);

/// Where a stream is in its life at one side (docs/protocol.md, 12.2).
enum class stream_phase : std::uint8_t {
  opening,      ///< caller: the request waits for the peer's hello or for room
  open,         ///< messages may flow both ways (those the method has)
  half_closed,  ///< the caller sent stream_end: only the callee's messages flow
  closed,       ///< ended: the final status is known; no frame flows any more
};

/// Messages that arrived while no consumer waited: copies, one after the
/// other in one buffer (each behind its length), at most the receive
/// window's bytes of them. The buffer keeps its capacity, and the messages
/// consumed at its front are reclaimed by moving the rest down once they
/// are as many bytes as the rest, so a stream in steady state queues
/// without allocating and the buffer stays within twice what it holds.
class message_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return m_count == 0; }
  [[nodiscard]] std::uint32_t size() const noexcept { return m_count; }

  /// Bytes of the messages queued now.
  [[nodiscard]] std::size_t bytes() const noexcept { return m_bytes; }

  /// Copies `message` to the back. Views of messages already popped end.
  void push(const_buffer message) {
    if (m_head != 0 && m_head >= m_data.size() - m_head) {
      const std::size_t live = m_data.size() - m_head;
      if (live != 0) std::memmove(m_data.data(), m_data.data() + m_head, live);
      m_data.resize(live);
      m_head = 0;
    }
    const std::size_t at = m_data.size();
    const auto length = static_cast<std::uint32_t>(message.size());  // a frame's payload: below 2^32
    m_data.resize(at + sizeof length + message.size());
    std::memcpy(m_data.data() + at, &length, sizeof length);
    if (!message.empty()) std::memcpy(m_data.data() + at + sizeof length, message.data(), message.size());
    ++m_count;
    m_bytes += message.size();
  }

  /// The oldest message, valid until the next push; precondition: not empty.
  [[nodiscard]] const_buffer front() const noexcept {
    std::uint32_t length = 0;
    std::memcpy(&length, m_data.data() + m_head, sizeof length);
    return const_buffer(m_data.data() + m_head + sizeof length, length);
  }

  /// Removes the oldest message and returns its size in bytes;
  /// precondition: not empty.
  std::size_t pop() noexcept {
    const std::size_t length = front().size();
    m_head += sizeof(std::uint32_t) + length;
    m_bytes -= length;
    if (--m_count == 0) clear();
    return length;
  }

  void clear() noexcept {
    m_data.clear();
    m_head = 0;
    m_count = 0;
    m_bytes = 0;
  }

 private:
  byte_vector m_data;        // [u32 length][bytes] per message, the oldest at m_head
  std::size_t m_head = 0;    // where the oldest message begins
  std::uint32_t m_count = 0;
  std::size_t m_bytes = 0;   // message bytes, lengths not counted
};

/// One stream at one side of a connection: its phase, both directions'
/// credit, the messages that wait for their consumer, and the coroutines
/// that wait on it. The caller's lives with its call (`call_operation::stream`,
/// found by the call table); the callee's in its handler's frame, found by
/// the session's `stream_table`. Loop thread only.
struct stream_channel {
  session_core* session = nullptr;
  call_operation* call = nullptr;  // the caller's call; null at the callee
  std::uint32_t id = 0;          // in the caller's id space
  bool callee = false;
  bool receives = false;  // the method streams messages towards this side
  bool sends = false;     // the method streams messages away from this side
  stream_phase phase = stream_phase::opening;
  bool inbound_ended = false;  // no more messages will arrive
  bool discarding = false;     // messages arriving now are dropped (and granted)
  send_credit outbound;
  receive_credit inbound;
  message_queue queue;

  // The consumer waiting in next(): resumed with its message decoded in place.
  std::coroutine_handle<> reader;
  message_decoder decode = nullptr;
  void* target = nullptr;
  enum class delivery : std::uint8_t { none, message, undecodable, end } delivered = delivery::none;

  std::coroutine_handle<> writer;    // a sender waiting for credit or for room in the output
  stream_channel* next_waiting_room = nullptr;  // in the session's list of senders waiting for room
  bool waiting_room = false;                    // in that list
  std::coroutine_handle<> finisher;  // the caller waiting for the final status
  std::coroutine_handle<> opener;    // the caller waiting for its request to go out

  // The end, once closed: the status.
  status_code code = status_code::ok;
  std::string message;

  // Caller: what the final response's value decodes into (a client
  // stream's), set by the typed layer; null when the response carries none.
  message_decoder decode_final = nullptr;
  void* final_target = nullptr;
  bool cancel_sent = false;  // the peer was told (cancel), or needs no telling

  // Caller, until the peer's hello: in the session's list, with what opens it then.
  stream_channel* next_waiting_hello = nullptr;
  bool has_deadline = false;
  time_point deadline{};

  [[nodiscard]] bool closed() const noexcept { return phase == stream_phase::closed; }
};

}  // namespace duet::inline v0::detail
