// A call given a stop token ends at once with `cancelled` when stop is
// requested (on the loop's thread or any other), frees its slot, and tells
// the server with a cancel frame; the connection carries on.
#include "rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <span>
#include <stop_token>
#include <thread>
#include <vector>

namespace cancellation_test {

namespace {

constexpr duet::method<"cancel.hold", int(int)> hold;  // answered only when released
constexpr duet::method<"cancel.add", int(int, int)> add;

struct held_calls {
  duet::async_event arrived;
  duet::async_event release;
  int started = 0;
};

void serve(duet::router& router, held_calls& h) {
  router.on(hold, [&h](int x) -> duet::task<int> {
    ++h.started;
    h.arrived.set();
    co_await h.release;
    co_return x;
  });
  router.on(add, [](int a, int b) { return a + b; });
}

duet::call_options stoppable(const std::stop_source& source) {
  duet::call_options o;
  o.stop = source.get_token();
  return o;
}

}  // namespace

TEST_CASE("a stop request ends a pending call at once with cancelled and the connection carries on", "[rpc][cancel]") {
  rig r;
  held_calls h;
  serve(r.router, h);
  auto client = r.connect();
  duet::status_code held_code = duet::status_code::ok;
  int sum = 0;
  std::size_t in_flight_after = 99;
  r.run([&]() -> duet::task<void> {
    std::stop_source source;
    auto call = [&]() -> duet::task<void> {
      duet::result<int> got = co_await client.try_call(stoppable(source), hold, 1);
      held_code = got.code();
      in_flight_after = client.underlying_session().calls_in_flight();
    };
    auto stopper = [&]() -> duet::task<void> {
      co_await h.arrived;
      source.request_stop();
    };
    co_await duet::when_all(call(), stopper());
    sum = co_await client.call(add, 2, 3);
    h.release.set();  // the held handler ends; its answer is dropped by the client
    co_await client.close();
  });
  CHECK(held_code == duet::status_code::cancelled);
  CHECK(in_flight_after == 0);
  CHECK(sum == 5);
}

TEST_CASE("a stop requested on another thread ends the call", "[rpc][cancel]") {
  rig r;
  held_calls h;
  serve(r.router, h);
  auto client = r.connect();
  duet::status_code held_code = duet::status_code::ok;
  std::stop_source source;
  std::promise<void> handler_started;
  std::thread stopper([&source, started = handler_started.get_future()]() mutable {
    started.wait();
    source.request_stop();
  });
  r.run([&]() -> duet::task<void> {
    auto call = [&]() -> duet::task<void> {
      duet::result<int> got = co_await client.try_call(stoppable(source), hold, 1);
      held_code = got.code();
    };
    auto signal = [&]() -> duet::task<void> {
      co_await h.arrived;
      handler_started.set_value();
    };
    co_await duet::when_all(call(), signal());
    h.release.set();
    co_await client.close();
  });
  stopper.join();
  CHECK(held_code == duet::status_code::cancelled);
}

TEST_CASE("a call whose token is already stopped is not sent", "[rpc][cancel]") {
  rig r;
  held_calls h;
  serve(r.router, h);
  auto client = r.connect();
  duet::status_code code = duet::status_code::ok;
  int sum = 0;
  r.run([&]() -> duet::task<void> {
    std::stop_source source;
    source.request_stop();
    duet::result<int> got = co_await client.try_call(stoppable(source), hold, 1);
    code = got.code();
    sum = co_await client.call(add, 1, 1);  // after it on the same connection
    co_await client.close();
  });
  CHECK(code == duet::status_code::cancelled);
  CHECK(h.started == 0);
  CHECK(sum == 2);
}

TEST_CASE("stopping after the response arrived changes nothing", "[rpc][cancel]") {
  rig r;
  held_calls h;
  serve(r.router, h);
  auto client = r.connect();
  int sum = 0;
  r.run([&]() -> duet::task<void> {
    std::stop_source source;
    sum = co_await client.call(stoppable(source), add, 20, 22);
    source.request_stop();
    co_await client.close();
  });
  CHECK(sum == 42);
}

TEST_CASE("a cancelled call sends a cancel frame with its id, and a late answer to it is dropped", "[rpc][cancel]") {
  duet::event_loop loop;
  auto [near_end, far_end] = duet::make_memory_pair(loop);
  duet::client<duet::memory_stream> client(loop, std::move(near_end));
  std::vector<duet::frame_header> seen;
  duet::status_code cancelled_code = duet::status_code::ok;
  int answered = 0;
  loop.block_on([&]() -> duet::task<void> {
    // The test plays the server on the raw wire.
    duet::frame_decoder decoder;
    auto next_frame = [&]() -> duet::task<duet::frame_header> {
      for (int reads = 0; reads < 1000; ++reads) {
        duet::frame_view f;
        if (decoder.next(f) == duet::decode_status::frame) co_return f.header;
        const duet::io_result got = co_await far_end.read_some(decoder.prepare());
        REQUIRE_FALSE(got.error);
        REQUIRE(got.bytes > 0);
        decoder.commit(got.bytes);
      }
      FAIL("no frame arrived");
      co_return duet::frame_header{};
    };
    auto send = [&](const duet::byte_vector& out) -> duet::task<void> {
      const duet::const_buffer piece(out);
      const duet::io_result wrote = co_await far_end.write(std::span<const duet::const_buffer>(&piece, 1));
      REQUIRE_FALSE(wrote.error);
    };
    duet::byte_vector hello;
    duet::encode_hello(hello, duet::hello_message{});
    co_await send(hello);

    std::stop_source source;
    auto call = [&]() -> duet::task<void> {
      duet::result<int> got = co_await client.try_call(stoppable(source), hold, 1);
      cancelled_code = got.code();
    };
    auto server = [&]() -> duet::task<void> {
      seen.push_back(co_await next_frame());  // the client's hello
      seen.push_back(co_await next_frame());  // the request
      source.request_stop();
      seen.push_back(co_await next_frame());  // the cancel
      // Answer the cancelled request anyway: the client must drop it.
      duet::byte_vector late;
      duet::byte_vector payload;
      duet::byte_writer w(payload);
      duet::encode(w, 1);
      duet::encode_frame(late, duet::frame_header{duet::frame_kind::response, 0, 0, seen[1].id, hold.id, 0, 0}, {},
                         payload);
      co_await send(late);
    };
    co_await duet::when_all(call(), server());

    // The connection still works: the next call is answered by hand.
    auto next_call = [&]() -> duet::task<void> { answered = co_await client.call(add, 3, 4); };
    auto answer = [&]() -> duet::task<void> {
      const duet::frame_header request = co_await next_frame();
      duet::byte_vector out;
      duet::byte_vector payload;
      duet::byte_writer w(payload);
      duet::encode(w, 7);
      duet::encode_frame(out, duet::frame_header{duet::frame_kind::response, 0, 0, request.id, add.id, 0, 0}, {}, payload);
      co_await send(out);
    };
    co_await duet::when_all(next_call(), answer());
    co_await client.close();
    far_end.close();
  }());
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].kind == duet::frame_kind::hello);
  CHECK(seen[1].kind == duet::frame_kind::request);
  CHECK(seen[2].kind == duet::frame_kind::cancel);
  CHECK(seen[2].id == seen[1].id);
  CHECK(seen[2].method == hold.id);
  CHECK(cancelled_code == duet::status_code::cancelled);
  CHECK(answered == 7);
}

namespace {

constexpr duet::method<"cancel.slow", int(int)> slow;  // waits up to 10 s unless stopped

struct slow_handler {
  duet::async_event arrived;
  duet::async_event finished;
  bool saw_stop = false;
};

void serve_slow(duet::router& router, slow_handler& s) {
  router.on(slow, [&s](duet::call_context& ctx, int x) -> duet::task<int> {
    s.arrived.set();
    const bool slept = co_await ctx.loop().sleep_for(std::chrono::seconds(10), ctx.stop_token());
    s.saw_stop = !slept && ctx.cancelled();
    s.finished.set();
    co_return x;
  });
  router.on(add, [](int a, int b) { return a + b; });
}

}  // namespace

TEST_CASE("a cancelled call fires the stop token of the handler serving it", "[rpc][cancel]") {
  rig r;
  slow_handler s;
  serve_slow(r.router, s);
  auto client = r.connect();
  duet::status_code code = duet::status_code::ok;
  int sum = 0;
  r.run([&]() -> duet::task<void> {
    std::stop_source source;
    auto call = [&]() -> duet::task<void> {
      duet::result<int> got = co_await client.try_call(stoppable(source), slow, 1);
      code = got.code();
    };
    auto stopper = [&]() -> duet::task<void> {
      co_await s.arrived;
      source.request_stop();
      co_await s.finished;  // the handler gave up long before its 10 s
    };
    co_await duet::when_all(call(), stopper());
    sum = co_await client.call(add, 1, 2);
    co_await client.close();
  });
  CHECK(code == duet::status_code::cancelled);
  CHECK(s.saw_stop);
  CHECK(sum == 3);
}

TEST_CASE("a client that goes away fires the stop token of the handlers serving it", "[rpc][cancel]") {
  rig r;
  slow_handler s;
  serve_slow(r.router, s);
  auto client = r.connect();
  duet::status_code code = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    auto call = [&]() -> duet::task<void> {
      duet::result<int> got = co_await client.try_call(slow, 1);
      code = got.code();
    };
    auto leave = [&]() -> duet::task<void> {
      co_await s.arrived;
      co_await client.close();
      co_await s.finished;
    };
    co_await duet::when_all(call(), leave());
  });
  CHECK(code == duet::status_code::cancelled);  // closed by this side
  CHECK(s.saw_stop);
}

}  // namespace cancellation_test
