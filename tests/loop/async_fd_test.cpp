#include <duet/loop/async_fd.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>

#include "loop/loop_support.hpp"

using duet_test::any_backend;
using duet_test::detached;

namespace {

// A non-blocking pipe (or socketpair), closed on scope exit.
struct fd_pair {
  int read_end = -1;
  int write_end = -1;

  explicit fd_pair(bool socket) {
    int fds[2];
    if (socket) {
      REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    } else {
      REQUIRE(::pipe(fds) == 0);
    }
    for (int fd : fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~fd_pair() {
    ::close(read_end);
    ::close(write_end);
  }
};

// Reads one byte the way a transport does: try, and wait only on EAGAIN.
duet::task<int> read_byte(duet::async_fd& watch) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    char c = 0;
    const auto n = ::read(watch.fd(), &c, 1);
    if (n == 1) co_return c;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) co_return -1;
    if (co_await watch.readable()) co_return -2;
  }
  co_return -3;
}

}  // namespace

TEST_CASE("async_fd wakes a reader when a pipe or socket becomes readable", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  fd_pair fds(GENERATE(false, true));
  duet::async_fd watch(loop, fds.read_end);
  auto body = [&]() -> duet::task<int> {
    [](duet::event_loop& l, int fd) -> detached {
      co_await l.schedule();  // the reader below is waiting by now
      const char c = 'x';
      REQUIRE(::write(fd, &c, 1) == 1);
    }(loop, fds.write_end);
    co_return co_await read_byte(watch);
  };
  CHECK(loop.block_on(body()) == 'x');
}

TEST_CASE("async_fd wakes a sleeping loop when another thread makes the fd readable", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  fd_pair fds(false);
  duet::async_fd watch(loop, fds.read_end);
  std::thread writer;
  auto body = [&]() -> duet::task<int> {
    [](duet::event_loop& l, int fd, std::thread& t) -> detached {
      co_await l.schedule();
      t = std::thread([fd] {
        const char c = 'y';
        (void)::write(fd, &c, 1);
      });
    }(loop, fds.write_end, writer);
    co_return co_await read_byte(watch);
  };
  CHECK(loop.block_on(body()) == 'y');
  writer.join();
}

TEST_CASE("async_fd wakes a writer when a full pipe drains", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  fd_pair fds(false);
  duet::async_fd watch(loop, fds.write_end);
  std::array<char, 4096> block{};
  // Fill the pipe (bounded: pipes hold at most a few MiB).
  int blocks = 0;
  while (blocks < 100'000 && ::write(fds.write_end, block.data(), block.size()) > 0) ++blocks;
  REQUIRE(errno == EAGAIN);
  auto body = [&]() -> duet::task<bool> {
    [](duet::event_loop& l, int fd) -> detached {
      co_await l.schedule();
      std::array<char, 65536> sink{};
      while (::read(fd, sink.data(), sink.size()) > 0) {
      }
    }(loop, fds.read_end);
    const std::error_code waited = co_await watch.writable();
    co_return !waited && ::write(fds.write_end, block.data(), 1) == 1;
  };
  CHECK(loop.block_on(body()));
}

TEST_CASE("cancelling an async_fd completes a pending wait with operation_canceled", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  fd_pair fds(true);
  duet::async_fd watch(loop, fds.read_end);
  std::optional<std::error_code> result;
  [](duet::async_fd& w, std::optional<std::error_code>& out) -> detached { out = co_await w.readable(); }(watch, result);
  REQUIRE_FALSE(result);
  auto body = [&]() -> duet::task<std::error_code> {
    watch.cancel();
    co_await loop.schedule();
    co_return co_await watch.readable();  // after cancel: at once
  };
  CHECK(loop.block_on(body()) == std::errc::operation_canceled);
  REQUIRE(result);
  CHECK(*result == std::errc::operation_canceled);
  CHECK(watch.fd() == -1);
}
