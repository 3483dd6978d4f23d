#pragma once

#include <duet/config.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <duet/loop/deadline.hpp>

namespace duet::inline v0::detail {

class timer_heap;

/// An intrusive timer: the caller owns the node (typically inside a
/// coroutine frame or a call slot) and the loop only keeps a pointer to it
/// while it is armed, so arming a timer never allocates.
///
/// The callback runs on the loop thread, after the node has been disarmed;
/// it may re-arm the node or start and cancel other timers. To reach the
/// object that embeds the node, derive from `timer_node` and `static_cast`
/// in the callback. A node must not be destroyed or moved while armed
/// (cancel it first).
class timer_node {
public:
  using callback_type = void (*)(timer_node&) noexcept;

  constexpr timer_node() noexcept = default;
  constexpr explicit timer_node(callback_type callback) noexcept : m_callback(callback) {}
  timer_node(const timer_node&) = delete;
  timer_node& operator=(const timer_node&) = delete;

  /// The function called when the timer fires.
  void set_callback(callback_type callback) noexcept { m_callback = callback; }

  /// True between `start_timer` and the moment it fires or is cancelled.
  [[nodiscard]] bool armed() const noexcept { return m_index != npos; }

  /// The time it fires at (meaningful while armed).
  [[nodiscard]] time_point deadline() const noexcept { return m_deadline; }

private:
  friend class timer_heap;
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  time_point m_deadline{};
  callback_type m_callback = nullptr;
  std::size_t m_index = npos;  // position in the heap, npos when not armed
  std::uint64_t m_sequence = 0;  // start order: breaks deadline ties FIFO
};

/// A 4-ary min-heap of timer node pointers ordered by (deadline, start
/// order), with each node's index stored in the node: O(1) next deadline,
/// O(log n) start and cancel, no allocation once the vector has grown.
/// Single-threaded (the loop thread).
class timer_heap {
public:
  [[nodiscard]] bool empty() const noexcept { return m_nodes.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_nodes.size(); }

  /// The earliest deadline. Precondition: !empty().
  [[nodiscard]] time_point next_deadline() const noexcept { return m_nodes.front()->m_deadline; }

  /// Arms `node` at `when`; re-arms it if it was armed already.
  void start(timer_node& node, time_point when);

  /// Disarms `node`; no-op if it is not armed.
  void cancel(timer_node& node) noexcept {
    if (node.armed()) remove(node);
  }

  /// Fires, in deadline order, every timer due at `now` that was started
  /// before this call (a callback that re-arms a timer at or before `now`
  /// cannot make this loop forever: it fires on the next call). Returns the
  /// number fired.
  std::size_t fire_expired(time_point now);

private:
  static constexpr std::size_t arity = 4;

  static bool before(const timer_node& a, const timer_node& b) noexcept {
    if (a.m_deadline != b.m_deadline) return a.m_deadline < b.m_deadline;
    return a.m_sequence < b.m_sequence;
  }

  void place(std::size_t index, timer_node* node) noexcept {
    m_nodes[index] = node;
    node->m_index = index;
  }

  void sift_up(std::size_t index) noexcept;

  void sift_down(std::size_t index) noexcept;

  void remove(timer_node& node) noexcept;

  std::vector<timer_node*> m_nodes;
  std::uint64_t m_next_sequence = 0;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void timer_heap::start(timer_node& node, time_point when) {
  if (node.armed()) remove(node);
  node.m_deadline = when;
  node.m_sequence = m_next_sequence++;
  node.m_index = m_nodes.size();
  m_nodes.push_back(&node);
  sift_up(node.m_index);
}

DUET_INLINE std::size_t timer_heap::fire_expired(time_point now) {
  const std::uint64_t horizon = m_next_sequence;
  std::size_t fired = 0;
  while (!m_nodes.empty()) {
    timer_node& top = *m_nodes.front();
    if (top.m_deadline > now || top.m_sequence >= horizon) break;
    remove(top);
    ++fired;
    top.m_callback(top);
  }
  return fired;
}

DUET_INLINE void timer_heap::sift_up(std::size_t index) noexcept {
  timer_node* node = m_nodes[index];
  while (index > 0) {
    const std::size_t parent = (index - 1) / arity;
    if (!before(*node, *m_nodes[parent])) break;
    place(index, m_nodes[parent]);
    index = parent;
  }
  place(index, node);
}

DUET_INLINE void timer_heap::sift_down(std::size_t index) noexcept {
  timer_node* node = m_nodes[index];
  const std::size_t count = m_nodes.size();
  for (;;) {
    const std::size_t first = index * arity + 1;
    if (first >= count) break;
    std::size_t best = first;
    const std::size_t last = first + arity < count ? first + arity : count;
    for (std::size_t child = first + 1; child < last; ++child) {
      if (before(*m_nodes[child], *m_nodes[best])) best = child;
    }
    if (!before(*m_nodes[best], *node)) break;
    place(index, m_nodes[best]);
    index = best;
  }
  place(index, node);
}

DUET_INLINE void timer_heap::remove(timer_node& node) noexcept {
  const std::size_t index = node.m_index;
  node.m_index = timer_node::npos;
  timer_node* last = m_nodes.back();
  m_nodes.pop_back();
  if (last == &node) return;
  place(index, last);
  // The moved node may belong above or below the hole.
  if (index > 0 && before(*last, *m_nodes[(index - 1) / arity])) {
    sift_up(index);
  } else {
    sift_down(index);
  }
}

}  // namespace duet::inline v0::detail
#endif
