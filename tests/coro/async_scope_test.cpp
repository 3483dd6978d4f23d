#include <duet/coro/async_event.hpp>
#include <duet/coro/async_scope.hpp>
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <coroutine>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/counted.hpp"

using duet::async_event;
using duet::async_scope;
using duet::sync_wait;
using duet::task;

namespace {

task<> increment(int& n) {
  ++n;
  co_return;
}

task<> wait_and_increment(async_event& ev, int& n) {
  co_await ev;
  ++n;
}

}  // namespace

TEST_CASE("spawn starts the work before it returns", "[coro]") {
  async_scope scope;
  int n = 0;
  scope.spawn(increment(n));
  CHECK(n == 1);
  CHECK(scope.pending() == 0);
  sync_wait(scope.join());
}

TEST_CASE("join on a scope with nothing pending completes at once", "[coro]") {
  async_scope scope;
  CHECK(scope.pending() == 0);
  sync_wait(scope.join());  // would block forever if it suspended
  SUCCEED();
}

TEST_CASE("join completes only once every spawned piece of work has finished", "[coro]") {
  async_scope scope;
  async_event first;
  async_event second;
  int n = 0;
  scope.spawn(wait_and_increment(first, n));
  scope.spawn(wait_and_increment(second, n));
  CHECK(scope.pending() == 2);

  bool joined = false;
  auto joiner = [&]() -> task<> {
    co_await scope.join();
    joined = true;
  };
  auto join_task = joiner();
  async_scope outer;
  outer.spawn(std::move(join_task));
  CHECK_FALSE(joined);
  first.set();
  CHECK(n == 1);
  CHECK_FALSE(joined);
  CHECK(scope.pending() == 1);
  second.set();  // the last one resumes the joiner inline
  CHECK(n == 2);
  CHECK(joined);
  CHECK(scope.pending() == 0);
  sync_wait(outer.join());
}

TEST_CASE("join rethrows the first exception spawned work threw, then is clear", "[coro]") {
  async_scope scope;
  auto fail = [](const char* what) -> task<> {
    throw std::runtime_error(what);
    co_return;
  };
  scope.spawn(fail("first"));
  scope.spawn(fail("second"));
  CHECK(scope.pending() == 0);
  CHECK_THROWS_WITH(sync_wait(scope.join()), "first");
  sync_wait(scope.join());  // the exceptions were consumed by the first join
  int n = 0;
  scope.spawn(increment(n));  // the scope is reusable after a join
  CHECK(n == 1);
  sync_wait(scope.join());
}

TEST_CASE("spawn accepts awaitables other than tasks", "[coro]") {
  // An awaitable (not an awaiter) that refers to an event.
  struct event_ref {
    async_event* m_event;
    auto operator co_await() const noexcept { return m_event->operator co_await(); }
  };
  async_scope scope;
  async_event ev;
  scope.spawn(std::suspend_never{});
  CHECK(scope.pending() == 0);
  scope.spawn(event_ref{&ev});
  CHECK(scope.pending() == 1);
  ev.set();
  CHECK(scope.pending() == 0);
  sync_wait(scope.join());
}

TEST_CASE("spawning many synchronously completing tasks does not grow the stack", "[coro]") {
  async_scope scope;
  int n = 0;
  for (int i = 0; i < 100'000; ++i) scope.spawn(increment(n));
  CHECK(n == 100'000);
  CHECK(scope.pending() == 0);
  sync_wait(scope.join());
}

TEST_CASE("work finished on another thread resumes the joiner on that thread", "[coro]") {
  async_scope scope;
  async_event ev;
  int n = 0;
  scope.spawn(wait_and_increment(ev, n));
  std::thread::id joined_on;
  bool joined = false;
  auto joiner = [&]() -> task<> {
    co_await scope.join();
    joined_on = std::this_thread::get_id();
    joined = true;
  };
  async_scope outer;
  outer.spawn(joiner());  // suspends in join: the work is still waiting on ev
  REQUIRE_FALSE(joined);
  std::thread setter([&] { ev.set(); });
  const std::thread::id setter_id = setter.get_id();
  setter.join();
  CHECK(n == 1);
  CHECK(joined);
  CHECK(joined_on == setter_id);
  sync_wait(outer.join());
}

TEST_CASE("spawned work is destroyed once it finishes, without copies", "[coro]") {
  using duet::test::counted;
  counted::reset();
  {
    async_scope scope;
    async_event ev;
    auto hold = [](counted c, async_event& e) -> task<int> {
      co_await e;
      co_return c.id;
    };
    scope.spawn(hold(counted{1}, ev));
    CHECK(counted::alive() == 1);
    ev.set();
    CHECK(counted::alive() == 0);
    sync_wait(scope.join());
  }
  CHECK(counted::copies == 0);
  CHECK(counted::alive() == 0);
}

template <class T>
concept spawnable = requires(async_scope& s, T&& operand) { s.spawn(static_cast<T&&>(operand)); };

TEST_CASE("spawn takes its operand by value, so task lvalues must be moved in", "[coro]") {
  STATIC_REQUIRE(spawnable<task<>>);
  STATIC_REQUIRE_FALSE(spawnable<task<>&>);
  STATIC_REQUIRE_FALSE(spawnable<int>);
}

TEST_CASE("join completes exactly once when work finishes concurrently on several threads", "[coro]") {
  constexpr int work_count = 256;
  async_scope scope;
  std::vector<std::unique_ptr<async_event>> events;
  std::atomic<int> finished{0};
  auto work = [&](async_event& ev) -> task<> {
    co_await ev;
    finished.fetch_add(1, std::memory_order_relaxed);
  };
  for (int i = 0; i < work_count; ++i) {
    events.push_back(std::make_unique<async_event>());
    scope.spawn(work(*events.back()));
  }
  std::atomic<int> joins{0};
  auto joiner = [&]() -> task<> {
    co_await scope.join();
    joins.fetch_add(1, std::memory_order_relaxed);
  };
  async_scope outer;
  outer.spawn(joiner());
  auto set_range = [&](int from, int to) {
    for (int i = from; i < to; ++i) events[static_cast<std::size_t>(i)]->set();
  };
  std::thread a(set_range, 0, work_count / 2);
  std::thread b(set_range, work_count / 2, work_count);
  a.join();
  b.join();
  CHECK(finished.load() == work_count);
  CHECK(joins.load() == 1);
  CHECK(scope.pending() == 0);
  sync_wait(outer.join());
}
