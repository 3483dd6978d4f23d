#pragma once

#include <duet/config.hpp>

#include <cstdint>

namespace duet::inline v0::detail {

/// A request being served by a coroutine handler, registered with its
/// session so that a cancel frame (or the end of the connection) can reach
/// it. Lives in the handler's coroutine frame; the session links it into an
/// intrusive list, so registering allocates nothing.
struct running_request {
  std::uint32_t id = 0;
  void (*on_cancel)(running_request&) noexcept = nullptr;
  running_request* previous = nullptr;
  running_request* next = nullptr;
};

/// The requests a session serves with coroutine handlers right now, newest
/// first: where a cancel frame, or the end of the connection, finds them.
class running_requests {
 public:
  void track(running_request& r) noexcept {
    r.previous = nullptr;
    r.next = m_head;
    if (m_head != nullptr) m_head->previous = &r;
    m_head = &r;
  }

  void untrack(running_request& r) noexcept {
    (r.previous == nullptr ? m_head : r.previous->next) = r.next;
    if (r.next != nullptr) r.next->previous = r.previous;
    r.previous = r.next = nullptr;
  }

  /// A cancel frame for `id`: advisory (docs/protocol.md), so an id that is
  /// not running (finished, or served by a plain handler) is ignored.
  void cancel(std::uint32_t id) noexcept;

  /// The connection ended: every handler still running serves a connection
  /// that is gone, so each is told to stop.
  void cancel_all() noexcept;

 private:
  running_request* m_head = nullptr;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void running_requests::cancel(std::uint32_t id) noexcept {
  for (running_request* r = m_head; r != nullptr; r = r->next) {
    if (r->id == id) {
      r->on_cancel(*r);
      return;
    }
  }
}

DUET_INLINE void running_requests::cancel_all() noexcept {
  for (running_request* r = m_head; r != nullptr;) {
    running_request* next = r->next;  // read first: a handler may end, and unlink itself, meanwhile
    r->on_cancel(*r);
    r = next;
  }
}

}  // namespace duet::inline v0::detail
#endif
