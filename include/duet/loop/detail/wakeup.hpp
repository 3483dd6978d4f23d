#pragma once

#include <duet/config.hpp>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <fcntl.h>   // fcntl, O_NONBLOCK (self-pipe)
#include <unistd.h>  // read, write, close, pipe
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

namespace duet::inline v0::detail {

/// Wakes a loop sleeping in its reactor from another thread: `notify()`
/// makes `fd()` readable until `drain()`. An eventfd on Linux, a non-blocking
/// self-pipe elsewhere. notify() is thread-safe and async-signal-safe.
class wakeup {
public:
  wakeup();

  wakeup(const wakeup&) = delete;
  wakeup& operator=(const wakeup&) = delete;

  ~wakeup();

  /// The fd to watch for readability.
  [[nodiscard]] int fd() const noexcept { return m_read_fd; }

  void notify() noexcept;

  /// Consumes every pending notification (loop thread).
  void drain() noexcept;

private:
  int m_read_fd = -1;
  int m_write_fd = -1;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE wakeup::wakeup() {
#if defined(__linux__)
  m_read_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m_read_fd < 0) throw std::system_error(errno, std::system_category(), "duet: eventfd");
  m_write_fd = m_read_fd;
#else
  int fds[2];
  if (::pipe(fds) != 0) throw std::system_error(errno, std::system_category(), "duet: pipe");
  for (int fd : fds) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  m_read_fd = fds[0];
  m_write_fd = fds[1];
#endif
}

DUET_INLINE wakeup::~wakeup() {
  if (m_write_fd != m_read_fd) ::close(m_write_fd);
  ::close(m_read_fd);
}

DUET_INLINE void wakeup::notify() noexcept {
  // A full pipe or a saturated eventfd (EAGAIN) is already readable, which
  // is all a notification needs, so the result is ignored.
#if defined(__linux__)
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(m_write_fd, &one, sizeof one);
#else
  const char one = 1;
  [[maybe_unused]] const auto written = ::write(m_write_fd, &one, 1);
#endif
}

DUET_INLINE void wakeup::drain() noexcept {
  std::uint64_t buffer[8];
  while (::read(m_read_fd, buffer, sizeof buffer) > 0) {
#if defined(__linux__)
    break;  // one read resets an eventfd's counter
#endif
  }
}

}  // namespace duet::inline v0::detail
#endif
