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
#include <vector>

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

/// Messages that arrived while no consumer waited: copies, at most the
/// receive window's count of them. Each slot keeps its capacity, so a
/// stream in steady state queues without allocating.
class message_queue {
 public:
  [[nodiscard]] bool empty() const noexcept { return m_count == 0; }
  [[nodiscard]] std::uint32_t size() const noexcept { return m_count; }

  /// Bytes of the messages queued now.
  [[nodiscard]] std::size_t bytes() const noexcept { return m_bytes; }

  /// Copies `message` to the back; `window` is the most it will ever hold.
  void push(const_buffer message, std::uint32_t window) {
    if (m_slots.size() < window) m_slots.resize(window);
    byte_vector& slot = m_slots[(m_head + m_count) % m_slots.size()];
    slot.resize(message.size());
    if (!message.empty()) std::memcpy(slot.data(), message.data(), message.size());
    ++m_count;
    m_bytes += message.size();
  }

  /// The oldest message; precondition: not empty.
  [[nodiscard]] const_buffer front() const noexcept { return m_slots[m_head]; }

  void pop() noexcept {
    m_bytes -= m_slots[m_head].size();
    m_head = (m_head + 1) % static_cast<std::uint32_t>(m_slots.size());
    --m_count;
  }

  void clear() noexcept {
    m_head = 0;
    m_count = 0;
    m_bytes = 0;
  }

 private:
  std::vector<byte_vector> m_slots;
  std::uint32_t m_head = 0;
  std::uint32_t m_count = 0;
  std::size_t m_bytes = 0;
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

  std::coroutine_handle<> writer;    // a sender waiting for credit
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
