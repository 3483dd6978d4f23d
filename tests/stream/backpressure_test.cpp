// Credit at work over a real connection: a slow consumer holds its producer
// to the window, and a stalled stream holds back nothing else.
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

using namespace stream_methods;
using namespace std::chrono_literals;

TEST_CASE("a slow consumer keeps its producer within the window it announced", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    duet::session_options options;
    options.stream_window = 8;
    auto client = r.connect(options);
    auto s = co_await client.open(endless, 0);
    std::uint64_t received = 0;
    std::uint64_t most_ahead = 0;
    for (int i = 0; i < 60; ++i) {
      std::optional<std::uint64_t> v = co_await s.next();
      REQUIRE(v.has_value());
      CHECK(*v == received);
      ++received;
      // The consumer sleeps per message; meanwhile the producer sends all it may.
      co_await r.loop.sleep_for(1ms);
      most_ahead = std::max(most_ahead, log.sent - received);
      REQUIRE(log.sent - received <= 8);
    }
    // It did run ahead, as far as the credit let it.
    CHECK(most_ahead >= 4);
    s.cancel();
    co_await client.close();
  });
}

TEST_CASE("unary calls and other streams complete beside a stalled stream", "[stream]") {
  rig r;
  endless_log log;
  serve_stream_methods(r.router, &log);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    // Opened and never read: its producer runs out of credit and waits.
    auto stalled = co_await client.open(endless, 0);
    for (int turns = 0; turns < 1000 && log.sent < duet::default_stream_window; ++turns) co_await r.loop.schedule();
    CHECK(log.sent == duet::default_stream_window);
    for (int i = 0; i < 1000; ++i) {
      const int got = co_await client.call(add, i, 1);
      REQUIRE(got == i + 1);
    }
    auto other = co_await client.open(count, 500);
    std::uint64_t n = 0;
    for (;;) {
      std::optional<std::uint64_t> v = co_await other.next();
      if (!v) break;
      ++n;
    }
    CHECK(n == 500);
    CHECK(log.sent == duet::default_stream_window);  // still held back
    stalled.cancel();
    co_await client.close();
  });
}

TEST_CASE("streams waiting for credit never pause the server's reader, even at its cap", "[stream]") {
  // Two streams on a server that runs at most two requests at once: if
  // their handlers, waiting for credit, counted as running requests, the
  // reader would pause and never route the credit that frees them.
  duet::server_options options;
  options.session.max_in_flight = 2;
  rig r(options);
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    auto a = co_await client.open(count, 1000);
    auto b = co_await client.open(count, 1000);
    for (int turns = 0; turns < 100; ++turns) co_await r.loop.schedule();  // both producers run dry
    std::uint64_t got = 0;
    for (int i = 0; i < 1000; ++i) {
      std::optional<std::uint64_t> va = co_await a.next();
      std::optional<std::uint64_t> vb = co_await b.next();
      if (va && vb && *va == *vb) ++got;
    }
    CHECK(got == 1000);
    duet::result<void> ea = co_await a.finish();
    duet::result<void> eb = co_await b.finish();
    CHECK(ea.has_value());
    CHECK(eb.has_value());
    co_await client.close();
  });
}
