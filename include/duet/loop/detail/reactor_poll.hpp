#pragma once

#include <duet/config.hpp>

#include <coroutine>
#include <cstddef>
#include <limits>
#include <vector>

#include <poll.h>

#include <duet/loop/detail/io_registration.hpp>

namespace duet::inline v0::detail {

/// The poll(2) backend: portable to any POSIX system. Level-triggered; each
/// turn polls only the registrations that have a pending operation, for the
/// directions that are pending. O(registrations) per turn, which is fine for
/// the fallback it is.
class reactor_poll {
public:
  explicit reactor_poll(int wakeup_fd) : m_wakeup_fd(wakeup_fd) {}

  reactor_poll(const reactor_poll&) = delete;
  reactor_poll& operator=(const reactor_poll&) = delete;

  void add(io_registration& registration);

  void remove(io_registration& registration) noexcept;

  bool wait(int timeout_ms, std::vector<std::coroutine_handle<>>& ready);

private:
  int m_wakeup_fd;
  std::vector<io_registration*> m_registrations;
  std::vector<pollfd> m_pollfds;
  std::vector<io_registration*> m_polled;  // parallel to m_pollfds
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE void reactor_poll::add(io_registration& registration) {
  registration.m_slot = m_registrations.size();
  m_registrations.push_back(&registration);
  registration.m_registered = true;
}

DUET_INLINE void reactor_poll::remove(io_registration& registration) noexcept {
  if (!registration.m_registered) return;
  // Swap with the last entry: O(1) removal, order does not matter.
  io_registration* last = m_registrations.back();
  m_registrations[registration.m_slot] = last;
  last->m_slot = registration.m_slot;
  m_registrations.pop_back();
  registration.m_slot = std::numeric_limits<std::size_t>::max();
  registration.m_registered = false;
}

DUET_INLINE bool reactor_poll::wait(int timeout_ms, std::vector<std::coroutine_handle<>>& ready) {
  m_pollfds.clear();
  m_polled.clear();
  m_pollfds.push_back(pollfd{m_wakeup_fd, POLLIN, 0});
  m_polled.push_back(nullptr);
  for (io_registration* registration : m_registrations) {
    short events = 0;
    if (registration->m_read != nullptr) events |= POLLIN;
    if (registration->m_write != nullptr) events |= POLLOUT;
    if (events == 0) continue;
    m_pollfds.push_back(pollfd{registration->m_fd, events, 0});
    m_polled.push_back(registration);
  }
  const int count = ::poll(m_pollfds.data(), static_cast<nfds_t>(m_pollfds.size()), timeout_ms);
  if (count <= 0) return false;  // timeout, or EINTR: another turn
  bool woken = false;
  for (std::size_t i = 0; i < m_pollfds.size(); ++i) {
    const short revents = m_pollfds[i].revents;
    if (revents == 0) continue;
    io_registration* registration = m_polled[i];
    if (registration == nullptr) {
      woken = true;
      continue;
    }
    // Dispatch runs no user code, so no registration can disappear while
    // this table is walked.
    if (revents & (POLLHUP | POLLERR | POLLNVAL)) registration->m_read_closed = true;
    if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      perform_ready(*registration, io_registration::direction::read, ready);
    }
    if (revents & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) {
      perform_ready(*registration, io_registration::direction::write, ready);
    }
  }
  return woken;
}

}  // namespace duet::inline v0::detail
#endif
