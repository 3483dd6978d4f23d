// The server side of retries: a router with an idempotency cache runs a
// request with a given idempotency key at most once, and answers repeats
// with the kept answer, so a retried non-idempotent call is safe.
#include "rig.hpp"
#include "support/drop_transport.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>
#include <duet/transport/tcp.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace idempotency_test {

namespace {

constexpr duet::method<"once.charge", int(int)> charge;        // not idempotent
constexpr duet::method<"once.refund", int(int)> refund;        // not idempotent
constexpr duet::method<"once.slow_charge", int(int)> slow_charge;  // answers once released

struct ledger {
  int charges = 0;
  int refunds = 0;
  int slow_charges = 0;
  duet::async_event slow_arrived;
  duet::async_event release;
};

void serve_ledger(duet::router& router, ledger& l) {
  router.on(charge, [&l](duet::call_context& ctx, int amount) {
    ++l.charges;
    ctx.response_metadata().add("x-receipt", "r" + std::to_string(l.charges));
    return amount + 100;
  });
  router.on(refund, [&l](int amount) {
    ++l.refunds;
    return -amount;
  });
  router.on(slow_charge, [&l](int amount) -> duet::task<int> {
    ++l.slow_charges;
    l.slow_arrived.set();
    co_await l.release;
    co_return amount + 1000;
  });
}

/// Serves one connection from `listener` whose first response is lost.
duet::task<void> serve_one_losing_first_answer(duet::server& server, duet::tcp_listener& listener) {
  auto accepted = co_await listener.accept();
  REQUIRE(accepted.has_value());
  co_await server.serve_connection(duet_test::response_dropping_transport<duet::tcp_stream>(std::move(*accepted), 1));
}

duet::call_options keyed(std::string_view key) {
  duet::call_options o;
  o.idempotency_key = key;
  return o;
}

}  // namespace

TEST_CASE("over TCP a keyed call of a non-idempotent method whose response is lost runs once and its retry gets the "
          "kept answer",
          "[rpc][retry][idempotency][socket]") {
  duet::event_loop loop;
  duet::router router;
  router.enable_idempotency_cache();
  ledger l;
  serve_ledger(router, l);
  duet::server server(loop, router);
  auto listener = duet::tcp_listener::listen(loop, duet::endpoint::loopback_v4(0));
  const duet::endpoint where = listener.local_endpoint();
  int got = 0;
  std::string receipt;
  loop.block_on([&]() -> duet::task<void> {
    duet::async_scope serving;
    serving.spawn(serve_one_losing_first_answer(server, listener));
    auto stream = co_await duet::tcp_stream::connect(loop, where);
    REQUIRE(stream.has_value());
    duet::client<duet::tcp_stream> c(loop, std::move(*stream));
    duet::retry_policy p;
    p.backoff.initial = std::chrono::milliseconds(1);
    p.attempt_timeout = std::chrono::milliseconds(60);
    c.set_retry_policy(p);
    duet::metadata answer_metadata;
    duet::call_options o = keyed("order-7");
    o.response_metadata = &answer_metadata;
    got = co_await c.call(o, charge, 1);
    receipt = std::string(answer_metadata.find("x-receipt").value_or(""));
    co_await c.close();
    co_await serving.join();
  }());
  CHECK(got == 101);
  CHECK(l.charges == 1);  // the lost answer was not a reason to charge twice
  CHECK(router.replayed_answers() == 1);
  CHECK(receipt == "r1");  // the kept answer carries the first run's metadata
}

TEST_CASE("a repeat of a keyed request that is still running is answered unavailable, and later the kept answer",
          "[rpc][idempotency]") {
  rig r;
  r.router.enable_idempotency_cache();
  ledger l;
  serve_ledger(r.router, l);
  auto client = r.connect();
  int first = 0;
  duet::status_code while_running = duet::status_code::ok;
  int after = 0;
  r.run([&]() -> duet::task<void> {
    auto original = [&]() -> duet::task<void> { first = co_await client.call(keyed("k"), slow_charge, 5); };
    auto repeat = [&]() -> duet::task<void> {
      co_await l.slow_arrived;
      duet::result<int> again = co_await client.try_call(keyed("k"), slow_charge, 5);
      while_running = again.code();
      l.release.set();
    };
    co_await duet::when_all(original(), repeat());
    after = co_await client.call(keyed("k"), slow_charge, 5);
    co_await client.close();
  });
  CHECK(first == 1005);
  CHECK(while_running == duet::status_code::unavailable);
  CHECK(after == 1005);
  CHECK(l.slow_charges == 1);
}

TEST_CASE("idempotency keys are per method, and calls without a key always run", "[rpc][idempotency]") {
  rig r;
  r.router.enable_idempotency_cache();
  ledger l;
  serve_ledger(r.router, l);
  auto client = r.connect();
  r.run([&]() -> duet::task<void> {
    const int a = co_await client.call(keyed("same"), charge, 1);
    const int b = co_await client.call(keyed("same"), refund, 1);
    const int c = co_await client.call(keyed("same"), charge, 1);
    const int d = co_await client.call(charge, 1);
    const int e = co_await client.call(charge, 1);
    CHECK(a == 101);
    CHECK(b == -1);
    CHECK(c == 101);
    CHECK(d == 101);
    CHECK(e == 101);
    co_await client.close();
  });
  CHECK(l.charges == 3);  // "same" once, then the two calls without a key
  CHECK(l.refunds == 1);
  CHECK(r.router.replayed_answers() == 1);
}

TEST_CASE("the idempotency cache forgets its oldest answers past its bounds", "[rpc][idempotency]") {
  rig r;
  duet::idempotency_cache_options bounds;
  bounds.max_entries = 2;
  r.router.enable_idempotency_cache(bounds);
  ledger l;
  serve_ledger(r.router, l);
  auto client = r.connect();
  std::size_t kept = 0;
  r.run([&]() -> duet::task<void> {
    (void)co_await client.call(keyed("k1"), charge, 1);
    (void)co_await client.call(keyed("k2"), charge, 1);
    (void)co_await client.call(keyed("k3"), charge, 1);  // forgets k1
    (void)co_await client.call(keyed("k3"), charge, 1);  // kept
    (void)co_await client.call(keyed("k1"), charge, 1);  // runs again
    kept = r.router.kept_answers();
    co_await client.close();
  });
  CHECK(l.charges == 4);
  CHECK(kept == 2);
}

TEST_CASE("the idempotency cache finds every one of many keys again, each answered with its own kept answer",
          "[rpc][idempotency]") {
  rig r;
  r.router.enable_idempotency_cache();
  ledger l;
  serve_ledger(r.router, l);
  auto client = r.connect();
  constexpr int keys = 200;  // many times the cache's first table size
  int wrong = 0;
  r.run([&]() -> duet::task<void> {
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < keys; ++i) {
        const std::string key = "key-" + std::to_string(i);
        const int answer = co_await client.call(keyed(key), charge, i);
        wrong += answer != i + 100;
      }
    }
    co_await client.close();
  });
  CHECK(wrong == 0);
  CHECK(l.charges == keys);
  CHECK(r.router.replayed_answers() == keys);
  CHECK(r.router.kept_answers() == keys);
}

TEST_CASE("the idempotency cache forgets its oldest answers past its byte bound", "[rpc][idempotency]") {
  rig r;
  duet::idempotency_cache_options bounds;
  // Room for two answers but not three: each is 21 to 25 bytes (the
  // method id and key, 6; the x-receipt metadata block, 14; the payload).
  bounds.max_bytes = 55;
  r.router.enable_idempotency_cache(bounds);
  ledger l;
  serve_ledger(r.router, l);
  auto client = r.connect();
  std::size_t kept = 0;
  r.run([&]() -> duet::task<void> {
    (void)co_await client.call(keyed("k1"), charge, 1);
    (void)co_await client.call(keyed("k2"), charge, 1);
    (void)co_await client.call(keyed("k3"), charge, 1);  // forgets k1
    (void)co_await client.call(keyed("k3"), charge, 1);  // kept
    (void)co_await client.call(keyed("k2"), charge, 1);  // kept
    kept = r.router.kept_answers();
    (void)co_await client.call(keyed("k1"), charge, 1);  // runs again
    co_await client.close();
  });
  CHECK(l.charges == 4);
  CHECK(kept == 2);
  CHECK(r.router.replayed_answers() == 2);
}

TEST_CASE("a keyed request that failed with a retryable code is not kept, so its retry runs", "[rpc][idempotency]") {
  rig r;
  r.router.enable_idempotency_cache();
  int runs = 0;
  r.router.on(charge, [&runs](int amount) -> int {
    if (++runs == 1) throw duet::rpc_error(duet::status(duet::status_code::unavailable, "busy"));
    return amount;
  });
  auto client = r.connect();
  duet::retry_policy p;
  p.backoff.initial = std::chrono::milliseconds(1);
  client.set_retry_policy(p);
  int got = 0;
  r.run([&]() -> duet::task<void> {
    got = co_await client.call(keyed("k"), charge, 9);
    co_await client.close();
  });
  CHECK(got == 9);
  CHECK(runs == 2);
}

}  // namespace idempotency_test
