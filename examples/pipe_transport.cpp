// A custom transport, written the way a duet user would write one: a byte
// stream over a pair of pipes to a forked child process. Nothing here uses
// duet's internals; the transport only needs duet::async_fd (fd readiness on
// the loop) and the three members of the duet::transport concept.
//
// For now the child echoes bytes back and the parent checks them; the same
// pipe_stream can carry a duet::client / duet::server session unchanged.

#include <duet/coro/task.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/loop/async_fd.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/transport.hpp>

#include <array>
#include <cerrno>
#include <csignal>  // std::signal: a pipe whose reader died raises SIGPIPE
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

namespace {

// The child: a plain blocking echo until end of input.
[[noreturn]] void run_child(int in, int out) {
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n <= 0) ::_exit(n == 0 ? 0 : 1);
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w <= 0) ::_exit(1);
      done += w;
    }
  }
}

void make_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

duet::task<int> talk(pipe_stream& child) {
  // Several pieces in one gather write, then read the echo back.
  const std::string_view parts[] = {"hello ", "from ", "the ", "parent, ", std::string_view("over pipes\n")};
  std::vector<duet::const_buffer> gather;
  std::string expected;
  for (auto part : parts) {
    gather.push_back(std::as_bytes(std::span<const char>(part.data(), part.size())));
    expected += part;
  }
  // A bigger payload too, larger than a pipe's buffer, so both sides wait.
  const std::string big(200'000, 'x');
  gather.push_back(std::as_bytes(std::span<const char>(big.data(), big.size())));
  expected += big;

  // Write and read at the same time: the child echoes as it reads, so a
  // parent that wrote everything before reading would fill both pipes.
  auto writer = [&]() -> duet::task<duet::io_result> { co_return co_await child.write(gather); };
  auto reader = [&]() -> duet::task<std::string> {
    std::string echoed;
    std::array<std::byte, 8192> buffer{};
    while (echoed.size() < expected.size()) {
      const duet::io_result r = co_await child.read_some(buffer);
      if (r.error || r.bytes == 0) break;
      echoed.append(reinterpret_cast<const char*>(buffer.data()), r.bytes);
    }
    co_return echoed;
  };
  auto [written, echoed] = co_await duet::when_all(writer(), reader());
  if (written.error || written.bytes != expected.size()) {
    std::fprintf(stderr, "write failed: %s\n", written.error.message().c_str());
    co_return 1;
  }
  if (echoed != expected) {
    std::fprintf(stderr, "echo mismatch: %zu of %zu bytes\n", echoed.size(), expected.size());
    co_return 1;
  }
  std::printf("the child echoed %zu bytes, starting with: %.*s", echoed.size(), 34, echoed.c_str());
  co_return 0;
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

  duet::event_loop loop;
  int result = 0;
  {
    pipe_stream child(loop, from_child[0], to_child[1]);
    result = loop.block_on(talk(child));
  }  // closing the stream ends the child's input: it exits
  int status = 0;
  ::waitpid(pid, &status, 0);
  return result != 0 ? result : (WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
