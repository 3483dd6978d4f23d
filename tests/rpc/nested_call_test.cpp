// Nested calls never deadlock: a handler that waits on a call back to its
// peer gets that answer even while its side is at its in-flight cap, because
// backpressure holds back only new requests, never the responses, on a
// connection.
#include "rig.hpp"
#include "tcp_rig.hpp"

#include <duet/coro/async_scope.hpp>
#include <duet/rpc/peer.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>

namespace nested_call_test {

using namespace std::chrono_literals;

namespace {

inline constexpr duet::method<"nested.outer", int(int)> outer;  // served by the server
inline constexpr duet::method<"nested.inner", int(int)> inner;  // served by the client
inline constexpr duet::method<"nested.note", void(int)> note;   // a notification the server sends back

struct tally {
  int done = 0;
  int wrong = 0;
  int notes = 0;
};

void serve_outer(duet::router& r) {
  r.on(outer, [](duet::call_context& ctx, int x) -> duet::task<int> {
    const int y = co_await ctx.peer().call(inner, x);
    co_return y + 1;
  });
}

void serve_inner(duet::router& r, duet::event_loop& loop, tally& t) {
  r.on(inner, [&loop](int x) -> duet::task<int> {
    co_await loop.schedule();  // really suspends: the client's handler slots fill too
    co_return 2 * x;
  });
  r.on(note, [&t](int) { ++t.notes; });
}

// `calls` calls of `outer`, each with a deadline so that a deadlock fails
// the test instead of hanging it.
template <class Client>
duet::task<void> caller(Client& client, int first, int calls, tally& t) {
  duet::call_options o;
  o.timeout = 10s;
  for (int i = first; i < first + calls; ++i) {
    duet::result<int> got = co_await client.try_call(o, outer, i);
    ++t.done;
    if (!got || *got != 2 * i + 1) {
      ++t.wrong;
      break;  // a deadlock costs one deadline, not one per call
    }
  }
}

duet::session_options capped(std::uint32_t in_flight) {
  duet::session_options o;
  o.max_in_flight = in_flight;
  return o;
}

}  // namespace

TEST_CASE("10,000 nested callbacks complete on one connection with max_in_flight = 4 on both sides",
          "[rpc][nested]") {
  constexpr int callers = 50;
  constexpr int calls = 200;
  duet::server_options options;
  options.session = capped(4);
  rig r(options);
  serve_outer(r.router);
  tally t;
  duet::router client_routes;
  serve_inner(client_routes, r.loop, t);
  auto client = r.connect(client_routes, capped(4));
  r.run([&]() -> duet::task<void> {
    duet::async_scope scope;
    for (int c = 0; c < callers; ++c) scope.spawn(caller(client, c * calls, calls, t));
    co_await scope.join();
    co_await client.close();
  });
  CHECK(t.done == callers * calls);
  CHECK(t.wrong == 0);
}

TEST_CASE("nested callbacks complete over TCP with max_in_flight = 1 on both sides", "[rpc][nested]") {
  constexpr int callers = 8;
  constexpr int calls = 100;
  duet::server_options options;
  options.session = capped(1);
  tcp_rig r(options);
  serve_outer(r.router);
  tally t;
  duet::router client_routes;
  serve_inner(client_routes, r.loop, t);
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect(client_routes, capped(1));
    duet::async_scope scope;
    for (int c = 0; c < callers; ++c) scope.spawn(caller(client, c * calls, calls, t));
    co_await scope.join();
    co_await client.close();
  });
  CHECK(t.done == callers * calls);
  CHECK(t.wrong == 0);
}

TEST_CASE("requests that arrive while the serving side is at its cap wait their turn and run in order",
          "[rpc][nested]") {
  // The server sends notifications to the client faster than the client's
  // single handler slot frees (each of its calls back is a coroutine); the
  // notifications wait, none is lost, and the server's own calls still get
  // their answers meanwhile.
  duet::server_options options;
  rig r(options);
  constexpr int notes_per_call = 20;
  r.router.on(outer, [](duet::call_context& ctx, int x) -> duet::task<int> {
    for (int i = 0; i < notes_per_call; ++i) (void)ctx.peer().notify(note, i);
    const int y = co_await ctx.peer().call(inner, x);
    co_return y + 1;
  });
  tally t;
  duet::router client_routes;
  serve_inner(client_routes, r.loop, t);
  auto client = r.connect(client_routes, capped(1));
  r.run([&]() -> duet::task<void> {
    duet::async_scope scope;
    for (int c = 0; c < 10; ++c) scope.spawn(caller(client, c * 10, 10, t));
    co_await scope.join();
    co_await client.close();
  });
  CHECK(t.done == 100);
  CHECK(t.wrong == 0);
  CHECK(t.notes == 100 * notes_per_call);
}

}  // namespace nested_call_test
