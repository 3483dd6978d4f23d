// Stream methods and their handlers, shared by the stream tests.
//
// Never write `CHECK(co_await x)`: await into a local, then check it (see
// tests/rpc/rig.hpp).
#pragma once

#include <duet/coro/task.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace stream_methods {
/// Sends 0, 1, ..., count - 1.
inline constexpr duet::method<"stream.count", duet::stream<std::uint64_t>(std::uint64_t)> count;
/// Sums what it receives.
inline constexpr duet::method<"stream.sum", std::uint64_t(duet::stream<std::uint64_t>)> sum;
/// Sends back each message it receives, prefixed with "echo ".
inline constexpr duet::method<"stream.echo", duet::stream<std::string>(duet::stream<std::string>)> echo;
/// Sends 0, 1, 2, ... until the stream ends.
inline constexpr duet::method<"stream.endless", duet::stream<std::uint64_t>(int)> endless;
/// A unary method, for calls beside streams.
inline constexpr duet::method<"stream.add", int(int, int)> add;
}  // namespace stream_methods

/// What the endless handler saw, for tests that end its stream.
struct endless_log {
  std::uint64_t sent = 0;
  bool stop_fired = false;
  bool ended = false;
};

inline void serve_stream_methods(duet::router& router, endless_log* log = nullptr) {
  using namespace stream_methods;
  router.on(count, [](std::uint64_t n, duet::stream_writer<std::uint64_t>& out) -> duet::task<void> {
    for (std::uint64_t i = 0; i < n; ++i) {
      const bool sent = co_await out.send(i);
      if (!sent) co_return;
    }
  });
  router.on(sum, [](duet::stream_reader<std::uint64_t>& in) -> duet::task<std::uint64_t> {
    std::uint64_t total = 0;
    for (;;) {
      std::optional<std::uint64_t> v = co_await in.next();
      if (!v) break;
      total += *v;
    }
    co_return total;
  });
  router.on(echo, [](duet::stream_reader<std::string>& in, duet::stream_writer<std::string>& out) -> duet::task<void> {
    for (;;) {
      std::optional<std::string> m = co_await in.next();
      if (!m) break;
      std::string back = "echo " + *m;
      const bool sent = co_await out.send(back);
      if (!sent) break;
    }
  });
  router.on(endless, [log](duet::call_context& ctx, int, duet::stream_writer<std::uint64_t>& out) -> duet::task<void> {
    std::stop_token stop = ctx.stop_token();
    for (std::uint64_t i = 0;; ++i) {
      const bool sent = co_await out.send(i);
      if (!sent) break;
      if (log != nullptr) log->sent = i + 1;
    }
    if (log != nullptr) {
      log->stop_fired = stop.stop_requested();
      log->ended = true;
    }
  });
  router.on(add, [](int a, int b) { return a + b; });
}
