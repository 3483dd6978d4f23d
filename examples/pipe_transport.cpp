// A custom transport, written the way a duet user would write one: a byte
// stream over a pair of pipes to a forked child process. Nothing here uses
// duet's internals; the transport only needs duet::async_fd (fd readiness on
// the loop) and the three members of the duet::transport concept.
//
// The child runs a duet server over its ends of the pipes; the parent calls
// it through a duet::client over its ends. Above the transport, nothing
// differs from TCP.

#include <duet/coro/task.hpp>
#include <duet/loop/async_fd.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/transport.hpp>

#include <array>
#include <cerrno>
#include <csignal>  // std::signal: a pipe whose reader died raises SIGPIPE
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/uio.h>  // writev
#include <sys/wait.h>
#include <unistd.h>

/// One end of a bidirectional pipe link: reads from one fd, writes to
/// another. Both fds are owned, non-blocking and closed by close().
class pipe_stream {
public:
  pipe_stream(duet::event_loop& loop, int read_fd, int write_fd)
      : m_read_fd(read_fd), m_write_fd(write_fd), m_readable(loop, read_fd), m_writable(loop, write_fd) {}

  pipe_stream(pipe_stream&& other) noexcept
      : m_read_fd(std::exchange(other.m_read_fd, -1)),
        m_write_fd(std::exchange(other.m_write_fd, -1)),
        m_readable(std::move(other.m_readable)),
        m_writable(std::move(other.m_writable)) {}

  pipe_stream(const pipe_stream&) = delete;
  pipe_stream& operator=(const pipe_stream&) = delete;
  pipe_stream& operator=(pipe_stream&&) = delete;
  ~pipe_stream() { close(); }

  // 1. Try read(2); wait for readability only on EAGAIN. A coroutine is the
  //    simplest way to write it (it allocates a frame per call; a
  //    hand-written awaiter would not).
  [[nodiscard]] duet::task<duet::io_result> read_some(duet::mutable_buffer buffer) {
    for (;;) {
      if (m_read_fd < 0) co_return duet::io_result{0, std::make_error_code(std::errc::operation_canceled)};
      const ssize_t n = ::read(m_read_fd, buffer.data(), buffer.size());
      if (n >= 0) co_return duet::io_result{static_cast<std::size_t>(n), {}};  // 0: end of stream
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        co_return duet::io_result{0, std::error_code(errno, std::system_category())};
      }
      if (const std::error_code error = co_await m_readable.readable()) co_return duet::io_result{0, error};
    }
  }

  // 2. Write the whole gather list, looping over partial writev(2)s.
  [[nodiscard]] duet::task<duet::io_result> write(std::span<const duet::const_buffer> buffers) {
    std::size_t index = 0;
    std::size_t offset = 0;
    std::size_t total = 0;
    for (;;) {
      while (index < buffers.size() && offset == buffers[index].size()) {
        ++index;
        offset = 0;
      }
      if (index == buffers.size()) co_return duet::io_result{total, {}};
      if (m_write_fd < 0) co_return duet::io_result{0, std::make_error_code(std::errc::operation_canceled)};
      std::array<iovec, 64> vectors{};
      std::size_t count = 0;
      for (std::size_t i = index; i < buffers.size() && count < vectors.size(); ++i) {
        const auto piece = buffers[i].subspan(i == index ? offset : 0);
        vectors[count++] = iovec{const_cast<std::byte*>(piece.data()), piece.size()};
      }
      const ssize_t n = ::writev(m_write_fd, vectors.data(), static_cast<int>(count));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          co_return duet::io_result{0, std::error_code(errno, std::system_category())};
        }
        if (const std::error_code error = co_await m_writable.writable()) co_return duet::io_result{0, error};
        continue;
      }
      total += static_cast<std::size_t>(n);
      for (auto sent = static_cast<std::size_t>(n); sent > 0;) {
        const std::size_t left = buffers[index].size() - offset;
        const std::size_t step = sent < left ? sent : left;
        offset += step;
        sent -= step;
        if (offset == buffers[index].size()) {
          ++index;
          offset = 0;
        }
      }
    }
  }

  // 3. Close both directions: pending waits end with operation_canceled
  //    (async_fd::cancel), then the fds are closed.
  void close() noexcept {
    m_readable.cancel();
    m_writable.cancel();
    if (m_read_fd >= 0) ::close(std::exchange(m_read_fd, -1));
    if (m_write_fd >= 0) ::close(std::exchange(m_write_fd, -1));
  }

private:
  int m_read_fd;
  int m_write_fd;
  duet::async_fd m_readable;
  duet::async_fd m_writable;
};

static_assert(duet::transport<pipe_stream>);

inline void make_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

namespace {

// The methods the child serves to its parent, over the pipes.
inline constexpr duet::method<"child.pid", int()> child_pid;
inline constexpr duet::method<"child.reverse", std::string(std::string)> reverse;
inline constexpr duet::method<"child.sum", std::uint64_t(std::vector<std::uint32_t>)> sum;

// The child: a duet server on its own loop, serving the one connection its
// parent holds until the parent closes it.
[[noreturn]] void run_child(int in, int out) {
  make_nonblocking(in);
  make_nonblocking(out);
  duet::event_loop loop;
  duet::router router;
  router.on(child_pid, [] { return static_cast<int>(::getpid()); });
  router.on(reverse, [](std::string s) { return std::string(s.rbegin(), s.rend()); });
  router.on(sum, [](const std::vector<std::uint32_t>& v) {
    std::uint64_t total = 0;
    for (std::uint32_t x : v) total += x;
    return total;
  });
  duet::server server(loop, router);
  loop.block_on(server.serve_connection(pipe_stream(loop, in, out)));
  ::_exit(0);
}

duet::task<int> talk(duet::event_loop& loop, pipe_stream pipes) {
  duet::client client(loop, std::move(pipes));
  const int pid = co_await client.call(child_pid);
  const std::string backwards = co_await client.call(reverse, "over a pair of pipes");
  // A payload larger than a pipe's buffer, so both sides must wait on it.
  std::vector<std::uint32_t> numbers(100'000);
  for (std::uint32_t i = 0; i < numbers.size(); ++i) numbers[i] = i;
  const std::uint64_t total = co_await client.call(sum, numbers);
  co_await client.close();

  std::printf("child %d answered: \"%s\", and 0 + 1 + ... + 99999 = %llu\n", pid, backwards.c_str(),
              static_cast<unsigned long long>(total));
  co_return backwards == "sepip fo riap a revo" && total == 4'999'950'000ull ? 0 : 1;
}

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  int to_child[2];
  int from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) {
    std::perror("pipe");
    return 1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return 1;
  }
  if (pid == 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    run_child(to_child[0], from_child[1]);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  make_nonblocking(from_child[0]);
  make_nonblocking(to_child[1]);

  // Closing the client ends the child's input: its server ends, and it exits.
  duet::event_loop loop;
  const int result = loop.block_on(talk(loop, pipe_stream(loop, from_child[0], to_child[1])));
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result != 0 ? result : (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
