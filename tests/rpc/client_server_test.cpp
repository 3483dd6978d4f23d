#include "rig.hpp"

#include <duet/coro/async_event.hpp>
#include <duet/coro/when_all.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace rig_methods;
using namespace std::chrono_literals;

TEST_CASE("a call returns the value its handler computed", "[rpc]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.router.on(echo, [](const std::string& s) { return s + s; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    const int sum = co_await c.call(add, 2, 40);
    CHECK(sum == 42);
    const std::string doubled = co_await c.call(echo, "ab");
    CHECK(doubled == "abab");
    co_await c.close();
  });
}

TEST_CASE("a method with no arguments and no result completes", "[rpc]") {
  rig r;
  int pings = 0;
  r.router.on(ping, [&] { ++pings; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    co_await c.call(ping);
    duet::result<void> second = co_await c.try_call(ping);
    CHECK(second.has_value());
    CHECK(pings == 2);
    co_await c.close();
  });
}

TEST_CASE("a coroutine handler and a handler taking the call context both work", "[rpc]") {
  rig r;
  r.router.on(add, [](duet::call_context& ctx, int a, int b) -> duet::task<int> {
    CHECK(ctx.method_name() == "test.add");
    CHECK(ctx.expects_response());
    co_await ctx.loop().schedule();  // really suspend once
    co_return a * b;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    const int product = co_await c.call(add, 6, 7);
    CHECK(product == 42);
    co_await c.close();
  });
}

TEST_CASE("responses arrive out of order and each reaches its own caller", "[rpc]") {
  rig r;
  duet::async_event release_slow;
  std::vector<std::string> finished;
  r.router.on(echo, [&](std::string s) -> duet::task<std::string> {
    if (s == "slow") co_await release_slow;
    co_return s;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    auto slow = [&]() -> duet::task<void> {
      const std::string answer = co_await c.call(echo, "slow");
      CHECK(answer == "slow");
      finished.push_back(answer);
    };
    auto fast = [&]() -> duet::task<void> {
      for (int i = 0; i < 10; ++i) {
        const std::string answer = co_await c.call(echo, "fast" + std::to_string(i));
        CHECK(answer == "fast" + std::to_string(i));
        finished.push_back(answer);
      }
      // Every fast call finished while the slow one was still held.
      release_slow.set();
    };
    co_await duet::when_all(slow(), fast());
    REQUIRE(finished.size() == 11);
    CHECK(finished.front() == "fast0");
    CHECK(finished.back() == "slow");
    co_await c.close();
  });
}

TEST_CASE("a handler that throws ends the call with internal and its message", "[rpc]") {
  rig r;
  r.router.on(fail, [](int code) -> int {
    if (code == 0) throw std::runtime_error("the handler broke");
    throw duet::rpc_error(duet::status(duet::status_code::permission_denied, "not you"));
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    duet::result<int> broke = co_await c.try_call(fail, 0);
    CHECK(broke.code() == duet::status_code::internal);
    CHECK(broke.error().message() == "the handler broke");
    duet::result<int> denied = co_await c.try_call(fail, 1);
    CHECK(denied.code() == duet::status_code::permission_denied);
    CHECK(denied.error().message() == "not you");
    bool threw = false;
    try {
      (void)co_await c.call(fail, 0);
    } catch (const duet::rpc_error& e) {
      threw = true;
      CHECK(e.code() == duet::status_code::internal);
    }
    CHECK(threw);
    CHECK(c.is_open());  // a failed call leaves the connection alone
    co_await c.close();
  });
}

TEST_CASE("a handler may answer with a result holding a status", "[rpc]") {
  rig r;
  r.router.on(fail, [](int code) -> duet::result<int> {
    if (code < 0) return duet::status(duet::status_code::out_of_range, "negative");
    return code * 2;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    const int doubled = co_await c.call(fail, 21);
    CHECK(doubled == 42);
    duet::result<int> negative = co_await c.try_call(fail, -1);
    CHECK(negative.code() == duet::status_code::out_of_range);
    co_await c.close();
  });
}

TEST_CASE("a call to a method the server does not serve ends with not_found", "[rpc]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    duet::result<int> result = co_await c.try_call(missing, 1);
    CHECK(result.code() == duet::status_code::not_found);
    const int sum = co_await c.call(add, 1, 1);  // the connection carries on
    CHECK(sum == 2);
    co_await c.close();
  });
}

TEST_CASE("a request whose payload does not decode ends with invalid_argument", "[rpc]") {
  rig r;
  r.router.on(add, [](int a, int b) { return a + b; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    duet::result<int> result = co_await c.try_call(add_with_wrong_arguments, "x");
    CHECK(result.code() == duet::status_code::invalid_argument);
    const int sum = co_await c.call(add, 2, 2);
    CHECK(sum == 4);
    co_await c.close();
  });
}

TEST_CASE("a call past its timeout ends alone with deadline_exceeded and its late response is dropped", "[rpc]") {
  rig r;
  duet::async_event release;
  int served = 0;
  r.router.on(echo, [&](std::string s) -> duet::task<std::string> {
    if (s == "hold") co_await release;
    ++served;
    co_return s;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    duet::result<std::string> late = co_await c.try_call({.timeout = 5ms}, echo, "hold");
    CHECK(late.code() == duet::status_code::deadline_exceeded);
    release.set();  // the held handler now answers; the answer must find nobody
    const std::string next = co_await c.call(echo, "next");
    CHECK(next == "next");
    const std::string spared = co_await c.call({.timeout = 10s}, echo, "with time to spare");
    CHECK(spared == "with time to spare");
    CHECK(served == 3);
    CHECK(c.is_open());
    co_await c.close();
  });
}

TEST_CASE("callers past the in-flight cap wait for a slot and all complete", "[rpc]") {
  rig r;
  int running = 0;
  int most_running = 0;
  r.router.on(add, [&](duet::call_context& ctx, int a, int b) -> duet::task<int> {
    ++running;
    most_running = std::max(most_running, running);
    co_await ctx.loop().schedule();
    --running;
    co_return a + b;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect({.max_in_flight = 3});
    std::vector<duet::task<int>> calls;
    for (int i = 0; i < 50; ++i) calls.push_back(c.call(add, i, 1));
    std::vector<int> answers = co_await duet::when_all(std::move(calls));
    for (int i = 0; i < 50; ++i) CHECK(answers[static_cast<std::size_t>(i)] == i + 1);
    CHECK(most_running <= 3);
    CHECK(most_running >= 1);
    co_await c.close();
  });
}

TEST_CASE("a thousand concurrent calls on one connection each get their own answer", "[rpc]") {
  rig r;
  r.router.on(add, [](duet::call_context& ctx, int a, int b) -> duet::task<int> {
    // Answer in an order unrelated to arrival: odd ones wait a turn.
    if (a % 2 != 0) co_await ctx.loop().schedule();
    co_return a + b;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    std::vector<duet::task<int>> calls;
    for (int i = 0; i < 1000; ++i) calls.push_back(c.call(add, i, i));
    std::vector<int> answers = co_await duet::when_all(std::move(calls));
    for (int i = 0; i < 1000; ++i) REQUIRE(answers[static_cast<std::size_t>(i)] == 2 * i);
    co_await c.close();
  });
}

TEST_CASE("pending calls end with unavailable when the server stops", "[rpc]") {
  rig r;
  duet::async_event never;
  duet::async_event arrived;
  r.router.on(echo, [&](std::string s) -> duet::task<std::string> {
    arrived.set();
    co_await never;
    co_return s;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    auto pending = [&]() -> duet::task<void> {
      duet::result<std::string> result = co_await c.try_call(echo, "never answered");
      CHECK(result.code() == duet::status_code::unavailable);
    };
    auto stopper = [&]() -> duet::task<void> {
      co_await arrived;
      r.server.stop();
    };
    co_await duet::when_all(pending(), stopper());
    CHECK_FALSE(c.is_open());
    duet::result<int> after = co_await c.try_call(add, 1, 2);
    CHECK(after.code() == duet::status_code::unavailable);
    never.set();  // let the handler finish so the server can end
    co_await c.close();
  });
}

TEST_CASE("closing a client ends its pending calls with cancelled", "[rpc]") {
  rig r;
  duet::async_event never;
  duet::async_event arrived;
  r.router.on(echo, [&](std::string s) -> duet::task<std::string> {
    arrived.set();
    co_await never;
    co_return s;
  });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    auto pending = [&]() -> duet::task<void> {
      duet::result<std::string> result = co_await c.try_call(echo, "x");
      CHECK(result.code() == duet::status_code::cancelled);
    };
    auto closer = [&]() -> duet::task<void> {
      co_await arrived;
      co_await c.close();
    };
    co_await duet::when_all(pending(), closer());
    never.set();
  });
}

TEST_CASE("a large payload makes the round trip intact", "[rpc]") {
  rig r;
  r.router.on(bytes, [](std::vector<std::byte> v) { return v; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    std::vector<std::byte> big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 131 + 7);
    const std::vector<std::byte> back = co_await c.call(bytes, big);
    CHECK(back == big);
    co_await c.close();
  });
}

TEST_CASE("a request larger than the server accepts fails alone with resource_exhausted", "[rpc]") {
  duet::server_options options;
  options.session.max_frame_size = 4096;
  rig r(options);
  r.router.on(bytes, [](std::vector<std::byte> v) { return v; });
  r.run([&]() -> duet::task<void> {
    auto c = r.connect();
    co_await c.call(bytes, std::vector<std::byte>(16));  // the server's hello has arrived
    duet::result<std::vector<std::byte>> too_big = co_await c.try_call(bytes, std::vector<std::byte>(8192));
    CHECK(too_big.code() == duet::status_code::resource_exhausted);
    const std::vector<std::byte> fits = co_await c.call(bytes, std::vector<std::byte>(100));
    CHECK(fits.size() == 100);
    co_await c.close();
  });
}
