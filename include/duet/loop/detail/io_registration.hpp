#pragma once

#include <coroutine>
#include <cstddef>
#include <limits>
#include <vector>

namespace duet::inline v0::detail {

/// One pending I/O operation on a registered fd (a read, a write, an accept,
/// a connect). It lives in the awaiter, so in the awaiting coroutine's frame:
/// no allocation per operation.
///
/// When the reactor sees the fd ready for the operation's direction it calls
/// `m_perform` on the loop thread, during the reactor's dispatch (no user
/// code runs there). `m_perform` retries the system call and returns true
/// when the operation is complete (its result stored in the awaiter) or
/// false on a spurious wake-up (EAGAIN again: it stays pending). On
/// completion the reactor unhooks it and queues `m_waiter` for resumption.
struct io_operation {
  using perform_type = bool (*)(io_operation&) noexcept;

  perform_type m_perform = nullptr;
  std::coroutine_handle<> m_waiter;
  // Set when close() cancelled the operation: the awaiter then reports
  // operation_canceled instead of a result.
  bool m_canceled = false;
  // True while a registration's slot points here. An awaiter destroyed
  // while linked (its coroutine destroyed mid-wait) must unlink itself; once
  // unlinked it must not touch the registration, which may be gone.
  bool m_linked = false;
};

/// An fd registered with a loop's reactor, with at most one pending reader
/// and one pending writer. Owned by the stream (at a stable address: the
/// reactor keeps a pointer to it) and registered once, for its whole life.
struct io_registration {
  enum class direction : unsigned char { read, write };

  int m_fd = -1;
  io_operation* m_read = nullptr;
  io_operation* m_write = nullptr;
  // Backend bookkeeping: the poll backend's index into its table.
  std::size_t m_slot = std::numeric_limits<std::size_t>::max();
  bool m_registered = false;
  // False once a read found the fd drained (EAGAIN, or fewer bytes than it
  // asked for), until the reactor next reports it readable. A reader then
  // waits for readiness at once instead of making a system call that would
  // only say EAGAIN: one system call fewer per read cycle on a busy socket.
  // Edges that come while no reader waits set it again, so none is lost.
  bool m_maybe_readable = true;
  // Set for good once the reactor reports hang-up or error: a read that
  // drains the last data must not then wait for an edge that already came.
  bool m_read_closed = false;

  [[nodiscard]] io_operation*& pending(direction which) noexcept {
    return which == direction::read ? m_read : m_write;
  }
};

/// Called by a reactor when `registration` is ready in direction `which`:
/// retries the pending operation, if any, and queues its waiter in `ready`
/// when it completed.
inline void perform_ready(io_registration& registration, io_registration::direction which,
                          std::vector<std::coroutine_handle<>>& ready) {
  if (which == io_registration::direction::read) registration.m_maybe_readable = true;
  io_operation*& slot = registration.pending(which);
  io_operation* operation = slot;
  if (operation == nullptr || !operation->m_perform(*operation)) return;
  slot = nullptr;
  operation->m_linked = false;
  ready.push_back(operation->m_waiter);
}

}  // namespace duet::inline v0::detail
