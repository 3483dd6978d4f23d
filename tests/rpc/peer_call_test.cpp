// Calls in both directions on one connection: a client made with a router
// serves the server's calls, and a handler on either side calls the other
// end back through `call_context::peer()`.
#include "rig.hpp"
#include "tcp_rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/rpc/peer.hpp>
#include <duet/rpc/reconnect.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace peer_call_test {

using namespace rig_methods;
using namespace std::chrono_literals;

namespace {

// Served by the server.
inline constexpr duet::method<"peer.job", int(int)> job;            // asks the client, adds one
inline constexpr duet::method<"peer.tell", int(int)> tell;          // sends the client notifications
inline constexpr duet::method<"peer.patient", int(int)> patient;    // waits on a call back that may never end
inline constexpr duet::method<"peer.hurried", int(int)> hurried;    // calls back with a short timeout
inline constexpr duet::method<"peer.nobody", int(int)> nobody;      // calls back a client that serves nothing
// Served by the client.
inline constexpr duet::method<"peer.confirm", int(int)> confirm;    // doubles
inline constexpr duet::method<"peer.round", int(int)> round_trip;   // asks the server (add), so three levels
inline constexpr duet::method<"peer.log", void(std::string)> log_line;
inline constexpr duet::method<"peer.stall", int(int)> stall;        // answers only when stopped

struct callback_state {
  std::vector<std::string> lines;
  duet::async_event stalled;  // the client's stall handler runs
  std::optional<duet::status> patient_outcome;
  duet::async_event patient_done;
};

void serve_server_side(duet::router& r, callback_state& s) {
  r.on(add, [](int a, int b) { return a + b; });
  r.on(job, [](duet::call_context& ctx, int x) -> duet::task<int> {
    const int confirmed = co_await ctx.peer().call(confirm, x);
    co_return confirmed + 1;
  });
  r.on(tell, [](duet::call_context& ctx, int n) -> duet::task<int> {
    int sent = 0;
    for (int i = 0; i < n; ++i) {
      const std::string line = "line " + std::to_string(i);
      if (ctx.peer().notify(log_line, line).ok()) ++sent;
    }
    // A call after the notifications returns after them: they arrived first.
    (void)co_await ctx.peer().call(confirm, 0);
    co_return sent;
  });
  r.on(patient, [&s](duet::call_context& ctx, int x) -> duet::task<int> {
    duet::result<int> r = co_await ctx.peer().try_call(stall, x);
    s.patient_outcome = r ? duet::status{} : r.error();
    s.patient_done.set();
    co_return r ? *r : -1;
  });
  r.on(hurried, [](duet::call_context& ctx, int x) -> duet::task<int> {
    duet::call_options o;
    o.timeout = 20ms;
    duet::result<int> r = co_await ctx.peer().try_call(o, stall, x);
    co_return r ? 0 : static_cast<int>(r.error().code());
  });
  r.on(nobody, [](duet::call_context& ctx, int x) -> duet::task<int> {
    duet::result<int> r = co_await ctx.peer().try_call(confirm, x);
    co_return r ? 0 : static_cast<int>(r.error().code());
  });
}

void serve_client_side(duet::router& r, duet::event_loop& loop, callback_state& s) {
  r.on(confirm, [](int x) { return 2 * x; });
  r.on(round_trip, [](duet::call_context& ctx, int x) -> duet::task<int> {
    const int sum = co_await ctx.peer().call(add, x, 100);
    co_return sum;
  });
  r.on(log_line, [&s](std::string line) { s.lines.push_back(std::move(line)); });
  r.on(stall, [&s, &loop](duet::call_context& ctx, int x) -> duet::task<int> {
    s.stalled.set();
    (void)co_await loop.sleep_for(10s, ctx.stop_token());
    co_return x;
  });
}

// The server calls `round_trip` back on the client whose call it serves,
// whose handler calls the server's `add`: three calls deep on one connection.
inline constexpr duet::method<"peer.deep", int(int)> deep;

void serve_deep(duet::router& r) {
  r.on(deep, [](duet::call_context& ctx, int x) -> duet::task<int> {
    const int inner = co_await ctx.peer().call(round_trip, x);
    co_return inner * 10;
  });
}

// A server and a client that both serve methods, on `Rig`'s transport.
template <class Rig>
struct both_ways {
  Rig r;
  callback_state s;
  duet::router client_routes;
  both_ways() {
    serve_server_side(r.router, s);
    serve_deep(r.router);
    serve_client_side(client_routes, r.loop, s);
  }
};

// Calls `patient` and keeps how it ended.
template <class Client>
duet::task<void> call_patient(Client& c, std::optional<duet::status>& out) {
  duet::result<int> got = co_await c.try_call(patient, 3);
  out = got ? duet::status{} : got.error();
}

// Many calls each way at once, so that both sides use the same ids for
// their own requests at the same time.
duet::task<int> calls_both_ways(auto& client, int count) {
  std::vector<duet::task<int>> calls;
  for (int i = 0; i < count; ++i) calls.push_back(client.call(job, i));
  for (int i = 0; i < count; ++i) calls.push_back(client.call(deep, i));
  std::vector<int> got = co_await duet::when_all(std::move(calls));
  int wrong = 0;
  for (int i = 0; i < count; ++i) {
    if (got[static_cast<std::size_t>(i)] != 2 * i + 1) ++wrong;
    if (got[static_cast<std::size_t>(count + i)] != (i + 100) * 10) ++wrong;
  }
  co_return wrong;
}

}  // namespace

TEST_CASE("a server's handler calls back the client that called it, over the same in-memory connection",
          "[rpc][peer]") {
  both_ways<rig> f;
  auto& [r, s, client_routes] = f;
  auto client = r.connect(client_routes);
  int one = 0;
  int wrong = -1;
  r.run([&]() -> duet::task<void> {
    one = co_await client.call(job, 20);
    wrong = co_await calls_both_ways(client, 200);
    co_await client.close();
  });
  CHECK(one == 41);
  CHECK(wrong == 0);
}

TEST_CASE("calls go both ways over TCP: the server calls the client back and the client's handler calls the server",
          "[rpc][peer]") {
  both_ways<tcp_rig> f;
  auto& [r, s, client_routes] = f;
  int one = 0;
  int wrong = -1;
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect(client_routes);
    one = co_await client.call(deep, 5);
    wrong = co_await calls_both_ways(client, 500);
    co_await client.close();
  });
  CHECK(one == 1050);
  CHECK(wrong == 0);
}

TEST_CASE("a handler's notifications to its peer arrive in order, before the answer to a later call",
          "[rpc][peer]") {
  both_ways<rig> f;
  auto& [r, s, client_routes] = f;
  auto client = r.connect(client_routes);
  int sent = 0;
  std::size_t seen_when_answered = 0;
  r.run([&]() -> duet::task<void> {
    sent = co_await client.call(tell, 50);
    seen_when_answered = s.lines.size();
    co_await client.close();
  });
  CHECK(sent == 50);
  CHECK(seen_when_answered == 50);
  REQUIRE(s.lines.size() == 50);
  CHECK(s.lines.front() == "line 0");
  CHECK(s.lines.back() == "line 49");
}

TEST_CASE("a call back with a timeout ends with deadline_exceeded when the client is slow", "[rpc][peer]") {
  both_ways<rig> f;
  auto& [r, s, client_routes] = f;
  auto client = r.connect(client_routes);
  int code = -1;
  r.run([&]() -> duet::task<void> {
    code = co_await client.call(hurried, 1);
    co_await client.close();
  });
  CHECK(code == static_cast<int>(duet::status_code::deadline_exceeded));
}

TEST_CASE("a client made without a router answers the server's calls back with unimplemented", "[rpc][peer]") {
  rig r;
  callback_state s;
  serve_server_side(r.router, s);
  auto client = r.connect();
  int code = -1;
  r.run([&]() -> duet::task<void> {
    code = co_await client.call(nobody, 1);
    co_await client.close();
  });
  CHECK(code == static_cast<int>(duet::status_code::unimplemented));
}

TEST_CASE("a call back whose connection ends mid-call fails with unavailable, and its handler still finishes",
          "[rpc][peer]") {
  both_ways<tcp_rig> f;
  auto& [r, s, client_routes] = f;
  std::optional<duet::status> client_outcome;
  r.run([&]() -> duet::task<void> {
    auto client = co_await r.connect(client_routes);
    duet::async_scope calling;
    calling.spawn(call_patient(client, client_outcome));
    co_await s.stalled;  // the server's call back runs on the client
    co_await client.close();
    co_await s.patient_done;
    co_await calling.join();
  });
  REQUIRE(s.patient_outcome.has_value());
  CHECK(s.patient_outcome->code() == duet::status_code::unavailable);
  REQUIRE(client_outcome.has_value());
  CHECK(client_outcome->code() == duet::status_code::cancelled);
}

TEST_CASE("when the server stops during a call back, the call back and the client's call both end with unavailable",
          "[rpc][peer]") {
  // The server's handler waits on the client's stall; the test stops the
  // server meanwhile: the client's own call and the server's call back
  // both end, and nothing hangs.
  both_ways<rig> f;
  auto& [r, s, client_routes] = f;
  auto client = r.connect(client_routes);
  std::optional<duet::status> client_outcome;
  r.run([&]() -> duet::task<void> {
    duet::async_scope calling;
    calling.spawn(call_patient(client, client_outcome));
    co_await s.stalled;
    r.server.stop();
    co_await s.patient_done;
    co_await calling.join();
    co_await client.close();
  });
  REQUIRE(s.patient_outcome.has_value());
  CHECK(s.patient_outcome->code() == duet::status_code::unavailable);
  REQUIRE(client_outcome.has_value());
  CHECK(client_outcome->code() == duet::status_code::unavailable);
}

TEST_CASE("a reconnecting client made with a router serves the server's calls back", "[rpc][peer]") {
  both_ways<tcp_rig> f;
  auto& [r, s, client_routes] = f;
  int got = 0;
  r.run([&]() -> duet::task<void> {
    duet::reconnect_options<duet::tcp_stream> how;
    how.connect = duet::connect_to<duet::tcp_stream>(r.loop, r.where);
    duet::client<duet::tcp_stream> client(r.loop, std::move(how), client_routes);
    const bool up = co_await client.wait_connected(5s);
    REQUIRE(up);
    got = co_await client.call(job, 7);
    co_await client.close();
  });
  CHECK(got == 15);
}

}  // namespace peer_call_test
