#pragma once

#include <duet/config.hpp>

#include <coroutine>
#include <memory>
#include <system_error>
#include <utility>

#include <duet/loop/detail/io_registration.hpp>
#include <duet/loop/event_loop.hpp>

namespace duet::inline v0 {

/// Readiness of a file descriptor the caller owns, awaited on an
/// event_loop: the building block for a transport over pipes, terminals,
/// serial lines or any other non-blocking fd (see examples/pipe_transport.cpp).
///
/// The pattern: make the fd non-blocking, try the system call, and only when
/// it fails with EAGAIN `co_await w.readable()` (or `writable()`), then try
/// again. Waiting without a prior EAGAIN may wait for the next change of
/// state rather than the current one (the epoll backend is edge-triggered),
/// and a wake-up may be spurious, so always loop.
///
/// One reader and one writer may wait at once. `cancel()` (or destruction)
/// completes pending waits with `operation_canceled` on a later turn and
/// stops watching; do it before closing the fd. The watcher does not close
/// the fd. Loop thread only; the loop must outlive the watcher. Movable
/// while nothing waits.
class async_fd {
public:
  class wait_awaiter;

  /// Starts watching `fd` (already non-blocking). Throws std::system_error
  /// if the reactor refuses it.
  async_fd(event_loop& loop, int fd);

  async_fd(async_fd&& other) noexcept = default;
  async_fd& operator=(async_fd&& other) noexcept;
  async_fd(const async_fd&) = delete;
  async_fd& operator=(const async_fd&) = delete;
  ~async_fd() { cancel(); }

  /// `co_await w.readable()` yields an empty error_code once the fd may be
  /// readable (or at end of file / error: the next read tells), or
  /// `operation_canceled` after `cancel()`.
  [[nodiscard]] wait_awaiter readable() noexcept;

  /// As `readable`, for writing.
  [[nodiscard]] wait_awaiter writable() noexcept;

  /// Completes pending waits with `operation_canceled` and stops watching.
  /// Idempotent; later waits complete at once with `operation_canceled`.
  void cancel() noexcept;

  /// The watched fd, or -1 after cancel().
  [[nodiscard]] int fd() const noexcept { return m_registration ? m_registration->m_fd : -1; }

private:
  event_loop* m_loop;
  std::unique_ptr<detail::io_registration> m_registration;
};

/// The awaitable of `async_fd::readable` / `writable`.
class [[nodiscard]] async_fd::wait_awaiter : private detail::io_operation {
public:
  wait_awaiter(event_loop* loop, detail::io_registration* registration,
               detail::io_registration::direction which) noexcept
      : m_loop(loop), m_registration(registration), m_which(which) {
    // Readiness is all we wait for: the first report completes the wait.
    m_perform = [](detail::io_operation&) noexcept { return true; };
  }

  wait_awaiter(const wait_awaiter&) = delete;
  wait_awaiter& operator=(const wait_awaiter&) = delete;
  ~wait_awaiter() {
    if (m_linked) m_loop->forget_io(*m_registration, m_which);
  }

  [[nodiscard]] bool await_ready() const noexcept { return m_registration == nullptr; }

  void await_suspend(std::coroutine_handle<> awaiter) noexcept {
    m_waiter = awaiter;
    m_loop->wait_io(*m_registration, m_which, *this);
  }

  [[nodiscard]] std::error_code await_resume() const noexcept {
    if (m_registration == nullptr || m_canceled) return std::make_error_code(std::errc::operation_canceled);
    return {};
  }

private:
  event_loop* m_loop;
  detail::io_registration* m_registration;  // null: the watcher was cancelled
  detail::io_registration::direction m_which;
};

inline async_fd::wait_awaiter async_fd::readable() noexcept {
  return wait_awaiter(m_loop, m_registration.get(), detail::io_registration::direction::read);
}

inline async_fd::wait_awaiter async_fd::writable() noexcept {
  return wait_awaiter(m_loop, m_registration.get(), detail::io_registration::direction::write);
}

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE async_fd::async_fd(event_loop& loop, int fd)
    : m_loop(&loop), m_registration(std::make_unique<detail::io_registration>()) {
  m_registration->m_fd = fd;
  loop.add_io(*m_registration);
}

DUET_INLINE async_fd& async_fd::operator=(async_fd&& other) noexcept {
  if (this != &other) {
    cancel();
    m_loop = other.m_loop;
    m_registration = std::move(other.m_registration);
  }
  return *this;
}

DUET_INLINE void async_fd::cancel() noexcept {
  if (!m_registration) return;
  m_loop->remove_io(*m_registration);
  m_registration.reset();
}

}  // namespace duet::inline v0
#endif
