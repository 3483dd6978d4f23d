// Each kind of stream, end to end, over the in-memory transport and over
// TCP: messages arrive in order, then the final status (and a client
// stream's value).
#include "stream/stream_rig.hpp"

#include "rpc/rig.hpp"
#include "rpc/tcp_rig.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>

using namespace stream_methods;

namespace {

template <class Client>
duet::task<void> server_stream_delivers_in_order(Client& client, std::uint64_t n) {
  // Named through client_stream_of: the alias must be what open() yields.
  duet::client_stream_of<decltype(count)> s = co_await client.open(count, n);
  std::uint64_t expected = 0;
  bool in_order = true;
  for (;;) {
    std::optional<std::uint64_t> v = co_await s.next();
    if (!v) break;
    if (*v != expected) in_order = false;
    ++expected;
  }
  duet::result<void> end = co_await s.finish();
  CHECK(in_order);
  CHECK(expected == n);
  CHECK(end.has_value());
  CHECK(s.ended());
}

template <class Client>
duet::task<void> client_stream_gets_its_value(Client& client, std::uint64_t n) {
  duet::client_stream_of<decltype(sum)> s = co_await client.open(sum);
  for (std::uint64_t i = 1; i <= n; ++i) {
    const bool sent = co_await s.send(i);
    REQUIRE(sent);
  }
  duet::result<std::uint64_t> total = co_await s.finish();
  REQUIRE(total.has_value());
  CHECK(*total == n * (n + 1) / 2);
}

template <class Client>
duet::task<void> bidi_stream_echoes(Client& client, int n) {
  duet::client_stream_of<decltype(echo)> s = co_await client.open(echo);
  for (int i = 0; i < n; ++i) {
    const std::string message = "message number " + std::to_string(i);
    const bool sent = co_await s.send(message);
    REQUIRE(sent);
    std::optional<std::string> back = co_await s.next();
    REQUIRE(back.has_value());
    CHECK(*back == "echo " + message);
  }
  duet::result<void> end = co_await s.finish();
  CHECK(end.has_value());
}

// Runs `body(client)` once over the in-memory transport and once over TCP,
// each in a section of the calling test.
template <class Body>
void on_both_transports(Body body) {
  SECTION("in memory") {
    rig r;
    serve_stream_methods(r.router);
    r.run([&]() -> duet::task<void> {
      auto client = r.connect();
      co_await body(client);
      co_await client.close();
    });
  }
  SECTION("over TCP") {
    tcp_rig r;
    serve_stream_methods(r.router);
    r.run([&]() -> duet::task<void> {
      auto client = co_await r.connect();
      co_await body(client);
      co_await client.close();
    });
  }
}

}  // namespace

TEST_CASE("a server stream delivers every message in order, then ok, in memory and over TCP", "[stream]") {
  on_both_transports([](auto& client) -> duet::task<void> {
    co_await server_stream_delivers_in_order(client, 1000);
    co_await server_stream_delivers_in_order(client, 0);
  });
}

TEST_CASE("a client stream's messages reach the handler and its value comes back, in memory and over TCP",
          "[stream]") {
  on_both_transports([](auto& client) -> duet::task<void> {
    co_await client_stream_gets_its_value(client, 1000);
    co_await client_stream_gets_its_value(client, 0);
  });
}

TEST_CASE("a bidirectional stream carries messages both ways, in memory and over TCP", "[stream]") {
  on_both_transports([](auto& client) -> duet::task<void> { co_await bidi_stream_echoes(client, 200); });
}

TEST_CASE("many streams of every kind share one connection", "[stream]") {
  rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = r.connect();
    duet::async_scope scope;
    for (int i = 0; i < 20; ++i) {
      scope.spawn(server_stream_delivers_in_order(client, 300));
      scope.spawn(client_stream_gets_its_value(client, 300));
      scope.spawn(bidi_stream_echoes(client, 30));
    }
    co_await scope.join();
    co_await client.close();
  });
}

namespace {
void many_messages_in_order(std::uint64_t n) {
  tcp_rig r;
  serve_stream_methods(r.router);
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect();
    co_await server_stream_delivers_in_order(client, n);
    co_await client.close();
  });
}
}  // namespace

TEST_CASE("a hundred thousand messages of one stream arrive in order over TCP", "[stream]") {
  many_messages_in_order(100'000);
}

// About a second in an optimised build (several under the sanitizers):
// run it by name, `duet_stream_tests "[soak]"`.
TEST_CASE("soak: a million messages of one stream arrive in order over TCP", "[.][soak][stream]") {
  many_messages_in_order(1'000'000);
}
