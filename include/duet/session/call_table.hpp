#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace duet::inline v0 {

/// The table of calls awaiting a response on one connection: it hands out
/// transaction ids and finds the waiting call when a response arrives.
///
/// An id packs a slot index (low bits) with the slot's generation (high
/// bits). Each time a slot is released its generation advances, so a late
/// response carrying an old id (after a timeout, say) no longer matches and
/// is dropped instead of completing a newer call. Released slots are reused
/// first-in first-out, after every slot has been used once, so an id comes
/// back only after about capacity * 2^(32 - index bits) calls.
///
/// Lookups, inserts and removals are O(1) and allocate nothing once the
/// table has grown to its peak size. `Call` is whatever the session stores
/// per call (a pointer is kept; the table never owns it). Not thread-safe:
/// one session, one loop thread.
template <class Call>
class call_table {
 public:
  /// A table for at most `capacity` simultaneous calls (1 to 2^20).
  explicit call_table(std::uint32_t capacity)
      : m_capacity(clamp(capacity)),
        m_index_bits(static_cast<std::uint32_t>(std::bit_width(m_capacity - 1))),
        m_index_mask((std::uint32_t{1} << m_index_bits) - 1) {}

  /// Stores `call` and returns its id (never 0), or 0 when the table is full.
  [[nodiscard]] std::uint32_t insert(Call& call) {
    // Fresh slots first: spreading use over every slot delays id reuse.
    if (m_slots.size() < m_capacity) return insert_fresh(call);
    if (m_free_head == no_slot) return 0;
    const std::uint32_t index = m_free_head;
    m_free_head = m_slots[index].next_free;
    if (m_free_head == no_slot) m_free_tail = no_slot;
    return occupy(index, call);
  }

  /// The call stored under `id`, or nullptr when the id is unknown or stale.
  [[nodiscard]] Call* find(std::uint32_t id) const noexcept {
    const std::uint32_t index = id & m_index_mask;
    if (index >= m_slots.size()) return nullptr;
    const slot& s = m_slots[index];
    if (s.call == nullptr || (s.generation << m_index_bits) != (id & ~m_index_mask)) return nullptr;
    return s.call;
  }

  /// Removes and returns the call stored under `id`; nullptr when the id is
  /// unknown or stale (and then nothing changes).
  Call* take(std::uint32_t id) noexcept {
    Call* call = find(id);
    if (call != nullptr) release(id & m_index_mask);
    return call;
  }

  /// Removes every call, handing each to `fn(Call&)`; `fn` may insert new
  /// calls, which are not visited.
  template <class Fn>
  void drain(Fn&& fn) {
    for (std::uint32_t index = 0; index < m_slots.size(); ++index) {
      if (Call* call = m_slots[index].call) {
        release(index);
        fn(*call);
      }
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  [[nodiscard]] bool empty() const noexcept { return m_size == 0; }
  [[nodiscard]] bool full() const noexcept { return m_size == m_capacity; }
  [[nodiscard]] std::uint32_t capacity() const noexcept { return m_capacity; }

 private:
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};

  struct slot {
    Call* call = nullptr;
    std::uint32_t generation = 1;
    std::uint32_t next_free = no_slot;
  };

  static std::uint32_t clamp(std::uint32_t capacity) noexcept {
    if (capacity < 1) return 1;
    if (capacity > (std::uint32_t{1} << 20)) return std::uint32_t{1} << 20;
    return capacity;
  }

  // insert() into a slot never used before (out of line: it may grow the
  // vector, and a table in steady state reuses released slots).
  [[gnu::noinline]] std::uint32_t insert_fresh(Call& call) {
    const auto index = static_cast<std::uint32_t>(m_slots.size());
    m_slots.push_back(slot{});
    return occupy(index, call);
  }

  std::uint32_t occupy(std::uint32_t index, Call& call) noexcept {
    slot& s = m_slots[index];
    s.call = &call;
    ++m_size;
    return (s.generation << m_index_bits) | index;
  }

  void release(std::uint32_t index) noexcept {
    slot& s = m_slots[index];
    s.call = nullptr;
    // Generations live in the bits above the index; 0 is skipped so no id is 0.
    const std::uint32_t max_generation = ~std::uint32_t{0} >> m_index_bits;
    s.generation = s.generation == max_generation ? 1 : s.generation + 1;
    // Append to the FIFO of released slots, threaded through the slots themselves.
    s.next_free = no_slot;
    if (m_free_tail == no_slot) {
      m_free_head = index;
    } else {
      m_slots[m_free_tail].next_free = index;
    }
    m_free_tail = index;
    --m_size;
  }

  std::uint32_t m_capacity;
  std::uint32_t m_index_bits;
  std::uint32_t m_index_mask;
  std::vector<slot> m_slots;
  std::uint32_t m_free_head = no_slot;  // oldest released slot
  std::uint32_t m_free_tail = no_slot;  // newest released slot
  std::size_t m_size = 0;
};

}  // namespace duet::inline v0
