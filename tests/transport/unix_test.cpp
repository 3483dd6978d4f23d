#include <duet/transport/unix.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>  // std::fopen: a regular file in the way
#include <optional>

#include <sys/stat.h>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>

#include "loop/loop_support.hpp"
#include "transport/transport_models.hpp"

using namespace std::chrono_literals;
using duet_test::detached;

namespace {

bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

}  // namespace

TEST_CASE("a unix listener replaces a stale socket file and removes its own on close", "[transport]") {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  const auto where = duet::endpoint::unix_socket(duet_test::unique_socket_path());
  {
    // A listener whose file outlives it, as after a crash.
    auto stale = duet::unix_listener::listen(loop, where);
    REQUIRE(exists(where.path()));
  }
  // The destructor removed it; recreate a stale file by hand.
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    duet::detail::socket_address address;
    REQUIRE_FALSE(duet::detail::to_socket_address(where, address));
    REQUIRE(::bind(fd, address.get(), address.m_length) == 0);
    ::close(fd);
  }
  REQUIRE(exists(where.path()));
  auto listener = duet::unix_listener::listen(loop, where);
  CHECK(listener.local_endpoint() == where);
  auto body = [&]() -> duet::task<bool> {
    auto client = co_await duet::unix_stream::connect(loop, where, 2s);
    auto server = co_await listener.accept();
    co_return client.has_value() && server.has_value() && client->remote_endpoint() == where;
  };
  CHECK(loop.block_on(body()));
  listener.close();
  CHECK_FALSE(exists(where.path()));
}

TEST_CASE("a unix listener does not delete a regular file in its way", "[transport]") {
  duet::event_loop loop;
  const std::string path = duet_test::unique_socket_path();
  std::FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file != nullptr);
  std::fclose(file);
  CHECK_THROWS_AS(duet::unix_listener::listen(loop, duet::endpoint::unix_socket(path)), std::system_error);
  CHECK(exists(path));
  ::unlink(path.c_str());
}

TEST_CASE("connecting to a unix path nobody listens on fails with an error", "[transport]") {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto body = [&]() -> duet::task<std::error_code> {
    auto result = co_await duet::unix_stream::connect(loop, duet::endpoint::unix_socket(duet_test::unique_socket_path()));
    co_return result.error();
  };
  CHECK(loop.block_on(body()) == std::errc::no_such_file_or_directory);
}

TEST_CASE("closing a unix listener wakes a pending accept with operation_canceled", "[transport]") {
  duet::event_loop loop(duet_test::any_backend());
  duet_test::watchdog guard(loop);
  auto listener = duet::unix_listener::listen(loop, duet::endpoint::unix_socket(duet_test::unique_socket_path()));
  std::optional<std::error_code> result;
  [](duet::unix_listener& l, std::optional<std::error_code>& out) -> detached {
    out = (co_await l.accept()).error();
  }(listener, result);
  auto body = [&]() -> duet::task<void> {
    listener.close();
    co_await loop.schedule();
  };
  loop.block_on(body());
  REQUIRE(result);
  CHECK(*result == std::errc::operation_canceled);
}

TEST_CASE("a unix path too long for sockaddr_un is rejected", "[transport]") {
  duet::event_loop loop;
  const std::string path = "/tmp/" + std::string(200, 'x');
  CHECK_THROWS_AS(duet::unix_listener::listen(loop, duet::endpoint::unix_socket(path)), std::system_error);
}
