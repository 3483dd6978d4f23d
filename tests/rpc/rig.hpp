// A server and its clients on one event loop, for the rpc tests.
//
// Never write `CHECK(co_await x)`: Catch repeats the expression inside a
// short-circuit that g++ 12 mis-compiles for co_await, running it twice.
// Await into a local, then check the local.
#pragma once

#include <duet/coro/async_scope.hpp>
#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/memory.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rig_methods {
inline constexpr duet::method<"test.add", int(int, int)> add;
inline constexpr duet::method<"test.echo", std::string(std::string)> echo;
inline constexpr duet::method<"test.ping", void()> ping;
inline constexpr duet::method<"test.fail", int(int)> fail;
inline constexpr duet::method<"test.bytes", std::vector<std::byte>(std::vector<std::byte>)> bytes;
// Declared by clients only: the server has no handler for it.
inline constexpr duet::method<"test.missing", int(int)> missing;
// The same name as `add` with a different signature: its payload cannot
// decode as add's arguments.
inline constexpr duet::method<"test.add", int(std::string)> add_with_wrong_arguments;
}  // namespace rig_methods

/// A loop, a router and a server, with clients connected over in-memory
/// pairs. `run` drives a test body to completion, then stops the server
/// and waits for every connection to end, so nothing outlives the test.
struct rig {
  duet::event_loop loop;
  duet::router router;
  duet::server server;
  duet::async_scope connections;

  explicit rig(duet::server_options options = {}) : server(loop, router, std::move(options)) {}

  duet::client<duet::memory_stream> connect(duet::session_options options = {}) {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    connections.spawn(server.serve_connection(std::move(far_end)));
    return duet::client<duet::memory_stream>(loop, std::move(near_end), options);
  }

  /// A client that also serves `routes` to the server (calls back).
  duet::client<duet::memory_stream> connect(duet::router& routes, duet::session_options options = {}) {
    auto [near_end, far_end] = duet::make_memory_pair(loop);
    connections.spawn(server.serve_connection(std::move(far_end)));
    return duet::client<duet::memory_stream>(loop, std::move(near_end), routes, options);
  }

  template <class Body>
  void run(Body body) {
    loop.block_on(drive(std::move(body)));
  }

 private:
  template <class Body>
  duet::task<void> drive(Body body) {
    co_await body();
    server.stop();
    co_await connections.join();
  }
};
