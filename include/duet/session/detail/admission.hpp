#pragma once

#include <duet/config.hpp>

#include <duet/session/call_table.hpp>
#include <duet/session/detail/call_operation.hpp>

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

/// Which outgoing calls are on the wire and which wait for room: the call
/// table (a call in it has an id and awaits its response) and, behind it,
/// the callers waiting for room, first come, first served. Room means a
/// free slot in the table, fewer calls than the peer's hello allows, and a
/// write queue under `session_options::max_queued_bytes`.
class admission {
 public:
  explicit admission(std::uint32_t capacity) : m_calls(capacity) {}

  /// The peer's hello announced how many calls it serves at once.
  void set_peer_max_in_flight(std::uint32_t n) noexcept { m_peer_max_in_flight = n; }

  /// Whether a call may go out now, with `queued_bytes` waiting for the
  /// writer out of `max_queued_bytes`.
  [[nodiscard]] bool has_room(std::size_t queued_bytes, std::size_t max_queued_bytes) const noexcept {
    return !m_calls.full() && m_calls.size() < m_peer_max_in_flight && queued_bytes < max_queued_bytes;
  }

  /// Calls awaiting their response.
  [[nodiscard]] std::size_t in_flight() const noexcept { return m_calls.size(); }

  /// Gives `call` its slot and id; has_room() was checked, so the table
  /// cannot be full.
  void admit(call_operation& call) noexcept { call.id = m_calls.insert(call); }

  /// Takes the call with id `id` out of the table: its response came, or it
  /// ended otherwise. Null when no call has that id (any more).
  call_operation* take(std::uint32_t id) noexcept { return m_calls.take(id); }

  /// The admitted call with `id`, left in the table; null when none.
  [[nodiscard]] call_operation* find(std::uint32_t id) const noexcept { return m_calls.find(id); }

  /// Takes every admitted call out of the table, calling `fn(call)` for each.
  template <class Fn>
  void take_all(Fn&& fn) {
    m_calls.drain(fn);
  }

  /// Whether callers wait for room.
  [[nodiscard]] bool has_waiting() const noexcept { return m_queue_head != nullptr; }

  /// Queues `call` behind the others waiting for room.
  void enqueue(call_operation& call) noexcept {
    call.next_queued = nullptr;
    if (m_queue_tail == nullptr) {
      m_queue_head = &call;
    } else {
      m_queue_tail->next_queued = &call;
    }
    m_queue_tail = &call;
  }

  /// The oldest caller waiting for room, out of the queue; null if none.
  call_operation* dequeue() noexcept {
    call_operation* call = m_queue_head;
    if (call != nullptr) {
      m_queue_head = call->next_queued;
      if (m_queue_head == nullptr) m_queue_tail = nullptr;
      call->next_queued = nullptr;
    }
    return call;
  }

  /// Takes `call` out of the queue wherever it is (its deadline passed, or
  /// it was cancelled, while it waited).
  void unqueue(call_operation& call) noexcept;

 private:
  call_table<call_operation> m_calls;
  call_operation* m_queue_head = nullptr;  // callers waiting for room, oldest first
  call_operation* m_queue_tail = nullptr;
  std::uint32_t m_peer_max_in_flight = ~std::uint32_t{0};
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void admission::unqueue(call_operation& call) noexcept {
  call_operation* previous = nullptr;
  for (call_operation* p = m_queue_head; p != nullptr; previous = p, p = p->next_queued) {
    if (p != &call) continue;
    (previous == nullptr ? m_queue_head : previous->next_queued) = p->next_queued;
    if (m_queue_tail == p) m_queue_tail = previous;
    p->next_queued = nullptr;
    return;
  }
}

}  // namespace duet::inline v0::detail
#endif
