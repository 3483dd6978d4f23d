// A server listening on TCP 127.0.0.1 (port 0) and clients connecting to it
// over real sockets, on one event loop: the end-to-end rig of the call
// semantics tests (metadata, deadlines, interceptors).
#pragma once

#include <duet/coro/async_scope.hpp>
#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/router.hpp>
#include <duet/rpc/server.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <exception>
#include <utility>

struct tcp_rig {
  duet::event_loop loop;
  duet::router router;
  duet::server server;
  duet::endpoint where{};

  explicit tcp_rig(duet::server_options options = {}) : server(loop, router, std::move(options)) {}

  /// A client connected to the server (inside `run`).
  duet::task<duet::client<duet::tcp_stream>> connect(duet::session_options options = {}) {
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream.has_value());
    co_return duet::client<duet::tcp_stream>(loop, std::move(*stream), options);
  }

  /// A client that also serves `routes` to the server (calls back).
  duet::task<duet::client<duet::tcp_stream>> connect(duet::router& routes, duet::session_options options = {}) {
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream.has_value());
    co_return duet::client<duet::tcp_stream>(loop, std::move(*stream), routes, options);
  }

  /// A raw socket connected to the server (inside `run`), for tests that
  /// write frames by hand.
  duet::task<duet::tcp_stream> connect_raw() {
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream.has_value());
    co_return std::move(*stream);
  }

  /// Listens, runs `body` (a coroutine function), then stops the server and
  /// waits for every connection to end; rethrows what `body` threw.
  template <class Body>
  void run(Body body) {
    loop.block_on(drive(std::move(body)));
  }

 private:
  template <class Body>
  duet::task<void> drive(Body body) {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    where = listener.local_endpoint();
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    std::exception_ptr failure;
    try {
      co_await body();
    } catch (...) {
      failure = std::current_exception();
    }
    server.stop();
    co_await serving.join();
    if (failure) std::rethrow_exception(failure);
  }
};
