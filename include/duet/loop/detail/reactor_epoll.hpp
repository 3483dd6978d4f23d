#pragma once

#include <duet/config.hpp>

#if defined(__linux__)

#include <array>
#include <cerrno>
#include <coroutine>
#include <system_error>
#include <vector>

#include <sys/epoll.h>
#include <unistd.h>  // close

#include <duet/loop/detail/io_registration.hpp>

namespace duet::inline v0::detail {

/// The epoll backend. Each fd is registered once, edge-triggered for both
/// directions: streams always try the system call first and only wait after
/// EAGAIN, so an edge can never be missed, and no epoll_ctl is needed per
/// operation. The wake-up fd is level-triggered.
class reactor_epoll {
public:
  explicit reactor_epoll(int wakeup_fd);

  reactor_epoll(const reactor_epoll&) = delete;
  reactor_epoll& operator=(const reactor_epoll&) = delete;
  ~reactor_epoll();

  /// Starts watching `registration.m_fd`; throws std::system_error.
  void add(io_registration& registration);

  /// Stops watching; must be called before the fd is closed.
  void remove(io_registration& registration) noexcept;

  /// Sleeps up to `timeout_ms` (-1: no limit), performs the operations whose
  /// fd became ready and appends the completed ones' waiters to `ready`.
  /// Returns true when the wake-up fd was signalled.
  bool wait(int timeout_ms, std::vector<std::coroutine_handle<>>& ready);

private:
  int m_epoll = -1;
  std::array<epoll_event, 128> m_events{};
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE reactor_epoll::reactor_epoll(int wakeup_fd) {
  m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (m_epoll < 0) throw std::system_error(errno, std::system_category(), "duet: epoll_create1");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // nullptr marks the wake-up fd
  if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, wakeup_fd, &event) != 0) {
    const int error = errno;
    ::close(m_epoll);
    throw std::system_error(error, std::system_category(), "duet: epoll_ctl(wakeup)");
  }
}

DUET_INLINE reactor_epoll::~reactor_epoll() { ::close(m_epoll); }

DUET_INLINE void reactor_epoll::add(io_registration& registration) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &registration;
  if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, registration.m_fd, &event) != 0) {
    throw std::system_error(errno, std::system_category(), "duet: epoll_ctl(add)");
  }
  registration.m_registered = true;
}

DUET_INLINE void reactor_epoll::remove(io_registration& registration) noexcept {
  if (!registration.m_registered) return;
  ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, registration.m_fd, nullptr);
  registration.m_registered = false;
}

DUET_INLINE bool reactor_epoll::wait(int timeout_ms, std::vector<std::coroutine_handle<>>& ready) {
  const int count = ::epoll_wait(m_epoll, m_events.data(), static_cast<int>(m_events.size()), timeout_ms);
  bool woken = false;
  for (int i = 0; i < count; ++i) {
    const epoll_event& event = m_events[static_cast<std::size_t>(i)];
    if (event.data.ptr == nullptr) {
      woken = true;
      continue;
    }
    auto& registration = *static_cast<io_registration*>(event.data.ptr);
    if (event.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) registration.m_read_closed = true;
    if (event.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      perform_ready(registration, io_registration::direction::read, ready);
    }
    if (event.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
      perform_ready(registration, io_registration::direction::write, ready);
    }
  }
  // count < 0 is EINTR (a signal): the loop simply takes another turn.
  return woken;
}

}  // namespace duet::inline v0::detail
#endif

#endif  // __linux__
