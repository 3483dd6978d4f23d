// A client that floods a connection with requests cannot make the server
// hold unbounded memory for it, nor starve the server's other clients: past
// `max_in_flight` running requests or `max_queued_response_bytes` of answers
// waiting for the writer, the server stops reading that connection (or, by
// option, answers the requests over the caps with resource_exhausted).
//
// The flooding clients speak the wire protocol by hand over a real TCP
// socket, so that they can ignore the limits the server announces in its
// hello (a duet client honours them) and never read the answers.
#include "rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stop_token>
#include <vector>

namespace backpressure_test {

using namespace rig_methods;

namespace {

constexpr duet::method<"flood.blob", std::vector<std::byte>(int)> blob;  // answers `size` bytes
constexpr duet::method<"flood.hold", int(int)> hold;                      // answers when released

constexpr std::size_t blob_size = 64 * 1024;

/// A peer that speaks the protocol by hand: it says hello, writes requests
/// in bulk and reads answers only when told to.
struct raw_peer {
  duet::tcp_stream stream;
  duet::frame_decoder decoder;

  duet::task<void> send(const duet::byte_vector& bytes) {
    const duet::const_buffer piece(bytes);
    const duet::io_result wrote = co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
    REQUIRE_FALSE(wrote.error);
  }

  /// Writes `bytes`, which may never be taken in full (the server stops
  /// reading): the write ends with an error when the stream is closed.
  duet::task<void> send_until_closed(duet::byte_vector bytes) {
    const duet::const_buffer piece(bytes);
    (void)co_await stream.write(std::span<const duet::const_buffer>(&piece, 1));
  }

  /// The next frame that is not the server's hello.
  duet::task<duet::frame_header> next_answer() {
    for (int reads = 0; reads < 100000; ++reads) {
      duet::frame_view f;
      while (decoder.next(f) == duet::decode_status::frame) {
        if (f.header.kind != duet::frame_kind::hello) co_return f.header;
      }
      const duet::io_result got = co_await stream.read_some(decoder.prepare());
      REQUIRE_FALSE(got.error);
      REQUIRE(got.bytes > 0);
      decoder.commit(got.bytes);
    }
    FAIL("no answer arrived");
    co_return duet::frame_header{};
  }
};

/// A hello then `count` requests of `m`, ids 1 to count, each with argument `argument`.
template <class Method>
duet::byte_vector flood_of(const Method& m, int count, int argument) {
  duet::byte_vector out;
  duet::encode_hello(out, duet::hello_message{});
  duet::byte_vector payload;
  for (int i = 1; i <= count; ++i) {
    payload.clear();
    duet::byte_writer w(payload);
    duet::encode(w, argument);
    duet::encode_frame(out,
                       duet::frame_header{duet::frame_kind::request, 0, 0, static_cast<std::uint32_t>(i), m.id, 0, 0},
                       {}, payload);
  }
  return out;
}

duet::task<raw_peer> connect_raw(duet::event_loop& loop, const duet::endpoint& where) {
  auto stream = co_await duet::tcp_stream::connect(loop, where);
  REQUIRE(stream.has_value());
  co_return raw_peer{std::move(*stream), duet::frame_decoder{}};
}

duet::task<duet::client<duet::tcp_stream>> connect_client(duet::event_loop& loop, const duet::endpoint& where) {
  auto stream = co_await duet::tcp_stream::connect(loop, where);
  REQUIRE(stream.has_value());
  co_return duet::client<duet::tcp_stream>(loop, std::move(*stream));
}

/// Handlers of `hold` wait until `release` is stopped, counting how many
/// run at once.
struct held_requests {
  std::stop_source release;
  int started = 0;
  int running = 0;
  int most_running = 0;
  int wanted = 0;  // `arrived` is set once this many have started
  duet::async_event arrived;
};

void serve_hold(duet::router& router, duet::event_loop& loop, held_requests& h) {
  router.on(hold, [&h, &loop](int x) -> duet::task<int> {
    ++h.started;
    h.most_running = std::max(h.most_running, ++h.running);
    if (h.started == h.wanted) h.arrived.set();
    (void)co_await loop.sleep_for(std::chrono::seconds(5), h.release.get_token());
    --h.running;
    co_return x;
  });
  router.on(add, [](int a, int b) { return a + b; });
}

duet::task<int> sum_of_calls(duet::client<duet::tcp_stream>& c, int calls) {
  int total = 0;
  for (int i = 0; i < calls; ++i) total += co_await c.call(add, i, 1);
  co_return total;
}

}  // namespace

TEST_CASE("a client that floods requests and never reads the answers cannot grow the server's queue past its cap, and "
          "another client is served meanwhile",
          "[rpc][backpressure]") {
  constexpr std::size_t cap = 256 * 1024;
  constexpr int flood = 4000;  // 250 MiB of answers, were they all encoded
  duet::event_loop loop;
  duet::router router;
  int served = 0;
  duet::async_event busy;
  router.on(blob, [&](int size) {
    if (++served == 8) busy.set();
    return std::vector<std::byte>(static_cast<std::size_t>(size));
  });
  router.on(add, [](int a, int b) { return a + b; });
  duet::server_options options;
  options.session.max_queued_response_bytes = cap;
  duet::server server(loop, router, options);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  int sum = 0;
  int served_while_flooded = 0;
  std::size_t peak = 0;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    raw_peer flooder = co_await connect_raw(loop, where);
    duet::async_scope flooding;
    flooding.spawn(flooder.send_until_closed(flood_of(blob, flood, static_cast<int>(blob_size))));
    co_await busy;
    auto polite = co_await connect_client(loop, where);
    sum = co_await sum_of_calls(polite, 100);
    served_while_flooded = served;
    peak = server.peak_queued_response_bytes();
    co_await polite.close();
    flooder.stream.close();
    co_await flooding.join();
    server.stop();
    co_await serving.join();
  }());
  CHECK(sum == 100 * 99 / 2 + 100);
  CHECK(served_while_flooded < flood);
  CHECK(peak >= cap);  // the cap was reached...
  CHECK(peak < cap + blob_size + 64);  // ...and passed by one answer at most
}

TEST_CASE("past max_in_flight running requests the server stops reading the connection until one finishes",
          "[rpc][backpressure]") {
  constexpr int flood = 100;
  duet::event_loop loop;
  duet::router router;
  held_requests h;
  h.wanted = 4;
  serve_hold(router, loop, h);
  duet::server_options options;
  options.session.max_in_flight = 4;
  duet::server server(loop, router, options);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  int started_while_held = 0;
  int sum = 0;
  std::vector<int> answered(flood + 1, 0);
  int ok = 0;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    raw_peer flooder = co_await connect_raw(loop, where);
    co_await flooder.send(flood_of(hold, flood, 7));
    co_await h.arrived;
    // Another connection is served while this one is held.
    auto polite = co_await connect_client(loop, where);
    sum = co_await sum_of_calls(polite, 10);
    started_while_held = h.started;
    h.release.request_stop();
    for (int i = 0; i < flood; ++i) {
      const duet::frame_header answer = co_await flooder.next_answer();
      REQUIRE(answer.id >= 1);
      REQUIRE(answer.id <= flood);
      ++answered[answer.id];
      if (answer.status == 0) ++ok;
    }
    co_await polite.close();
    flooder.stream.close();
    server.stop();
    co_await serving.join();
  }());
  CHECK(started_while_held == 4);
  CHECK(sum == 10 * 9 / 2 + 10);
  CHECK(h.most_running == 4);
  CHECK(h.started == flood);
  CHECK(ok == flood);
  CHECK(std::all_of(answered.begin() + 1, answered.end(), [](int n) { return n == 1; }));
}

TEST_CASE("with overload_action::reject, requests past max_in_flight are answered resource_exhausted without running",
          "[rpc][backpressure]") {
  constexpr int flood = 100;
  duet::event_loop loop;
  duet::router router;
  held_requests h;
  h.wanted = 4;
  serve_hold(router, loop, h);
  duet::server_options options;
  options.session.max_in_flight = 4;
  options.session.on_overload = duet::overload_action::reject;
  duet::server server(loop, router, options);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  int exhausted_before_release = 0;
  int ok_after_release = 0;
  std::uint64_t rejected = 0;
  std::vector<int> answered(flood + 1, 0);
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    raw_peer flooder = co_await connect_raw(loop, where);
    co_await flooder.send(flood_of(hold, flood, 7));
    // The requests over the cap are answered while the first four still run.
    for (int i = 0; i < flood - 4; ++i) {
      const duet::frame_header answer = co_await flooder.next_answer();
      REQUIRE(answer.id >= 1);
      REQUIRE(answer.id <= flood);
      ++answered[answer.id];
      if (answer.status == static_cast<std::uint16_t>(duet::status_code::resource_exhausted)) ++exhausted_before_release;
    }
    rejected = server.rejected_requests();
    h.release.request_stop();
    for (int i = 0; i < 4; ++i) {
      const duet::frame_header answer = co_await flooder.next_answer();
      REQUIRE(answer.id >= 1);
      REQUIRE(answer.id <= flood);
      ++answered[answer.id];
      if (answer.status == 0) ++ok_after_release;
    }
    flooder.stream.close();
    server.stop();
    co_await serving.join();
  }());
  CHECK(exhausted_before_release == flood - 4);
  CHECK(ok_after_release == 4);
  CHECK(h.started == 4);
  CHECK(rejected == flood - 4);
  CHECK(std::all_of(answered.begin() + 1, answered.end(), [](int n) { return n == 1; }));
}

TEST_CASE("with overload_action::reject, requests past the queued-answer cap are answered resource_exhausted",
          "[rpc][backpressure]") {
  constexpr std::size_t cap = 256 * 1024;
  constexpr int flood = 2000;
  duet::event_loop loop;
  duet::router router;
  int served = 0;
  router.on(blob, [&](int size) {
    ++served;
    return std::vector<std::byte>(static_cast<std::size_t>(size));
  });
  duet::server_options options;
  options.session.max_queued_response_bytes = cap;
  options.session.on_overload = duet::overload_action::reject;
  duet::server server(loop, router, options);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  int ok = 0;
  int exhausted = 0;
  std::vector<int> answered(flood + 1, 0);
  std::size_t peak = 0;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    raw_peer flooder = co_await connect_raw(loop, where);
    co_await flooder.send(flood_of(blob, flood, static_cast<int>(blob_size)));
    for (int i = 0; i < flood; ++i) {
      const duet::frame_header answer = co_await flooder.next_answer();
      REQUIRE(answer.id >= 1);
      REQUIRE(answer.id <= flood);
      ++answered[answer.id];
      if (answer.status == 0) ++ok;
      if (answer.status == static_cast<std::uint16_t>(duet::status_code::resource_exhausted)) ++exhausted;
    }
    peak = server.peak_queued_response_bytes();
    flooder.stream.close();
    server.stop();
    co_await serving.join();
  }());
  CHECK(ok == served);
  CHECK(ok + exhausted == flood);
  CHECK(exhausted > 0);
  CHECK(peak < 2 * cap + blob_size + 64);
  CHECK(std::all_of(answered.begin() + 1, answered.end(), [](int n) { return n == 1; }));
}

TEST_CASE("past max_in_flight, requests that arrive wait their turn and run in order, while pings are still answered",
          "[rpc][backpressure]") {
  duet::event_loop loop;
  duet::router router;
  held_requests h;
  h.wanted = 2;
  serve_hold(router, loop, h);
  duet::server_options options;
  options.session.max_in_flight = 2;
  duet::server server(loop, router, options);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  duet::frame_header first_answer{};
  std::vector<std::uint32_t> order;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    raw_peer peer = co_await connect_raw(loop, where);
    // Two held requests fill the cap; two adds (ids 3 and 4) then wait behind them.
    duet::byte_vector out = flood_of(hold, 2, 7);
    duet::byte_vector payload;
    for (std::uint32_t id = 3; id <= 4; ++id) {
      payload.clear();
      duet::byte_writer w(payload);
      duet::encode(w, 1, 2);
      duet::encode_frame(out, duet::frame_header{duet::frame_kind::request, 0, 0, id, add.id, 0, 0}, {}, payload);
    }
    duet::encode_frame(out, duet::frame_header{duet::frame_kind::ping, 0, 0, 99, 0, 0, 0}, {}, {});
    co_await peer.send(out);
    co_await h.arrived;
    first_answer = co_await peer.next_answer();  // the pong: nothing else can be answered yet
    h.release.request_stop();
    for (int i = 0; i < 4; ++i) {
      const duet::frame_header answer = co_await peer.next_answer();
      order.push_back(answer.id);
    }
    peer.stream.close();
    server.stop();
    co_await serving.join();
  }());
  CHECK(first_answer.kind == duet::frame_kind::pong);
  CHECK(first_answer.id == 99);
  CHECK(h.most_running == 2);
  REQUIRE(order.size() == 4);
  // The adds ran in arrival order once a released request freed a slot.
  const auto at3 = std::find(order.begin(), order.end(), 3u);
  const auto at4 = std::find(order.begin(), order.end(), 4u);
  CHECK(at3 < at4);
}

}  // namespace backpressure_test
