#pragma once

// The one header of duet's transport layer that includes the POSIX socket
// headers: everything that talks to the kernel about sockets is here.

#include <duet/config.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>  // IOV_MAX (with <sys/uio.h>)
#include <cstddef>
#include <cstdint>
#include <cstring>  // std::memcpy, std::memset
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>  // TCP_NODELAY
#include <sys/socket.h>
#include <sys/stat.h>  // stat, S_ISSOCK: is a stale path a socket?
#include <sys/uio.h>   // iovec, IOV_MAX
#include <sys/un.h>
#include <unistd.h>

#include <duet/bytes.hpp>
#include <duet/transport/endpoint.hpp>

namespace duet::inline v0::detail {

/// errno as a std::error_code of the system category.
[[nodiscard]] inline std::error_code errno_code(int error = errno) noexcept {
  return std::error_code(error, std::system_category());
}

[[nodiscard]] inline bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

/// An owned file descriptor, closed on destruction.
class socket_fd {
public:
  socket_fd() noexcept = default;
  explicit socket_fd(int fd) noexcept : m_fd(fd) {}
  socket_fd(socket_fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.m_fd, -1));
    return *this;
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return m_fd; }
  [[nodiscard]] bool valid() const noexcept { return m_fd >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(m_fd, -1); }

  void reset(int fd = -1) noexcept {
    // close(2) is not retried on EINTR: on Linux the fd is gone either way.
    if (m_fd >= 0) ::close(m_fd);
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

/// A socket address built from an endpoint.
struct socket_address {
  sockaddr_storage m_storage{};
  socklen_t m_length = 0;

  [[nodiscard]] const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&m_storage); }
  [[nodiscard]] int domain() const noexcept { return m_storage.ss_family; }
};

/// Converts `where` to a sockaddr; invalid_argument for an empty endpoint,
/// filename_too_long for a Unix path that does not fit sun_path.
[[nodiscard]] DUET_INLINE std::error_code to_socket_address(const endpoint& where, socket_address& out) noexcept;

/// Converts a kernel-filled sockaddr back to an endpoint (empty if the
/// family is unknown or the Unix socket is unnamed).
[[nodiscard]] DUET_INLINE endpoint from_socket_address(const sockaddr_storage& storage, socklen_t length);

/// A non-blocking, close-on-exec stream socket of `domain`, or an error.
[[nodiscard]] DUET_INLINE socket_fd open_stream_socket(int domain, std::error_code& error) noexcept;

/// Accepts one pending connection as a non-blocking, close-on-exec socket.
/// Returns an invalid fd and sets `error` (EAGAIN included) on failure.
[[nodiscard]] DUET_INLINE socket_fd accept_socket(int listener, std::error_code& error) noexcept;

DUET_INLINE void set_option(int fd, int level, int name, int value) noexcept;

/// The pending error of a socket (SO_ERROR), e.g. after a connect.
[[nodiscard]] DUET_INLINE std::error_code pending_error(int fd) noexcept;

[[nodiscard]] DUET_INLINE endpoint local_endpoint(int fd);

[[nodiscard]] DUET_INLINE endpoint remote_endpoint(int fd);

/// The result of one non-blocking system call: a byte count, or an errno
/// (EAGAIN meaning "wait for readiness").
struct syscall_result {
  std::size_t bytes = 0;
  int error = 0;
};

/// One recv(2) into `buffer`, retried on EINTR.
[[nodiscard]] DUET_INLINE syscall_result receive_some(int fd, mutable_buffer buffer) noexcept;

/// How many buffers one gather call passes at most.
inline constexpr std::size_t max_gather =
#if defined(IOV_MAX)
    IOV_MAX < 1024 ? IOV_MAX : 1024;
#else
    16;
#endif

/// One gather send of `buffers`, the first of which starts `offset` bytes
/// in, at most `max_gather` buffers and `max_bytes` bytes; SIGPIPE
/// suppressed; retried on EINTR.
[[nodiscard]] DUET_INLINE syscall_result send_gather(int fd, std::span<const const_buffer> buffers,
                                                     std::size_t offset, std::size_t max_bytes = SIZE_MAX) noexcept;

/// The most bytes one send on a TCP stream passes to the kernel.
inline constexpr std::size_t max_tcp_send = 128 * 1024;

/// How many bytes each send on the connected TCP socket `fd` passes at
/// most: the largest whole number of segments (TCP_MAXSEG, the current
/// MSS) within `max_tcp_send`, at least one; `max_tcp_send` when the MSS
/// is unknown. A large batch then leaves in sends of whole segments: each
/// send's segments go out (and the peer starts on them) while the next
/// one is copied, instead of the peer waiting for the copy of a whole
/// batch, and no send but the batch's last ends in a runt segment.
[[nodiscard]] DUET_INLINE std::size_t tcp_send_limit(int fd) noexcept;

/// Removes a stale Unix socket file at `path` (only if it is a socket, so
/// a mistyped path never deletes a regular file).
DUET_INLINE void unlink_stale_socket(const std::string& path) noexcept;

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE std::error_code to_socket_address(const endpoint& where, socket_address& out) noexcept {
  out = socket_address{};
  switch (where.kind()) {
    case endpoint::family::ipv4: {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(where.port());
      std::memcpy(&address.sin_addr, where.address().data(), 4);
      std::memcpy(&out.m_storage, &address, sizeof address);
      out.m_length = sizeof address;
      return {};
    }
    case endpoint::family::ipv6: {
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(where.port());
      std::memcpy(&address.sin6_addr, where.address().data(), 16);
      std::memcpy(&out.m_storage, &address, sizeof address);
      out.m_length = sizeof address;
      return {};
    }
    case endpoint::family::unix_path: {
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      const std::string& path = where.path();
      if (path.empty()) return std::make_error_code(std::errc::invalid_argument);
      if (path.size() >= sizeof address.sun_path) return std::make_error_code(std::errc::filename_too_long);
      std::memcpy(address.sun_path, path.data(), path.size());
      std::memcpy(&out.m_storage, &address, sizeof address);
      out.m_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
      return {};
    }
    case endpoint::family::none: break;
  }
  return std::make_error_code(std::errc::invalid_argument);
}

DUET_INLINE endpoint from_socket_address(const sockaddr_storage& storage, socklen_t length) {
  switch (storage.ss_family) {
    case AF_INET: {
      sockaddr_in address{};
      std::memcpy(&address, &storage, sizeof address);
      std::array<std::uint8_t, 4> bytes{};
      std::memcpy(bytes.data(), &address.sin_addr, 4);
      return endpoint::ipv4(bytes, ntohs(address.sin_port));
    }
    case AF_INET6: {
      sockaddr_in6 address{};
      std::memcpy(&address, &storage, sizeof address);
      std::array<std::uint8_t, 16> bytes{};
      std::memcpy(bytes.data(), &address.sin6_addr, 16);
      return endpoint::ipv6(bytes, ntohs(address.sin6_port));
    }
    case AF_UNIX: {
      sockaddr_un address{};
      std::memcpy(&address, &storage, std::min<std::size_t>(sizeof address, sizeof storage));
      const std::size_t offset = offsetof(sockaddr_un, sun_path);
      if (length <= offset) return endpoint::unix_socket({});
      std::size_t size = static_cast<std::size_t>(length) - offset;
      size = std::min(size, sizeof address.sun_path);
      const char* begin = address.sun_path;
      // Pathname sockets are NUL-terminated; abstract ones start with NUL.
      if (size > 0 && begin[0] != '\0') size = ::strnlen(begin, size);
      return endpoint::unix_socket(std::string(begin, size));
    }
    default: return endpoint{};
  }
}

DUET_INLINE socket_fd open_stream_socket(int domain, std::error_code& error) noexcept {
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  socket_fd fd(::socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) error = errno_code();
#else
  socket_fd fd(::socket(domain, SOCK_STREAM, 0));
  if (!fd.valid()) {
    error = errno_code();
    return fd;
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
#endif
#if defined(SO_NOSIGPIPE)
  // Where send flags cannot suppress SIGPIPE, the socket option does.
  if (fd.valid()) {
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  }
#endif
  return fd;
}

DUET_INLINE socket_fd accept_socket(int listener, std::error_code& error) noexcept {
#if defined(__linux__)
  socket_fd fd(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) error = errno_code();
#else
  socket_fd fd(::accept(listener, nullptr, nullptr));
  if (!fd.valid()) {
    error = errno_code();
    return fd;
  }
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
#endif
#if defined(SO_NOSIGPIPE)
  if (fd.valid()) {
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  }
#endif
  return fd;
}

DUET_INLINE void set_option(int fd, int level, int name, int value) noexcept {
  ::setsockopt(fd, level, name, &value, sizeof value);
}

DUET_INLINE std::error_code pending_error(int fd) noexcept {
  int value = 0;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0) return errno_code();
  return value == 0 ? std::error_code{} : errno_code(value);
}

DUET_INLINE endpoint local_endpoint(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return endpoint{};
  return from_socket_address(storage, length);
}

DUET_INLINE endpoint remote_endpoint(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return endpoint{};
  return from_socket_address(storage, length);
}

DUET_INLINE syscall_result receive_some(int fd, mutable_buffer buffer) noexcept {
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) return {static_cast<std::size_t>(n), 0};
    if (errno != EINTR) return {0, errno};
  }
}

DUET_INLINE syscall_result send_gather(int fd, std::span<const const_buffer> buffers, std::size_t offset,
                                       std::size_t max_bytes) noexcept {
  std::array<iovec, max_gather> vectors;
  std::size_t count = 0;
  for (std::size_t i = 0; i < buffers.size() && count < max_gather && max_bytes > 0; ++i) {
    const_buffer piece = buffers[i];
    if (i == 0) piece = piece.subspan(offset);
    if (piece.empty()) continue;
    if (piece.size() > max_bytes) piece = piece.first(max_bytes);
    max_bytes -= piece.size();
    vectors[count].iov_base = const_cast<std::byte*>(piece.data());  // iovec is not const-correct
    vectors[count].iov_len = piece.size();
    ++count;
  }
  if (count == 0) return {};
  msghdr message{};
  message.msg_iov = vectors.data();
  message.msg_iovlen = static_cast<decltype(message.msg_iovlen)>(count);
#if defined(MSG_NOSIGNAL)
  constexpr int flags = MSG_NOSIGNAL;
#else
  constexpr int flags = 0;
#endif
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, flags);
    if (n >= 0) return {static_cast<std::size_t>(n), 0};
    if (errno != EINTR) return {0, errno};
  }
}

DUET_INLINE std::size_t tcp_send_limit(int fd) noexcept {
  int mss = 0;
  socklen_t length = sizeof mss;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &length) != 0 || mss <= 0) return max_tcp_send;
  const auto segment = static_cast<std::size_t>(mss);
  return segment >= max_tcp_send ? segment : max_tcp_send / segment * segment;
}

DUET_INLINE void unlink_stale_socket(const std::string& path) noexcept {
  struct stat info {};
  if (!path.empty() && ::lstat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) ::unlink(path.c_str());
}

}  // namespace duet::inline v0::detail
#endif
