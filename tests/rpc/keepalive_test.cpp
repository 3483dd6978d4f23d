// Keepalive: a session that hears nothing from its peer pings it, and ends
// with unavailable when not even a pong comes back in time.
#include "rig.hpp"

#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

namespace keepalive_test {

using namespace rig_methods;
using namespace std::chrono_literals;

namespace {

duet::session_options keepalive(duet::duration interval, duet::duration timeout) {
  duet::session_options o;
  o.keepalive_interval = interval;
  o.keepalive_timeout = timeout;
  return o;
}

template <class Stream>
duet::task<void> send_hello(Stream& stream) {
  duet::byte_vector hello;
  duet::encode_hello(hello, duet::hello_message{});
  const duet::const_buffer piece(hello);
  const duet::io_result r = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(r.error);
}

// Accepts one connection, says hello, and then never reads or answers.
duet::task<void> mute_server(duet::tcp_listener& listener, std::optional<duet::tcp_stream>& kept) {
  auto accepted = co_await listener.accept();
  REQUIRE(accepted.has_value());
  kept.emplace(std::move(*accepted));
  co_await send_hello(*kept);
}

duet::task<duet::result<int>> call_over_tcp(duet::event_loop& loop, const duet::endpoint& where,
                                            duet::session_options options, std::string& why) {
  auto stream = co_await duet::tcp_stream::connect(loop, where, 2000ms);
  REQUIRE(stream.has_value());
  duet::client<duet::tcp_stream> c(loop, std::move(*stream), options);
  duet::call_options bounded;
  bounded.timeout = 2s;  // should the keepalive not work, the test fails instead of hanging
  duet::result<int> r = co_await c.try_call(bounded, add, 1, 2);
  why = std::string(c.end_status().message());
  co_await c.close();
  co_return r;
}

}  // namespace

TEST_CASE("a peer that stops answering is found dead by the keepalive and pending calls end with unavailable",
          "[rpc][keepalive]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    std::optional<duet::tcp_stream> kept;
    std::string why;
    const auto began = duet::clock::now();
    auto outcome = co_await duet::when_all(call_over_tcp(loop, listener.local_endpoint(), keepalive(20ms, 40ms), why),
                                           mute_server(listener, kept));
    const auto took = duet::clock::now() - began;
    const duet::result<int>& r = std::get<0>(outcome);
    CHECK(r.code() == duet::status_code::unavailable);
    CHECK(why.find("keepalive") != std::string::npos);
    CHECK(took >= 55ms);  // at least one interval of quiet and the timeout
    CHECK(took < 1s);
    if (kept) kept->close();
    listener.close();
  }());
}

TEST_CASE("without keepalive a call to a mute peer waits for its own deadline", "[rpc][keepalive]") {
  duet::event_loop loop;
  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    std::optional<duet::tcp_stream> kept;
    auto caller = [&]() -> duet::task<void> {
      auto stream = co_await duet::tcp_stream::connect(loop, listener.local_endpoint(), 2000ms);
      REQUIRE(stream.has_value());
      duet::client<duet::tcp_stream> c(loop, std::move(*stream));
      duet::call_options o;
      o.timeout = 100ms;
      duet::result<int> r = co_await c.try_call(o, add, 1, 2);
      CHECK(r.code() == duet::status_code::deadline_exceeded);
      CHECK(c.is_open());
      CHECK(c.underlying_session().pings_sent() == 0);
      co_await c.close();
    };
    co_await duet::when_all(caller(), mute_server(listener, kept));
    if (kept) kept->close();
    listener.close();
  }());
}

TEST_CASE("a healthy idle connection with keepalive survives many keepalive periods", "[rpc][keepalive]") {
  duet::event_loop loop;
  duet::router router;
  router.on(add, [](int a, int b) { return a + b; });
  duet::server_options server_side;
  server_side.session = keepalive(15ms, 50ms);  // both sides ping
  duet::server server(loop, router, server_side);
  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    const duet::endpoint where = listener.local_endpoint();
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    auto stream = co_await duet::tcp_stream::connect(loop, where, 2000ms);
    REQUIRE(stream.has_value());
    duet::client<duet::tcp_stream> c(loop, std::move(*stream), keepalive(10ms, 30ms));
    const int first = co_await c.call(add, 1, 2);
    CHECK(first == 3);
    const bool slept = co_await loop.sleep_for(200ms);  // this test is about time: 20 keepalive intervals
    CHECK(slept);
    CHECK(c.is_open());
    CHECK(c.underlying_session().pings_sent() >= 3);
    CHECK(server.connection_count() == 1);
    const int second = co_await c.call(add, 2, 3);
    CHECK(second == 5);
    co_await c.close();
    server.stop();
    co_await serving.join();
  }());
}

TEST_CASE("a server with keepalive drops a client that stopped reading and answering", "[rpc][keepalive]") {
  duet::server_options options;
  options.session = keepalive(20ms, 40ms);
  rig r(options);
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    co_await send_hello(near_end);  // and then nothing: never reads, never answers a ping
    const auto began = duet::clock::now();
    std::stop_source done;
    auto watchdog = [&]() -> duet::task<void> {
      // Should the keepalive not work, the test fails instead of hanging.
      if (co_await r.loop.sleep_for(2s, done.get_token())) r.server.stop();
    };
    auto serve = [&]() -> duet::task<void> {
      co_await r.server.serve_connection(std::move(far_end));
      done.request_stop();
    };
    co_await duet::when_all(serve(), watchdog());
    const auto took = duet::clock::now() - began;
    CHECK(took >= 55ms);
    CHECK(took < 1s);
    CHECK(r.server.connection_count() == 0);
    near_end.close();
  });
}

}  // namespace keepalive_test
