#pragma once

#include <duet/config.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include <duet/bytes.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/detail/socket.hpp>
#include <duet/transport/detail/socket_stream.hpp>
#include <duet/transport/endpoint.hpp>
#include <duet/transport/transport.hpp>

namespace duet::inline v0 {

/// A connected Unix-domain stream socket, a `duet::transport`, with the
/// same surface and rules as `tcp_stream` (minus TCP options). Endpoints
/// are `endpoint::unix_socket(path)` or `"unix:/path"`.
class unix_stream {
public:
  /// Adopts a connected, registered socket (used by connect and accept).
  explicit unix_stream(detail::registered_socket socket) noexcept : m_socket(std::move(socket)) {}

  unix_stream(unix_stream&&) noexcept = default;
  unix_stream& operator=(unix_stream&&) noexcept = default;

  /// `co_await unix_stream::connect(loop, where, timeout)` yields
  /// `connect_result<unix_stream>`: errors include `no_such_file_or_directory`
  /// or `connection_refused` when nothing listens, `timed_out`,
  /// `resource_unavailable_try_again` when the listener's backlog is full,
  /// and `invalid_argument` for a non-Unix endpoint.
  [[nodiscard]] static detail::socket_connect_awaiter<unix_stream> connect(event_loop& loop, endpoint where,
                                                                            std::chrono::milliseconds timeout) {
    return detail::socket_connect_awaiter<unix_stream>(loop, unix_only(std::move(where)), duration(timeout));
  }

  /// As above, with no time limit.
  [[nodiscard]] static detail::socket_connect_awaiter<unix_stream> connect(event_loop& loop, endpoint where) {
    return detail::socket_connect_awaiter<unix_stream>(loop, unix_only(std::move(where)), std::nullopt);
  }

  /// See `duet::transport` and `tcp_stream::read_some`.
  [[nodiscard]] detail::socket_read_awaiter read_some(mutable_buffer buffer) noexcept {
    return detail::socket_read_awaiter(m_socket, buffer);
  }

  /// See `duet::transport` and `tcp_stream::write`.
  [[nodiscard]] detail::socket_write_awaiter write(std::span<const const_buffer> buffers) noexcept {
    return detail::socket_write_awaiter(m_socket, buffers);
  }

  /// Closes the socket; pending operations complete with
  /// `operation_canceled`. Idempotent.
  void close() noexcept { m_socket.close(); }

  [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }

  /// This side's path (usually empty: connecting sockets are unnamed).
  [[nodiscard]] endpoint local_endpoint() const { return is_open() ? detail::local_endpoint(m_socket.fd()) : endpoint{}; }

  /// The peer's path (the listener's path on a connecting side).
  [[nodiscard]] endpoint remote_endpoint() const {
    return is_open() ? detail::remote_endpoint(m_socket.fd()) : endpoint{};
  }

  [[nodiscard]] int native_handle() const noexcept { return m_socket.fd(); }

private:
  static endpoint unix_only(endpoint where) {
    return where.kind() == endpoint::family::unix_path ? std::move(where) : endpoint{};
  }

  detail::registered_socket m_socket;
};

/// A listening Unix-domain socket. `listen` removes a stale socket file left
/// at the path by an earlier process; `close` (and destruction) removes the
/// file it created.
class unix_listener {
public:
  unix_listener(unix_listener&& other) noexcept
      : m_socket(std::move(other.m_socket)), m_path(std::exchange(other.m_path, {})) {}

  unix_listener& operator=(unix_listener&& other) noexcept;

  unix_listener(const unix_listener&) = delete;
  unix_listener& operator=(const unix_listener&) = delete;
  ~unix_listener() { close(); }

  /// Binds and listens on the Unix endpoint `where`. Throws
  /// std::system_error (path too long, directory missing, a live non-socket
  /// file in the way, invalid_argument for a non-Unix endpoint).
  [[nodiscard]] static unix_listener listen(event_loop& loop, const endpoint& where, int backlog = 128);

  /// `co_await accept()` yields `accept_result<unix_stream>`; see
  /// `tcp_listener::accept`.
  [[nodiscard]] detail::socket_accept_awaiter<unix_stream> accept() noexcept {
    return detail::socket_accept_awaiter<unix_stream>(m_socket);
  }

  /// Stops listening and removes the socket file; a pending accept
  /// completes with `operation_canceled`. Idempotent.
  void close() noexcept;

  [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }

  [[nodiscard]] endpoint local_endpoint() const { return is_open() ? endpoint::unix_socket(m_path) : endpoint{}; }

private:
  unix_listener(detail::registered_socket socket, std::string path) noexcept
      : m_socket(std::move(socket)), m_path(std::move(path)) {}

  detail::registered_socket m_socket;
  std::string m_path;
};

static_assert(transport<unix_stream>);
static_assert(listener<unix_listener>);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE unix_listener& unix_listener::operator=(unix_listener&& other) noexcept {
  if (this != &other) {
    close();
    m_socket = std::move(other.m_socket);
    m_path = std::exchange(other.m_path, {});
  }
  return *this;
}

DUET_INLINE unix_listener unix_listener::listen(event_loop& loop, const endpoint& where, int backlog) {
  detail::socket_address address;
  const endpoint target = where.kind() == endpoint::family::unix_path ? where : endpoint{};
  if (const auto error = detail::to_socket_address(target, address)) {
    throw std::system_error(error, "duet::unix_listener::listen " + where.to_string());
  }
  std::error_code error;
  detail::socket_fd fd = detail::open_stream_socket(AF_UNIX, error);
  if (error) throw std::system_error(error, "duet::unix_listener: socket");
  detail::unlink_stale_socket(where.path());
  if (::bind(fd.get(), address.get(), address.m_length) != 0) {
    throw std::system_error(detail::errno_code(), "duet::unix_listener: bind " + where.to_string());
  }
  if (::listen(fd.get(), backlog) != 0) {
    const auto listen_error = detail::errno_code();
    ::unlink(where.path().c_str());
    throw std::system_error(listen_error, "duet::unix_listener: listen");
  }
  return unix_listener(detail::registered_socket(loop, std::move(fd)), where.path());
}

DUET_INLINE void unix_listener::close() noexcept {
  if (!m_socket.is_open()) return;
  m_socket.close();
  detail::unlink_stale_socket(m_path);
}

}  // namespace duet::inline v0
#endif
