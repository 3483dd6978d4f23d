// Graceful drain: a server asked to stop gracefully sends goaway, refuses
// what arrives afterwards with unavailable, and lets what runs finish.
#include "rig.hpp"
#include "support/gate.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <coroutine>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace drain_test {

using namespace rig_methods;
using namespace std::chrono_literals;

namespace {

inline constexpr duet::method<"drain.held", int(int)> held;

using duet_test::gate;

// Serves `held`: counts arrivals, sets `all_arrived` at the `expected`-th,
// waits at the gate, then answers twice its argument.
struct held_service {
  explicit held_service(duet::event_loop& l) : loop(l), g(l) {}
  duet::event_loop& loop;
  gate g;
  duet::async_event all_arrived;
  int expected = 0;
  int arrived = 0;
  int finished = 0;

  void serve_on(duet::router& router) {
    router.on(held, [this](int x) -> duet::task<int> {
      if (++arrived == expected) all_arrived.set();
      co_await g;
      ++finished;
      co_return 2 * x;
    });
  }
};

duet::task<duet::client<duet::tcp_stream>> connect_tcp(duet::event_loop& loop, const duet::endpoint& where) {
  auto stream = co_await duet::tcp_stream::connect(loop, where, 2000ms);
  REQUIRE(stream.has_value());
  co_return duet::client<duet::tcp_stream>(loop, std::move(*stream));
}

duet::task<void> drain_then_open(duet::server& server, held_service& service, duet::duration grace) {
  co_await service.all_arrived;
  server.drain(grace);
  // The handlers finish only after the drain began.
  co_await service.loop.schedule();
  service.g.open();
}

// A raw peer's view of the frames it receives.
struct received_frame {
  duet::frame_header header{};
  std::vector<std::byte> payload;
};

struct raw_reader {
  duet::memory_stream& stream;
  duet::frame_decoder decoder{};

  // The next frame, or nothing at the end of the stream.
  duet::task<std::optional<received_frame>> next() {
    for (int reads = 0; reads < 1000; ++reads) {
      duet::frame_view view{};
      if (decoder.next(view) == duet::decode_status::frame) {
        received_frame f;
        f.header = view.header;
        f.payload.assign(view.payload.begin(), view.payload.end());
        co_return f;
      }
      const duet::mutable_buffer room = decoder.prepare(4096);
      const duet::io_result got = co_await stream.read_some(room);
      if (got.error || got.bytes == 0) co_return std::nullopt;
      decoder.commit(got.bytes);
    }
    co_return std::nullopt;
  }
};

duet::byte_vector request_frame(std::uint32_t id, std::uint32_t method, int argument) {
  duet::byte_vector payload;
  duet::byte_writer writer(payload);
  duet::encode(writer, argument);
  duet::byte_vector out;
  duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, 0, 0, id, method, 0, 0}, {}, payload);
  return out;
}

duet::task<void> send(duet::memory_stream& stream, const duet::byte_vector& data) {
  const duet::const_buffer piece(data);
  const duet::io_result r = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  REQUIRE_FALSE(r.error);
}

}  // namespace

TEST_CASE("calls in flight when a server drains all complete with their values over TCP", "[rpc][drain]") {
  duet::event_loop loop;
  duet::router router;
  held_service service(loop);
  constexpr int calls = 40;
  service.expected = calls;
  service.serve_on(router);
  router.on(add, [](int a, int b) { return a + b; });
  duet::server server(loop, router);

  loop.block_on([&]() -> duet::task<void> {
    auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
    const duet::endpoint where = listener.local_endpoint();
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));

    auto busy = co_await connect_tcp(loop, where);
    auto idle = co_await connect_tcp(loop, where);
    const int sum = co_await idle.call(add, 1, 2);
    REQUIRE(sum == 3);

    const auto began = duet::clock::now();
    std::vector<duet::task<duet::result<int>>> in_flight;
    for (int i = 0; i < calls; ++i) in_flight.push_back(busy.try_call(held, i));
    auto results = duet::when_all(std::move(in_flight));
    auto both = co_await duet::when_all(std::move(results), drain_then_open(server, service, 5s));
    const std::vector<duet::result<int>>& answers = std::get<0>(both);
    for (int i = 0; i < calls; ++i) {
      const duet::result<int>& r = answers[static_cast<std::size_t>(i)];
      REQUIRE(r.has_value());
      CHECK(*r == 2 * i);
    }
    CHECK(service.finished == calls);

    // The goaway came before the responses: no new call goes out on this
    // connection; it fails at once.
    CHECK_FALSE(busy.is_open());
    duet::result<int> late = co_await busy.try_call(add, 1, 1);
    CHECK(late.code() == duet::status_code::unavailable);

    // Every connection closes once it has nothing in flight, long before
    // the grace period ends; the listener is closed.
    co_await serving.join();
    CHECK(server.connection_count() == 0);
    CHECK(duet::clock::now() - began < 2s);
    CHECK_FALSE(idle.is_open());
    CHECK(idle.end_status().code() == duet::status_code::unavailable);
    auto refused = co_await duet::tcp_stream::connect(loop, where, 2000ms);
    CHECK_FALSE(refused.has_value());
    co_await busy.close();
    co_await idle.close();
  }());
}

TEST_CASE("a request that reaches a draining server is answered unavailable and not run", "[rpc][drain]") {
  rig r;
  held_service service(r.loop);
  service.expected = 1;
  service.serve_on(r.router);
  r.run([&]() -> duet::task<void> {
    auto [near_end, far_end] = duet::make_memory_pair(r.loop);
    r.connections.spawn(r.server.serve_connection(std::move(far_end)));
    duet::byte_vector first;
    duet::encode_hello(first, duet::hello_message{});
    const duet::byte_vector request = request_frame(1, held.id, 21);
    first.insert(first.end(), request.begin(), request.end());
    co_await send(near_end, first);
    co_await service.all_arrived;
    r.server.drain(5s);

    raw_reader reader{near_end};
    std::optional<received_frame> hello = co_await reader.next();
    REQUIRE(hello);
    CHECK(hello->header.kind == duet::frame_kind::hello);
    std::optional<received_frame> goaway = co_await reader.next();
    REQUIRE(goaway);
    CHECK(goaway->header.kind == duet::frame_kind::goaway);
    CHECK(goaway->header.status == 0);

    // This peer ignores the goaway and sends another request.
    co_await send(near_end, request_frame(2, held.id, 5));
    std::optional<received_frame> refused = co_await reader.next();
    REQUIRE(refused);
    CHECK(refused->header.kind == duet::frame_kind::response);
    CHECK(refused->header.id == 2);
    CHECK(refused->header.status == static_cast<std::uint16_t>(duet::status_code::unavailable));
    CHECK(service.arrived == 1);

    // The request that was running finishes and its answer leaves; then the
    // server closes the connection.
    service.g.open();
    std::optional<received_frame> answer = co_await reader.next();
    REQUIRE(answer);
    CHECK(answer->header.id == 1);
    CHECK(answer->header.status == 0);
    int doubled = 0;
    CHECK(duet::decode_all(duet::const_buffer(answer->payload), doubled));
    CHECK(doubled == 42);
    std::optional<received_frame> after = co_await reader.next();
    CHECK_FALSE(after);
    near_end.close();
  });
}

TEST_CASE("a handler still running when the drain's grace period ends is stopped and its caller gets unavailable",
          "[rpc][drain]") {
  rig r;
  duet::async_event arrived;
  bool handler_saw_stop = false;
  r.router.on(held, [&](duet::call_context& ctx, int x) -> duet::task<int> {
    arrived.set();
    const bool slept = co_await ctx.loop().sleep_for(10s, ctx.stop_token());
    handler_saw_stop = !slept;
    co_return x;
  });
  auto c = r.connect();
  r.run([&]() -> duet::task<void> {
    const auto began = duet::clock::now();
    auto call = [&]() -> duet::task<void> {
      duet::result<int> result = co_await c.try_call(held, 1);
      CHECK(result.code() == duet::status_code::unavailable);
    };
    auto drainer = [&]() -> duet::task<void> {
      co_await arrived;
      r.server.drain(50ms);
    };
    co_await duet::when_all(call(), drainer());
    co_await r.connections.join();
    const auto took = duet::clock::now() - began;
    CHECK(took >= 40ms);
    CHECK(took < 2s);
    CHECK(handler_saw_stop);
    co_await c.close();
  });
}

TEST_CASE("calls waiting for room when goaway arrives end with unavailable and are never sent", "[rpc][drain]") {
  rig r;
  held_service service(r.loop);
  service.expected = 2;
  service.serve_on(r.router);
  duet::session_options one_at_a_time;
  one_at_a_time.max_in_flight = 2;
  auto c = r.connect(one_at_a_time);
  r.run([&]() -> duet::task<void> {
    auto admitted = [&](int x) -> duet::task<void> {
      duet::result<int> result = co_await c.try_call(held, x);
      REQUIRE(result.has_value());
      CHECK(*result == 2 * x);
    };
    auto queued = [&]() -> duet::task<void> {
      duet::result<int> result = co_await c.try_call(held, 100);
      CHECK(result.code() == duet::status_code::unavailable);
    };
    co_await duet::when_all(admitted(1), admitted(2), queued(), drain_then_open(r.server, service, 5s));
    CHECK(service.arrived == 2);
    co_await c.close();
  });
}

}  // namespace drain_test
