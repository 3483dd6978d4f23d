#pragma once

// One factory per transport model, so a single conformance suite runs over
// all of them: `co_await Model::make(loop)` yields a connected pair, or
// nullopt when the model is unavailable here (IPv6 without ::1).

#include <atomic>
#include <optional>
#include <string>
#include <utility>

#include <unistd.h>  // getpid, for unique socket paths

#include <catch2/catch.hpp>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/transport/memory.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/transport/unix.hpp>

#include "loop/loop_support.hpp"

namespace duet_test {

inline std::string unique_socket_path() {
  static std::atomic<int> counter{0};
  return "/tmp/duet-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
}

template <class Stream, class Listener>
duet::task<std::optional<std::pair<Stream, Stream>>> connect_pair(duet::event_loop& loop, Listener& listener) {
  auto client = co_await Stream::connect(loop, listener.local_endpoint(), std::chrono::milliseconds(2000));
  REQUIRE(client.has_value());
  auto server = co_await listener.accept();
  REQUIRE(server.has_value());
  listener.close();
  co_return std::pair<Stream, Stream>(std::move(*client), std::move(*server));
}

struct memory_model {
  using stream = duet::memory_stream;
  static constexpr bool has_fds = false;
  static duet::task<std::optional<std::pair<stream, stream>>> make(duet::event_loop& loop) {
    co_return duet::make_memory_pair(loop);
  }
};

struct tcp_v4_model {
  using stream = duet::tcp_stream;
  static constexpr bool has_fds = true;
  static duet::task<std::optional<std::pair<stream, stream>>> make(duet::event_loop& loop) {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    co_return co_await connect_pair<stream>(loop, listener);
  }
};

struct tcp_v6_model {
  using stream = duet::tcp_stream;
  static constexpr bool has_fds = true;
  static duet::task<std::optional<std::pair<stream, stream>>> make(duet::event_loop& loop) {
    std::optional<duet::tcp_listener> listener;
    try {
      listener.emplace(duet::tcp_listener::listen(loop, duet::endpoint::loopback_v6(0)));
    } catch (const std::system_error& error) {
      WARN("IPv6 loopback unavailable, skipped: " << error.what());
      co_return std::nullopt;
    }
    co_return co_await connect_pair<stream>(loop, *listener);
  }
};

struct unix_model {
  using stream = duet::unix_stream;
  static constexpr bool has_fds = true;
  static duet::task<std::optional<std::pair<stream, stream>>> make(duet::event_loop& loop) {
    auto listener = duet::unix_listener::listen(loop, duet::endpoint::unix_socket(unique_socket_path()));
    co_return co_await connect_pair<stream>(loop, listener);
  }
};

}  // namespace duet_test
