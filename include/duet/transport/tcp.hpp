#pragma once

#include <duet/config.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <duet/bytes.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/detail/socket.hpp>
#include <duet/transport/detail/socket_stream.hpp>
#include <duet/transport/endpoint.hpp>
#include <duet/transport/transport.hpp>

namespace duet::inline v0 {

/// A connected TCP stream (IPv4 or IPv6), a `duet::transport`.
///
/// Made by `co_await tcp_stream::connect(loop, endpoint, timeout)` or by a
/// `tcp_listener`'s accept. Non-blocking, close-on-exec, TCP_NODELAY set
/// (RPC messages are small and latency-bound), SIGPIPE never raised. Each
/// operation tries the system call first and waits for readiness only when
/// the kernel says EAGAIN; no operation allocates.
///
/// A stream belongs to the loop it was made on: use it on that loop's
/// thread, and destroy or close it before the loop. Movable, but not while
/// an operation is pending. Destruction closes it.
class tcp_stream {
public:
  /// Adopts a connected, registered socket (used by connect and accept).
  explicit tcp_stream(detail::registered_socket socket) noexcept;

  tcp_stream(tcp_stream&&) noexcept = default;
  tcp_stream& operator=(tcp_stream&&) noexcept = default;

  /// `co_await tcp_stream::connect(loop, where, timeout)` connects to the IP
  /// endpoint `where` and yields `connect_result<tcp_stream>`: the stream,
  /// or an error — `timed_out` if not connected within `timeout`,
  /// `connection_refused` when nothing listens, `invalid_argument` for a
  /// non-IP endpoint. Resumes on the loop thread; call it there.
  [[nodiscard]] static detail::socket_connect_awaiter<tcp_stream> connect(event_loop& loop, endpoint where,
                                                                           std::chrono::milliseconds timeout) {
    return detail::socket_connect_awaiter<tcp_stream>(loop, ip_only(std::move(where)), duration(timeout));
  }

  /// As above, with no time limit beyond the kernel's own.
  [[nodiscard]] static detail::socket_connect_awaiter<tcp_stream> connect(event_loop& loop, endpoint where) {
    return detail::socket_connect_awaiter<tcp_stream>(loop, ip_only(std::move(where)), std::nullopt);
  }

  /// Reads some bytes; see `duet::transport`. End of stream when the peer
  /// shut down its side; `operation_canceled` when closed locally.
  [[nodiscard]] detail::socket_read_awaiter read_some(mutable_buffer buffer) noexcept {
    return detail::socket_read_awaiter(m_socket, buffer);
  }

  /// Writes the whole gather list; see `duet::transport`. The buffers must
  /// stay alive until it completes. A long list goes out in system calls of
  /// whole segments, at most `detail::max_tcp_send` bytes each
  /// (`detail::tcp_send_limit`).
  [[nodiscard]] detail::socket_write_awaiter write(std::span<const const_buffer> buffers) noexcept {
    return detail::socket_write_awaiter(m_socket, buffers, m_send_limit);
  }

  /// Closes the socket; pending operations complete with
  /// `operation_canceled` (on a later loop turn). Idempotent.
  void close() noexcept { m_socket.close(); }

  [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }

  /// This side's address and port (empty endpoint once closed).
  [[nodiscard]] endpoint local_endpoint() const { return is_open() ? detail::local_endpoint(m_socket.fd()) : endpoint{}; }

  /// The peer's address and port (empty endpoint once closed).
  [[nodiscard]] endpoint remote_endpoint() const {
    return is_open() ? detail::remote_endpoint(m_socket.fd()) : endpoint{};
  }

  /// The file descriptor, for socket options; -1 once closed. duet owns it.
  [[nodiscard]] int native_handle() const noexcept { return m_socket.fd(); }

private:
  static endpoint ip_only(endpoint where) { return where.is_ip() ? std::move(where) : endpoint{}; }

  detail::registered_socket m_socket;
  std::size_t m_send_limit = detail::max_tcp_send;  // bytes per send: whole segments
};

/// A listening TCP socket: `co_await listener.accept()` yields connected
/// `tcp_stream`s. Made by `tcp_listener::listen`; belongs to its loop like a
/// stream does.
class tcp_listener {
public:
  tcp_listener(tcp_listener&&) noexcept = default;
  tcp_listener& operator=(tcp_listener&&) noexcept = default;

  /// Binds (with SO_REUSEADDR) and listens on the IP endpoint `where`; port
  /// 0 picks a free port (see `local_endpoint`). Throws std::system_error
  /// (address in use, permission denied, invalid_argument for a non-IP
  /// endpoint).
  [[nodiscard]] static tcp_listener listen(event_loop& loop, const endpoint& where, int backlog = 128);

  /// `co_await accept()` yields `accept_result<tcp_stream>`: the next
  /// connection, or an error (`operation_canceled` once closed; descriptor
  /// exhaustion is reported, not retried). Resumes on the loop thread.
  [[nodiscard]] detail::socket_accept_awaiter<tcp_stream> accept() noexcept {
    return detail::socket_accept_awaiter<tcp_stream>(m_socket);
  }

  /// Stops listening; a pending accept completes with `operation_canceled`.
  void close() noexcept { m_socket.close(); }

  [[nodiscard]] bool is_open() const noexcept { return m_socket.is_open(); }

  /// The bound address, with the actual port when 0 was asked for.
  [[nodiscard]] endpoint local_endpoint() const { return is_open() ? detail::local_endpoint(m_socket.fd()) : endpoint{}; }

private:
  explicit tcp_listener(detail::registered_socket socket) noexcept : m_socket(std::move(socket)) {}

  detail::registered_socket m_socket;
};

static_assert(transport<tcp_stream>);
static_assert(listener<tcp_listener>);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE tcp_stream::tcp_stream(detail::registered_socket socket) noexcept : m_socket(std::move(socket)) {
  if (m_socket.is_open()) {
    detail::set_option(m_socket.fd(), IPPROTO_TCP, TCP_NODELAY, 1);
    m_send_limit = detail::tcp_send_limit(m_socket.fd());
  }
}

DUET_INLINE tcp_listener tcp_listener::listen(event_loop& loop, const endpoint& where, int backlog) {
  detail::socket_address address;
  if (const auto error = detail::to_socket_address(where.is_ip() ? where : endpoint{}, address)) {
    throw std::system_error(error, "duet::tcp_listener::listen " + where.to_string());
  }
  std::error_code error;
  detail::socket_fd fd = detail::open_stream_socket(address.domain(), error);
  if (error) throw std::system_error(error, "duet::tcp_listener: socket");
  detail::set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  if (::bind(fd.get(), address.get(), address.m_length) != 0) {
    throw std::system_error(detail::errno_code(), "duet::tcp_listener: bind " + where.to_string());
  }
  if (::listen(fd.get(), backlog) != 0) throw std::system_error(detail::errno_code(), "duet::tcp_listener: listen");
  return tcp_listener(detail::registered_socket(loop, std::move(fd)));
}

}  // namespace duet::inline v0
#endif
