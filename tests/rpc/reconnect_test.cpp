// Reconnect: a client made with reconnect_options makes a new connection,
// with backoff, when its connection is lost or its server sends goaway.
#include "rig.hpp"
#include "support/gate.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/rpc/reconnect.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <coroutine>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace reconnect_test {

using namespace rig_methods;
using namespace std::chrono_literals;

namespace {

inline constexpr duet::method<"reconnect.who", std::string()> who;
inline constexpr duet::method<"reconnect.held", int(int)> held;

duet::reconnect_backoff quick_backoff() {
  duet::reconnect_backoff b;
  b.initial = 5ms;
  b.max = 20ms;
  return b;
}

using duet_test::gate;

duet::task<void> drain_then_open(duet::event_loop& loop, duet::server& server, gate& g, duet::async_event& arrived) {
  co_await arrived;  // the held call reached its handler
  server.drain(5s);
  co_await loop.schedule();
  g.open();
}

}  // namespace

TEST_CASE("reconnect_options::connect holds a copy of any callable; an empty one is refused", "[rpc][reconnect]") {
  int calls = 0;
  duet::connect_function<duet::tcp_stream> f = [&calls]() -> duet::task<duet::connect_result<duet::tcp_stream>> {
    ++calls;
    co_return std::make_error_code(std::errc::connection_refused);
  };
  REQUIRE(static_cast<bool>(f));
  duet::connect_function<duet::tcp_stream> copy = f;
  (void)duet::sync_wait(copy());
  (void)duet::sync_wait(f());
  CHECK(calls == 2);

  duet::task<duet::connect_result<duet::tcp_stream>> (*null_pointer)() = nullptr;
  CHECK_FALSE(static_cast<bool>(duet::connect_function<duet::tcp_stream>(null_pointer)));
  CHECK_FALSE(static_cast<bool>(duet::connect_function<duet::tcp_stream>(nullptr)));

  duet::event_loop loop;
  duet::reconnect_options<duet::tcp_stream> empty;
  CHECK_THROWS_AS(duet::client<duet::tcp_stream>(loop, empty), std::invalid_argument);
}

TEST_CASE("a backoff grows by its multiplier up to its cap, within its jitter", "[rpc][reconnect]") {
  duet::reconnect_backoff b;
  b.initial = 100ms;
  b.max = 1s;
  b.multiplier = 2.0;
  b.jitter = 0.25;
  using ms = std::chrono::duration<double, std::milli>;
  CHECK(ms(b.delay(1, 0.5)).count() == Approx(100.0));
  CHECK(ms(b.delay(2, 0.5)).count() == Approx(200.0));
  CHECK(ms(b.delay(4, 0.5)).count() == Approx(800.0));
  CHECK(ms(b.delay(5, 0.5)).count() == Approx(1000.0));
  CHECK(ms(b.delay(1000, 0.5)).count() == Approx(1000.0));
  CHECK(ms(b.delay(1, 0.0)).count() == Approx(75.0));
  CHECK(ms(b.delay(1, 0.999999)).count() == Approx(125.0).epsilon(0.001));
}

TEST_CASE("a reconnecting client fails calls while its server is away and succeeds once it is back on the same port",
          "[rpc][reconnect]") {
  duet::event_loop loop;
  duet::router router;
  router.on(add, [](int a, int b) { return a + b; });
  int held_runs = 0;
  router.on(held, [&](duet::call_context& ctx, int x) -> duet::task<int> {
    ++held_runs;
    (void)co_await ctx.loop().sleep_for(10s, ctx.stop_token());
    co_return x;
  });

  loop.block_on([&]() -> duet::task<void> {
    auto first_listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    const duet::endpoint where = first_listener.local_endpoint();
    duet::server first(loop, router);
    duet::async_scope first_serving;
    first_serving.spawn(first.serve(std::move(first_listener)));

    duet::reconnect_options<duet::tcp_stream> how;
    how.connect = duet::connect_to<duet::tcp_stream>(loop, where, 1000ms);
    how.backoff = quick_backoff();
    duet::client<duet::tcp_stream> c(loop, std::move(how));
    const bool up = co_await c.wait_connected(2s);
    REQUIRE(up);
    const int sum = co_await c.call(add, 1, 2);
    CHECK(sum == 3);

    // The server goes away with a call pending: the call ends with
    // unavailable, and so do calls made while it is away.
    auto pending = [&]() -> duet::task<void> {
      duet::result<int> r = co_await c.try_call(held, 7);
      CHECK(r.code() == duet::status_code::unavailable);
    };
    auto stopper = [&]() -> duet::task<void> {
      for (int i = 0; i < 1000 && held_runs == 0; ++i) co_await loop.schedule();
      first.stop();
      co_await first_serving.join();
    };
    co_await duet::when_all(pending(), stopper());
    CHECK(held_runs == 1);
    duet::result<int> while_away = co_await c.try_call(add, 2, 2);
    CHECK(while_away.code() == duet::status_code::unavailable);
    const bool up_while_away = co_await c.wait_connected(30ms);
    CHECK_FALSE(up_while_away);

    // The server comes back on the same port; the client finds it.
    auto second_listener = duet::tcp_listener::listen(loop, where);
    duet::server second(loop, router);
    duet::async_scope second_serving;
    second_serving.spawn(second.serve(std::move(second_listener)));
    const bool back = co_await c.wait_connected(2s);
    REQUIRE(back);
    duet::result<int> later = co_await c.try_call(add, 20, 22);
    REQUIRE(later.has_value());
    CHECK(*later == 42);
    CHECK(c.connections_made() == 2);
    CHECK(held_runs == 1);  // the pending call was never sent again

    co_await c.close();
    CHECK_FALSE(c.is_open());
    second.stop();
    co_await second_serving.join();
  }());
}

TEST_CASE("after a goaway a reconnecting client sends new calls on a fresh connection while the old one finishes",
          "[rpc][reconnect][drain]") {
  duet::event_loop loop;
  gate g(loop);
  duet::router router_a;
  router_a.on(who, [] { return std::string("a"); });
  duet::async_event arrived;
  router_a.on(held, [&](int x) -> duet::task<int> {
    arrived.set();
    co_await g;
    co_return 2 * x;
  });
  duet::router router_b;
  router_b.on(who, [] { return std::string("b"); });

  loop.block_on([&]() -> duet::task<void> {
    auto listener_a = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    auto listener_b = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    const duet::endpoint where_a = listener_a.local_endpoint();
    const duet::endpoint where_b = listener_b.local_endpoint();
    duet::server server_a(loop, router_a);
    duet::server server_b(loop, router_b);
    duet::async_scope serving;
    serving.spawn(server_a.serve(std::move(listener_a)));
    serving.spawn(server_b.serve(std::move(listener_b)));

    // The first connection goes to a, every later one to b (think of a
    // load balancer that moved the service).
    int attempts = 0;
    duet::reconnect_options<duet::tcp_stream> how;
    how.connect = [&]() {
      ++attempts;
      return duet::connect_to<duet::tcp_stream>(loop, attempts == 1 ? where_a : where_b, 1000ms)();
    };
    how.backoff = quick_backoff();
    duet::client<duet::tcp_stream> c(loop, std::move(how));
    const bool up = co_await c.wait_connected(2s);
    REQUIRE(up);
    const std::string first = co_await c.call(who);
    CHECK(first == "a");

    // A call in flight on a when a drains: it completes with its value
    // (its response comes after the goaway).
    auto in_flight = [&]() -> duet::task<void> {
      duet::result<int> r = co_await c.try_call(held, 21);
      REQUIRE(r.has_value());
      CHECK(*r == 42);
    };
    co_await duet::when_all(in_flight(), drain_then_open(loop, server_a, g, arrived));

    const bool again = co_await c.wait_connected(2s);
    REQUIRE(again);
    const std::string second = co_await c.call(who);
    CHECK(second == "b");
    CHECK(c.connections_made() == 2);

    co_await c.close();
    server_b.stop();
    co_await serving.join();
    CHECK(server_a.connection_count() == 0);
  }());
}

TEST_CASE("a reconnecting client whose server never comes fails calls at once and closes promptly",
          "[rpc][reconnect]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto probe = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    const duet::endpoint nowhere = probe.local_endpoint();
    probe.close();  // nothing listens there now

    duet::reconnect_options<duet::tcp_stream> how;
    how.connect = duet::connect_to<duet::tcp_stream>(loop, nowhere, 1000ms);
    how.backoff = quick_backoff();
    duet::client<duet::tcp_stream> c(loop, std::move(how));
    const auto began = duet::clock::now();
    duet::result<int> r = co_await c.try_call(add, 1, 2);
    CHECK(r.code() == duet::status_code::unavailable);
    CHECK(duet::clock::now() - began < 100ms);  // failed fast, did not wait for a connection
    const bool up = co_await c.wait_connected(60ms);
    CHECK_FALSE(up);
    CHECK(c.connections_made() == 0);
    CHECK(c.notify(add, 1, 2).code() == duet::status_code::unavailable);
    co_await c.close();
    CHECK(duet::clock::now() - began < 1s);
  }());
}

}  // namespace reconnect_test
