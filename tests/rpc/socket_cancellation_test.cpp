// Cancellation end to end over a real TCP socket: the caller's stop request
// ends the call at once, the cancel frame crosses the wire and fires the
// stop token of the coroutine handler serving it, and the connection keeps
// serving the calls around it.
#include "rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <stop_token>

namespace socket_cancellation_test {

namespace {

constexpr duet::method<"tcp_cancel.slow", int(int)> slow;  // sleeps 10 s unless its token fires
constexpr duet::method<"tcp_cancel.add", int(int, int)> add;
constexpr duet::method<"tcp_cancel.later", int(int)> later;  // answers once `go` is set

struct observed {
  duet::async_event arrived;       // the slow handler runs
  duet::async_event finished;      // the slow handler returned
  duet::async_event later_arrived;
  duet::async_event go;
  bool saw_stop = false;
  duet::clock::duration handler_ran{};
};

void serve(duet::router& router, observed& o) {
  router.on(slow, [&o](duet::call_context& ctx, int x) -> duet::task<int> {
    const auto began = duet::clock::now();
    o.arrived.set();
    const bool slept = co_await ctx.loop().sleep_for(std::chrono::seconds(10), ctx.stop_token());
    o.saw_stop = !slept && ctx.stop_token().stop_requested();
    o.handler_ran = duet::clock::now() - began;
    o.finished.set();
    co_return x;
  });
  router.on(add, [](int a, int b) { return a + b; });
  router.on(later, [&o](int x) -> duet::task<int> {
    o.later_arrived.set();
    co_await o.go;
    co_return x;
  });
}

duet::task<void> cancelled_call(duet::client<duet::tcp_stream>& c, const observed& o, std::stop_token stop,
                                duet::status_code& code, bool& before_the_server_stopped) {
  duet::call_options options;
  options.stop = std::move(stop);
  duet::result<int> got = co_await c.try_call(options, slow, 1);
  // The call does not wait for the server to hear of the cancellation.
  before_the_server_stopped = !o.finished.is_set();
  code = got.code();
}

duet::task<void> call_answered_later(duet::client<duet::tcp_stream>& c, int& value) {
  value = co_await c.call(later, 41);
}

duet::task<void> cancel_when_running(observed& o, std::stop_source& source) {
  co_await o.arrived;
  co_await o.later_arrived;
  source.request_stop();
  co_await o.finished;  // the handler gave up long before its 10 s
  o.go.set();           // the other call in flight on the connection may answer now
}

}  // namespace

TEST_CASE("over TCP a cancelled call ends at once, fires the handler's stop token, and the connection serves on",
          "[rpc][cancel][socket]") {
  const auto backend = GENERATE(duet::reactor_kind::epoll, duet::reactor_kind::poll);
  duet::event_loop loop(backend);
  duet::router router;
  observed o;
  serve(router, o);
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();

  duet::status_code code = duet::status_code::ok;
  bool at_once = false;
  int later_value = 0;
  int sum = 0;
  std::size_t in_flight_after = 99;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(server.serve(std::move(listener)));
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream.has_value());
    duet::client<duet::tcp_stream> c(loop, std::move(*stream));
    std::stop_source source;
    co_await duet::when_all(cancelled_call(c, o, source.get_token(), code, at_once), call_answered_later(c, later_value),
                            cancel_when_running(o, source));
    in_flight_after = c.underlying_session().calls_in_flight();
    sum = co_await c.call(add, 20, 22);
    co_await c.close();
    server.stop();
    co_await serving.join();
  }());
  CHECK(code == duet::status_code::cancelled);
  CHECK(at_once);
  CHECK(o.saw_stop);
  CHECK(o.handler_ran < std::chrono::seconds(2));
  CHECK(later_value == 41);
  CHECK(in_flight_after == 0);
  CHECK(sum == 42);
}

}  // namespace socket_cancellation_test
