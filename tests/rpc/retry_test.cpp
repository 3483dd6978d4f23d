// Retries: a call that is safe to repeat (its method is declared idempotent,
// or it carries an idempotency key) is tried again after a retryable failure,
// with backoff, within its deadline and until it is cancelled; any other call
// is never repeated.
#include "rig.hpp"
#include "support/drop_transport.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <stop_token>
#include <string>

namespace retry_test {

namespace {

constexpr duet::method<"retry.get", int(int)> get{.idempotent = true};
constexpr duet::method<"retry.charge", int(int)> charge;  // not idempotent

duet::retry_policy quick_policy() {
  duet::retry_policy p;
  p.max_attempts = 4;
  p.backoff.initial = std::chrono::milliseconds(1);
  p.backoff.max = std::chrono::milliseconds(5);
  p.attempt_timeout = std::chrono::milliseconds(60);
  return p;
}

struct executions {
  int get = 0;
  int charge = 0;
};

void serve_counting(duet::router& router, executions& e) {
  router.on(get, [&e](int x) {
    ++e.get;
    return x * 2;
  });
  router.on(charge, [&e](int x) {
    ++e.charge;
    return x + 100;
  });
}

/// A server on a loopback TCP port whose connections lose their first
/// `drop` responses.
struct lossy_tcp_server {
  duet::event_loop& loop;
  duet::server server;
  duet::tcp_listener listener;
  std::size_t drop;
  std::size_t dropped = 0;

  lossy_tcp_server(duet::event_loop& l, duet::router& router, std::size_t responses_to_drop)
      : loop(l), server(l, router), listener(duet::tcp_listener::listen(l, duet::endpoint::loopback_v4(0))),
        drop(responses_to_drop) {}

  /// Serves one connection until it ends.
  duet::task<void> serve_one() {
    auto accepted = co_await listener.accept();
    REQUIRE(accepted.has_value());
    duet_test::response_dropping_transport<duet::tcp_stream> lossy(std::move(*accepted), drop);
    co_await server.serve_connection(std::move(lossy));
  }
};

duet::task<duet::client<duet::tcp_stream>> connect_to(duet::event_loop& loop, const duet::endpoint& where) {
  auto stream = co_await duet::tcp_stream::connect(loop, where);
  REQUIRE(stream.has_value());
  co_return duet::client<duet::tcp_stream>(loop, std::move(*stream));
}

}  // namespace

TEST_CASE("over TCP an idempotent call whose response is lost is tried again after its attempt timeout and succeeds",
          "[rpc][retry][socket]") {
  duet::event_loop loop;
  duet::router router;
  executions e;
  serve_counting(router, e);
  lossy_tcp_server s(loop, router, 1);
  int got = 0;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(s.serve_one());
    auto c = co_await connect_to(loop, s.listener.local_endpoint());
    c.set_retry_policy(quick_policy());
    got = co_await c.call(get, 21);
    co_await c.close();
    co_await serving.join();
  }());
  CHECK(got == 42);
  CHECK(e.get == 2);  // the first answer was lost, so the server ran it twice
}

TEST_CASE("over TCP a call of a method not declared idempotent is not tried again", "[rpc][retry][socket]") {
  duet::event_loop loop;
  duet::router router;
  executions e;
  serve_counting(router, e);
  lossy_tcp_server s(loop, router, 1);
  duet::status_code code = duet::status_code::ok;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(s.serve_one());
    auto c = co_await connect_to(loop, s.listener.local_endpoint());
    c.set_retry_policy(quick_policy());
    duet::call_options o;
    o.timeout = std::chrono::milliseconds(150);
    duet::result<int> r = co_await c.try_call(o, charge, 1);
    code = r.code();
    co_await c.close();
    co_await serving.join();
  }());
  CHECK(code == duet::status_code::deadline_exceeded);
  CHECK(e.charge == 1);
}

namespace {

constexpr duet::method<"retry.flaky", int(int)> flaky{.idempotent = true};  // fails `failures` times first
constexpr duet::method<"retry.flaky_charge", int(int)> flaky_charge;        // the same, not idempotent

struct flaky_server {
  int failures = 0;
  duet::status_code failure = duet::status_code::unavailable;
  int runs = 0;
  duet::async_event ran;
};

constexpr duet::method<"retry.barrier", int(int)> barrier;  // not idempotent: never retried

/// Returns once every answer the server queued on `client`'s connection
/// before now has reached the client: one connection carries answers in
/// order, and a plain handler answers as it reads, so the barrier call's
/// answer comes after them. A retried call whose failed attempt has been
/// answered is then waiting for its next attempt (the reader starts the
/// wait as it hands over the failure).
template <class Client>
duet::task<void> after_earlier_answers(Client& client) {
  const int echoed = co_await client.call(barrier, 7);
  REQUIRE(echoed == 7);
}

void serve_flaky(duet::router& router, flaky_server& f) {
  router.on(barrier, [](int x) { return x; });
  auto handler = [&f](int x) -> int {
    ++f.runs;
    f.ran.set();
    if (f.runs <= f.failures) throw duet::rpc_error(duet::status(f.failure, "not now"));
    return x;
  };
  router.on(flaky, handler);
  router.on(flaky_charge, handler);
}

}  // namespace

TEST_CASE("a retryable failure is tried again with backoff until an attempt succeeds", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 2;
  serve_flaky(r.router, f);
  auto client = r.connect();
  client.set_retry_policy(quick_policy());
  int got = 0;
  r.run([&]() -> duet::task<void> {
    got = co_await client.call(flaky, 7);
    co_await client.close();
  });
  CHECK(got == 7);
  CHECK(f.runs == 3);
}

TEST_CASE("a retried call ends with the last failure once its attempts run out", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 100;
  f.failure = duet::status_code::resource_exhausted;
  serve_flaky(r.router, f);
  auto client = r.connect();
  client.set_retry_policy(quick_policy());
  duet::status_code code = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    duet::result<int> got = co_await client.try_call(flaky, 7);
    code = got.code();
    co_await client.close();
  });
  CHECK(code == duet::status_code::resource_exhausted);
  CHECK(f.runs == 4);
}

TEST_CASE("a failure whose code the policy does not retry ends the call at once", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 100;
  f.failure = duet::status_code::invalid_argument;
  serve_flaky(r.router, f);
  auto client = r.connect();
  client.set_retry_policy(quick_policy());
  duet::status_code code = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    duet::result<int> got = co_await client.try_call(flaky, 7);
    code = got.code();
    co_await client.close();
  });
  CHECK(code == duet::status_code::invalid_argument);
  CHECK(f.runs == 1);
}

TEST_CASE("a call with an idempotency key is retried although its method is not idempotent", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 1;
  serve_flaky(r.router, f);
  auto client = r.connect();
  client.set_retry_policy(quick_policy());
  int got = 0;
  duet::status_code without_key = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    duet::call_options keyed;
    keyed.idempotency_key = "order-1";
    got = co_await client.call(keyed, flaky_charge, 5);
    f.runs = 0;  // fails once more, and without a key is not retried
    duet::result<int> plain = co_await client.try_call(flaky_charge, 5);
    without_key = plain.code();
    co_await client.close();
  });
  CHECK(got == 5);
  CHECK(without_key == duet::status_code::unavailable);
  CHECK(f.runs == 1);
}

TEST_CASE("a policy in the call options applies instead of the client's", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 100;
  serve_flaky(r.router, f);
  auto client = r.connect();
  client.set_retry_policy(quick_policy());
  duet::status_code code = duet::status_code::ok;
  r.run([&]() -> duet::task<void> {
    duet::call_options o;
    o.retry = quick_policy();
    o.retry->max_attempts = 2;
    duet::result<int> got = co_await client.try_call(o, flaky, 1);
    code = got.code();
    co_await client.close();
  });
  CHECK(code == duet::status_code::unavailable);
  CHECK(f.runs == 2);
}

TEST_CASE("the deadline of a retried call covers every attempt and every wait", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 1000;
  serve_flaky(r.router, f);
  auto client = r.connect();
  duet::retry_policy p;
  p.max_attempts = 1000;
  p.backoff.initial = std::chrono::milliseconds(20);
  p.backoff.max = std::chrono::milliseconds(20);
  p.backoff.jitter = 0;
  client.set_retry_policy(p);
  duet::status_code code = duet::status_code::ok;
  duet::clock::duration took{};
  r.run([&]() -> duet::task<void> {
    duet::call_options o;
    o.timeout = std::chrono::milliseconds(100);
    const auto began = duet::clock::now();
    duet::result<int> got = co_await client.try_call(o, flaky, 1);
    took = duet::clock::now() - began;
    code = got.code();
    co_await client.close();
  });
  // The last attempt's failure, reported as soon as no wait could end in time.
  CHECK(code == duet::status_code::unavailable);
  CHECK(took <= std::chrono::milliseconds(100));
  CHECK(f.runs >= 2);
  CHECK(f.runs <= 6);
}

TEST_CASE("a stop request while a retried call waits to try again ends it at once with cancelled", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 1000;
  serve_flaky(r.router, f);
  auto client = r.connect();
  duet::retry_policy p;
  p.backoff.initial = std::chrono::seconds(10);
  p.backoff.max = std::chrono::seconds(10);
  p.backoff.jitter = 0;
  client.set_retry_policy(p);
  duet::status_code code = duet::status_code::ok;
  duet::clock::duration took{};
  r.run([&]() -> duet::task<void> {
    std::stop_source source;
    auto call = [&]() -> duet::task<void> {
      duet::call_options o;
      o.stop = source.get_token();
      const auto began = duet::clock::now();
      duet::result<int> got = co_await client.try_call(o, flaky, 1);
      took = duet::clock::now() - began;
      code = got.code();
    };
    auto stopper = [&]() -> duet::task<void> {
      co_await f.ran;
      co_await after_earlier_answers(client);  // the call now waits 10 s to try again
      source.request_stop();
    };
    co_await duet::when_all(call(), stopper());
    co_await client.close();
  });
  CHECK(code == duet::status_code::cancelled);
  CHECK(took < std::chrono::seconds(2));
  CHECK(f.runs == 1);
}

TEST_CASE("closing the client while a retried call waits to try again ends the call at once", "[rpc][retry]") {
  rig r;
  flaky_server f;
  f.failures = 1000;
  serve_flaky(r.router, f);
  auto client = r.connect();
  duet::retry_policy p;
  p.backoff.initial = std::chrono::seconds(10);
  p.backoff.max = std::chrono::seconds(10);
  p.backoff.jitter = 0;
  client.set_retry_policy(p);
  duet::status_code code = duet::status_code::ok;
  duet::clock::duration took{};
  r.run([&]() -> duet::task<void> {
    auto call = [&]() -> duet::task<void> {
      const auto began = duet::clock::now();
      duet::result<int> got = co_await client.try_call(flaky, 1);
      took = duet::clock::now() - began;
      code = got.code();
    };
    auto closer = [&]() -> duet::task<void> {
      co_await f.ran;
      co_await after_earlier_answers(client);  // the call now waits 10 s to try again
      co_await client.close();
    };
    co_await duet::when_all(call(), closer());
  });
  CHECK(code == duet::status_code::unavailable);  // the last attempt's failure
  CHECK(took < std::chrono::seconds(2));
  CHECK(f.runs == 1);
}

}  // namespace retry_test
