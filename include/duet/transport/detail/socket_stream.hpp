#pragma once

// The machinery tcp.hpp and unix.hpp share: a socket registered with a loop,
// and the awaiters for read, gather write, accept and connect. Each awaiter
// tries the system call first and only waits for readiness after EAGAIN; its
// state lives in the awaiter (the coroutine frame), so no operation
// allocates.

#include <duet/config.hpp>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>  // SIZE_MAX
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <duet/bytes.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/detail/io_registration.hpp>
#include <duet/loop/detail/timer_heap.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/detail/socket.hpp>
#include <duet/transport/endpoint.hpp>
#include <duet/transport/transport.hpp>

namespace duet::inline v0::detail {

/// A non-blocking socket registered with a loop for its whole life. The
/// registration sits behind a unique_ptr so its address (which the reactor
/// keeps) survives moves of the owner: one allocation per socket, none per
/// operation.
class registered_socket {
public:
  registered_socket() noexcept = default;

  /// Registers `fd` with `loop`; throws std::system_error (closing `fd`).
  registered_socket(event_loop& loop, socket_fd fd);

  registered_socket(registered_socket&& other) noexcept
      : m_loop(other.m_loop), m_registration(std::move(other.m_registration)) {}

  registered_socket& operator=(registered_socket&& other) noexcept;

  registered_socket(const registered_socket&) = delete;
  registered_socket& operator=(const registered_socket&) = delete;
  ~registered_socket() { close(); }

  /// Cancels pending operations (they complete with operation_canceled on
  /// a later turn), deregisters, then closes the fd. Idempotent.
  void close() noexcept;

  [[nodiscard]] bool is_open() const noexcept { return m_registration != nullptr; }
  [[nodiscard]] int fd() const noexcept { return m_registration ? m_registration->m_fd : -1; }
  [[nodiscard]] event_loop* loop() const noexcept { return m_loop; }
  [[nodiscard]] io_registration* registration() const noexcept { return m_registration.get(); }

private:
  event_loop* m_loop = nullptr;
  std::unique_ptr<io_registration> m_registration;
};

// Base of the awaiters: remembers the loop and registration, and unhooks a
// pending operation if the awaiting coroutine is destroyed while suspended.
class socket_operation : protected io_operation {
public:
  socket_operation(const registered_socket& socket, io_operation::perform_type perform) noexcept
      : m_loop(socket.loop()), m_registration(socket.registration()) {
    m_perform = perform;
  }

  socket_operation(const socket_operation&) = delete;
  socket_operation& operator=(const socket_operation&) = delete;

  ~socket_operation() {
    if (!m_linked) return;
    for (auto which : {io_registration::direction::read, io_registration::direction::write}) {
      if (m_registration->pending(which) == this) m_loop->forget_io(*m_registration, which);
    }
  }

protected:
  void wait(io_registration::direction which, std::coroutine_handle<> awaiter) noexcept {
    m_waiter = awaiter;
    m_loop->wait_io(*m_registration, which, *this);
  }

  [[nodiscard]] static std::error_code canceled() noexcept {
    return std::make_error_code(std::errc::operation_canceled);
  }

  event_loop* m_loop;
  io_registration* m_registration;  // null: the socket was closed before the call
};

/// The awaitable of a socket stream's `read_some`.
class [[nodiscard]] socket_read_awaiter : private socket_operation {
public:
  socket_read_awaiter(const registered_socket& socket, mutable_buffer buffer) noexcept
      : socket_operation(socket, &perform), m_buffer(buffer) {}

  [[nodiscard]] bool await_ready() noexcept {
    if (m_registration == nullptr) {
      m_result = io_result{0, canceled()};
      return true;
    }
    // Drained by the last read and not reported readable since: wait.
    if (!m_registration->m_maybe_readable) return false;
    return attempt();
  }

  void await_suspend(std::coroutine_handle<> awaiter) noexcept { wait(io_registration::direction::read, awaiter); }

  [[nodiscard]] io_result await_resume() const noexcept {
    return m_canceled ? io_result{0, canceled()} : m_result;
  }

private:
  // True when the read completed (data, end of stream or an error).
  bool attempt() noexcept;

  static bool perform(io_operation& operation) noexcept { return static_cast<socket_read_awaiter&>(operation).attempt(); }

  mutable_buffer m_buffer;
  io_result m_result;
};

/// The awaitable of a socket stream's `write`: sends the whole gather list,
/// resuming after partial sends, in system calls of at most `max_gather`
/// buffers and `max_send` bytes.
class [[nodiscard]] socket_write_awaiter : private socket_operation {
public:
  socket_write_awaiter(const registered_socket& socket, std::span<const const_buffer> buffers,
                       std::size_t max_send = SIZE_MAX) noexcept
      : socket_operation(socket, &perform), m_buffers(buffers), m_max_send(max_send) {}

  [[nodiscard]] bool await_ready() noexcept {
    if (m_registration == nullptr) {
      m_result = io_result{0, canceled()};
      return true;
    }
    return attempt();
  }

  void await_suspend(std::coroutine_handle<> awaiter) noexcept { wait(io_registration::direction::write, awaiter); }

  [[nodiscard]] io_result await_resume() const noexcept {
    return m_canceled ? io_result{0, canceled()} : m_result;
  }

private:
  bool attempt() noexcept;

  static bool perform(io_operation& operation) noexcept {
    return static_cast<socket_write_awaiter&>(operation).attempt();
  }

  std::span<const const_buffer> m_buffers;
  std::size_t m_max_send;
  std::size_t m_index = 0;
  std::size_t m_offset = 0;
  std::size_t m_total = 0;
  io_result m_result;
};

/// The awaitable of a listener's `accept`: yields `accept_result<Stream>`,
/// where `Stream` is constructible from `registered_socket&&`.
template <class Stream>
class [[nodiscard]] socket_accept_awaiter : private socket_operation {
public:
  explicit socket_accept_awaiter(const registered_socket& listener) noexcept : socket_operation(listener, &perform) {}

  [[nodiscard]] bool await_ready() noexcept {
    if (m_registration == nullptr) {
      m_error = canceled();
      return true;
    }
    return attempt();
  }

  void await_suspend(std::coroutine_handle<> awaiter) noexcept { wait(io_registration::direction::read, awaiter); }

  [[nodiscard]] accept_result<Stream> await_resume() {
    if (m_canceled) return accept_result<Stream>(canceled());
    if (m_error) return accept_result<Stream>(m_error);
    try {
      return accept_result<Stream>(Stream(registered_socket(*m_loop, std::move(m_accepted))));
    } catch (const std::system_error& error) {
      return accept_result<Stream>(error.code());
    }
  }

private:
  bool attempt() noexcept {
    for (;;) {
      std::error_code error;
      m_accepted = accept_socket(m_registration->m_fd, error);
      if (m_accepted.valid()) return true;
      const int value = error.value();
      if (would_block(value)) return false;
      // The connection died before we took it: try the next one.
      if (value == ECONNABORTED || value == EINTR || value == EPROTO) continue;
      m_error = error;
      return true;
    }
  }

  static bool perform(io_operation& operation) noexcept {
    return static_cast<socket_accept_awaiter&>(operation).attempt();
  }

  socket_fd m_accepted;
  std::error_code m_error;
};

/// The first step of `socket_connect_awaiter`, which does not depend on the
/// stream type: opens a socket for `where`, registers it with `loop` into
/// `socket` and starts a non-blocking connect. True when that is over
/// (connected, or `error` set); false while the connect is in progress.
[[nodiscard]] DUET_INLINE bool start_connect(event_loop& loop, const endpoint& where, registered_socket& socket,
                                             std::error_code& error) noexcept;

/// The awaitable of `connect`: a non-blocking connect, completed when the
/// socket turns writable, bounded by an optional timeout (error
/// `timed_out`). Yields `connect_result<Stream>`.
template <class Stream>
class [[nodiscard]] socket_connect_awaiter : private io_operation, private timer_node {
public:
  socket_connect_awaiter(event_loop& loop, endpoint where, std::optional<duration> timeout) noexcept
      : timer_node(&on_timeout), m_loop(&loop), m_where(std::move(where)), m_timeout(timeout) {
    m_perform = &perform;
  }

  socket_connect_awaiter(const socket_connect_awaiter&) = delete;
  socket_connect_awaiter& operator=(const socket_connect_awaiter&) = delete;

  ~socket_connect_awaiter() {
    m_loop->cancel_timer(*this);
    if (m_linked) m_loop->forget_io(*m_socket.registration(), io_registration::direction::write);
  }

  [[nodiscard]] bool await_ready() noexcept { return start_connect(*m_loop, m_where, m_socket, m_error); }

  void await_suspend(std::coroutine_handle<> awaiter) {
    m_waiter = awaiter;
    m_loop->wait_io(*m_socket.registration(), io_registration::direction::write, *this);
    if (m_timeout) m_loop->start_timer(*this, deadline_after(*m_timeout));
  }

  [[nodiscard]] connect_result<Stream> await_resume() {
    if (m_error) return connect_result<Stream>(m_error);
    if (m_canceled) return connect_result<Stream>(std::make_error_code(std::errc::operation_canceled));
    return connect_result<Stream>(Stream(std::move(m_socket)));
  }

private:
  static bool perform(io_operation& operation) noexcept {
    auto& self = static_cast<socket_connect_awaiter&>(operation);
    self.m_error = pending_error(self.m_socket.fd());
    if (self.m_error == std::errc::operation_in_progress) {  // not expected after writability
      self.m_error.clear();
      return false;
    }
    self.m_loop->cancel_timer(self);
    return true;
  }

  static void on_timeout(timer_node& node) noexcept {
    auto& self = static_cast<socket_connect_awaiter&>(node);
    self.m_loop->forget_io(*self.m_socket.registration(), io_registration::direction::write);
    self.m_error = std::make_error_code(std::errc::timed_out);
    self.m_waiter.resume();
  }

  event_loop* m_loop;
  endpoint m_where;
  std::optional<duration> m_timeout;
  registered_socket m_socket;
  std::error_code m_error;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE registered_socket::registered_socket(event_loop& loop, socket_fd fd)
    : m_loop(&loop), m_registration(std::make_unique<io_registration>()) {
  m_registration->m_fd = fd.get();
  loop.add_io(*m_registration);  // throws: `fd` still owns the descriptor
  (void)fd.release();
}

DUET_INLINE registered_socket& registered_socket::operator=(registered_socket&& other) noexcept {
  if (this != &other) {
    close();
    m_loop = other.m_loop;
    m_registration = std::move(other.m_registration);
  }
  return *this;
}

DUET_INLINE void registered_socket::close() noexcept {
  if (!m_registration) return;
  m_loop->remove_io(*m_registration);
  ::close(m_registration->m_fd);
  m_registration.reset();
}

DUET_INLINE bool socket_read_awaiter::attempt() noexcept {
  const syscall_result r = receive_some(m_registration->m_fd, m_buffer);
  if (r.error != 0 && would_block(r.error)) {
    m_registration->m_maybe_readable = false;
    return false;
  }
  // A short read emptied the socket's buffer (a stream socket returns
  // what it holds, up to the request); unless the peer hung up, whose end
  // of stream the next read must see without waiting.
  if (r.error == 0 && r.bytes != 0 && r.bytes < m_buffer.size() && !m_registration->m_read_closed) {
    m_registration->m_maybe_readable = false;
  }
  m_result = io_result{r.bytes, r.error != 0 ? errno_code(r.error) : std::error_code{}};
  return true;
}

DUET_INLINE bool socket_write_awaiter::attempt() noexcept {
  for (;;) {
    // Skip what is sent (and empty buffers).
    while (m_index < m_buffers.size() && m_offset == m_buffers[m_index].size()) {
      ++m_index;
      m_offset = 0;
    }
    if (m_index == m_buffers.size()) {
      m_result = io_result{m_total, {}};
      return true;
    }
    const syscall_result r = send_gather(m_registration->m_fd, m_buffers.subspan(m_index), m_offset, m_max_send);
    if (r.error != 0) {
      if (would_block(r.error)) return false;
      m_result = io_result{0, errno_code(r.error)};
      return true;
    }
    m_total += r.bytes;
    // Walk the sent bytes over the buffers.
    std::size_t sent = r.bytes;
    while (sent > 0) {
      const std::size_t left = m_buffers[m_index].size() - m_offset;
      if (sent < left) {
        m_offset += sent;
        sent = 0;
      } else {
        sent -= left;
        ++m_index;
        m_offset = 0;
      }
    }
  }
}

DUET_INLINE bool start_connect(event_loop& loop, const endpoint& where, registered_socket& socket,
                               std::error_code& error) noexcept {
  socket_address address;
  if ((error = to_socket_address(where, address))) return true;
  socket_fd fd = open_stream_socket(address.domain(), error);
  if (error) return true;
  try {
    socket = registered_socket(loop, std::move(fd));
  } catch (const std::system_error& e) {
    error = e.code();
    return true;
  }
  if (::connect(socket.fd(), address.get(), address.m_length) == 0) return true;
  if (errno == EINPROGRESS || errno == EINTR) return false;
  // Includes EAGAIN from a Unix socket whose listener's backlog is full:
  // reported as is (resource_unavailable_try_again), the caller may retry.
  error = errno_code();
  return true;
}

}  // namespace duet::inline v0::detail
#endif
