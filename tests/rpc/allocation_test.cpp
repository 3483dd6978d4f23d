// In steady state a call whose argument and result types own no heap memory
// allocates nothing, on either side: the call's state lives in its coroutine
// frame, frames are recycled, and frames are encoded in place into buffers
// that keep their capacity.

#include "loop/allocation_counter.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <duet/coro/task.hpp>
#include <duet/coro/async_scope.hpp>
#include <duet/rpc/client.hpp>
#include <duet/rpc/method.hpp>
#include <duet/transport/tcp.hpp>

#include "rpc/rig.hpp"

namespace allocation_test {

namespace {

using block = std::array<std::byte, 16>;
constexpr duet::method<"alloc.echo", block(block)> echo_block;
constexpr duet::method<"alloc.slow_add", int(int, int)> slow_add;  // served by a coroutine handler

struct tally {
  std::uint32_t wrong = 0;
};

template <class Client>
duet::task<void> caller(Client& client, int calls, int salt, tally& t) {
  for (int i = 0; i < calls; ++i) {
    block sent{};
    sent[0] = static_cast<std::byte>(i);
    sent[1] = static_cast<std::byte>(salt);
    duet::result<block> echoed = co_await client.try_call(echo_block, sent);
    if (!echoed || *echoed != sent) ++t.wrong;
    duet::result<int> sum = co_await client.try_call(slow_add, i, salt);
    if (!sum || *sum != i + salt) ++t.wrong;
  }
}

// Rounds of `callers` concurrent callers; only the last is counted. The
// earlier ones warm up the frame cache and let buffers reach their working
// sizes (the in-memory transport's grows up to its capacity over a few
// rounds).
// `make_caller(client, calls, salt, t)` makes one caller (by default `caller`).
template <class Client, class MakeCaller>
duet::task<std::size_t> count_steady_state_allocations(Client& client, tally& t, MakeCaller make_caller) {
  constexpr int rounds = 4;
  constexpr int callers = 32;
  constexpr int calls = 50;
  std::size_t counted = 0;
  duet::async_scope scope;
  for (int round = 0; round < rounds; ++round) {
    if (round == rounds - 1) duet_test::allocation_counter::start();
    for (int c = 0; c < callers; ++c) scope.spawn(make_caller(client, calls, c, t));
    co_await scope.join();
    if (round == rounds - 1) counted = duet_test::allocation_counter::stop();
  }
  co_return counted;
}

template <class Client>
duet::task<std::size_t> count_steady_state_allocations(Client& client, tally& t) {
  return count_steady_state_allocations(
      client, t, [](Client& c, int calls, int salt, tally& out) { return caller(c, calls, salt, out); });
}

void serve_methods(duet::router& router, duet::event_loop& loop) {
  router.on(echo_block, [](const block& b) { return b; });
  router.on(slow_add, [&loop](int a, int b) -> duet::task<int> {
    co_await loop.schedule();  // really suspends: the handler's frame outlives the reader's turn
    co_return a + b;
  });
}

}  // namespace

TEST_CASE("calls of fixed-size types allocate nothing once warmed up, on either side", "[rpc]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  rig r;
  serve_methods(r.router, r.loop);
  auto client = r.connect();
  tally t;
  std::size_t allocations = 1;
  r.run([&]() -> duet::task<void> {
    allocations = co_await count_steady_state_allocations(client, t);
    co_await client.close();
  });
  CHECK(t.wrong == 0);
  CHECK(allocations == 0);
}

TEST_CASE("calls over TCP allocate nothing once warmed up", "[rpc]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  duet::event_loop loop;
  duet::router router;
  serve_methods(router, loop);
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const auto where = listener.local_endpoint();
  tally t;
  std::size_t allocations = 1;
  bool connected = false;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    if (stream) {
      connected = true;
      duet::client<duet::tcp_stream> client(loop, std::move(stream).value());
      allocations = co_await count_steady_state_allocations(client, t);
      co_await client.close();
    }
    server.stop();
    co_await serving.join();
  }());
  REQUIRE(connected);
  CHECK(t.wrong == 0);
  CHECK(allocations == 0);
}

namespace {

constexpr duet::method<"alloc.outer", int(int)> outer;  // the server asks the client (inner), adds one
constexpr duet::method<"alloc.inner", int(int)> inner;  // served by the client

template <class Client>
duet::task<void> nested_caller(Client& client, int calls, int, tally& t) {
  for (int i = 0; i < calls; ++i) {
    duet::result<int> got = co_await client.try_call(outer, i);
    if (!got || *got != 2 * i + 1) ++t.wrong;
  }
}

}  // namespace

TEST_CASE("a nested call (the server's handler calls the client back) allocates nothing once warmed up", "[rpc]") {
  if (!duet_test::allocation_counter::available) {
    WARN("the sanitizer owns operator new: allocation counting skipped");
    return;
  }
  duet::server_options options;
  options.session.max_in_flight = 4;  // the callers wait for room (the client honours the cap)
  rig r(options);
  r.router.on(outer, [](duet::call_context& ctx, int x) -> duet::task<int> {
    const int y = co_await ctx.peer().call(inner, x);
    co_return y + 1;
  });
  duet::router client_routes;
  client_routes.on(inner, [&loop = r.loop](int x) -> duet::task<int> {
    co_await loop.schedule();
    co_return 2 * x;
  });
  duet::session_options client_options;
  client_options.max_in_flight = 4;
  auto client = r.connect(client_routes, client_options);
  tally t;
  std::size_t allocations = 1;
  r.run([&]() -> duet::task<void> {
    allocations = co_await count_steady_state_allocations(
        client, t, [](auto& c, int calls, int salt, tally& out) { return nested_caller(c, calls, salt, out); });
    co_await client.close();
  });
  CHECK(t.wrong == 0);
  CHECK(allocations == 0);
}

}  // namespace allocation_test
