#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/wire/frame.hpp>

#include <cstddef>
#include <cstdint>

namespace duet::inline v0::detail {

/// Asks the session for a copy of the answer to one request, as it is
/// queued (the rpc layer's idempotency cache keeps it). Owned by whoever
/// registers it (`session_core::capture_answer`); the session calls exactly
/// one of the two functions, on the loop thread, and forgets it.
struct answer_capture {
  std::uint32_t id = 0;
  /// The answer was queued: its status, metadata block and payload, views
  /// valid only during the call.
  void (*on_answer)(answer_capture&, std::uint16_t status, const_buffer metadata, const_buffer payload) noexcept =
      nullptr;
  /// No answer will come: the connection ended first.
  void (*on_abandon)(answer_capture&) noexcept = nullptr;
  answer_capture* next = nullptr;
};

/// The answers an idempotency cache waits for on one session. Empty (one
/// pointer test) for a server without such a cache: the answer path pays
/// nothing else for it.
class answer_captures {
 public:
  [[nodiscard]] bool empty() const noexcept { return m_head == nullptr; }

  /// At most one per id.
  void add(answer_capture& c) noexcept {
    c.next = m_head;
    m_head = &c;
  }

  /// Hands the answer to request `id`, a whole frame queued at `frame_at`
  /// in `out`, to its capture, if one is registered.
  void deliver(std::uint32_t id, const byte_vector& out, std::size_t frame_at) noexcept;

  /// The connection ended: no registered answer will come.
  void abandon_all() noexcept {
    while (answer_capture* c = m_head) {
      m_head = c->next;
      c->on_abandon(*c);
    }
  }

 private:
  answer_capture* m_head = nullptr;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void answer_captures::deliver(std::uint32_t id, const byte_vector& out, std::size_t frame_at) noexcept {
  answer_capture** link = &m_head;
  while (*link != nullptr && (*link)->id != id)
    link = &(*link)->next;
  answer_capture* c = *link;
  if (c == nullptr) return;
  *link = c->next;
  frame_header h{};
  (void)load_frame_header(out.data() + frame_at, h, ~std::uint32_t{0});  // just written
  const const_buffer body(out.data() + frame_at + frame_header_size, h.metadata_length + h.payload_length);
  c->on_answer(*c, h.status, body.first(h.metadata_length), body.subspan(h.metadata_length));
}

}  // namespace duet::inline v0::detail
#endif
