#include <duet/loop/event_loop.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <duet/coro/task.hpp>

#include "loop/loop_support.hpp"

using namespace std::chrono_literals;
using duet_test::any_backend;
using duet_test::detached;

namespace {

duet::task<int> answer(duet::event_loop& loop) {
  co_await loop.schedule();
  co_return 42;
}

duet::task<int&> pick(duet::event_loop& loop, int& target) {
  co_await loop.schedule();
  co_return target;
}

duet::task<void> fail(duet::event_loop& loop) {
  co_await loop.schedule();
  throw std::runtime_error("boom");
}

// Hands the awaiting coroutine to a new thread, which posts it back.
struct post_from_other_thread {
  duet::event_loop& loop;
  std::thread& thread;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    thread = std::thread([this, handle] { loop.post(handle); });
  }
  void await_resume() const noexcept {}
};

}  // namespace

TEST_CASE("block_on returns the awaitable's value", "[loop]") {
  duet::event_loop loop(any_backend());
  CHECK(loop.block_on(answer(loop)) == 42);
}

TEST_CASE("block_on returns a reference result as the same reference", "[loop]") {
  duet::event_loop loop(any_backend());
  int target = 7;
  int& result = loop.block_on(pick(loop, target));
  CHECK(&result == &target);
}

TEST_CASE("block_on rethrows the awaitable's exception", "[loop]") {
  duet::event_loop loop(any_backend());
  CHECK_THROWS_WITH(loop.block_on(fail(loop)), "boom");
}

TEST_CASE("the default loop uses the epoll backend on Linux", "[loop]") {
  duet::event_loop loop;
  CHECK(loop.kind() == duet::default_reactor);
#if defined(__linux__)
  CHECK(loop.kind() == duet::reactor_kind::epoll);
#endif
}

TEST_CASE("a post from another thread wakes a sleeping loop and resumes on the loop thread", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::thread poster;
  const auto loop_thread = std::this_thread::get_id();
  auto hop = [&]() -> duet::task<bool> {
    co_await post_from_other_thread{loop, poster};
    co_return std::this_thread::get_id() == loop_thread && loop.in_loop_thread();
  };
  // The loop has no timer and nothing posted: only the wake-up can resume it.
  CHECK(loop.block_on(hop()));
  poster.join();
  CHECK_FALSE(guard.fired());
}

TEST_CASE("schedule() moves a coroutine from another thread onto the loop thread", "[loop]") {
  duet::event_loop loop(any_backend());
  std::atomic<std::thread::id> resumed_on{};
  std::thread runner;
  {
    duet_test::watchdog guard(loop);
    runner = std::thread([&] { loop.run(); });
    [](duet::event_loop& l, std::atomic<std::thread::id>& where) -> detached {
      co_await l.schedule();
      where = std::this_thread::get_id();
      l.stop();
    }(loop, resumed_on);
    runner.join();
    CHECK_FALSE(guard.fired());
  }
  CHECK(resumed_on.load() != std::this_thread::get_id());
  CHECK(resumed_on.load() != std::thread::id{});
}

TEST_CASE("stop() from another thread makes a sleeping run() return", "[loop]") {
  duet::event_loop loop(any_backend());
  std::thread stopper;
  bool fallback_fired = false;
  // A distant timer bounds the test if stop() failed to wake the loop.
  struct fallback_timer : duet::detail::timer_node {
    bool* fired;
    duet::event_loop* loop;
  } fallback;
  fallback.fired = &fallback_fired;
  fallback.loop = &loop;
  fallback.set_callback([](duet::detail::timer_node& node) noexcept {
    auto& self = static_cast<fallback_timer&>(node);
    *self.fired = true;
    self.loop->stop();
  });
  [](duet::event_loop& l, std::thread& t) -> detached {
    co_await l.schedule();  // now inside run(): start the stopper
    t = std::thread([&l] { l.stop(); });
  }(loop, stopper);
  loop.start_timer(fallback, duet::deadline_after(3s));
  const auto start = duet::clock::now();
  loop.run();
  stopper.join();
  loop.cancel_timer(fallback);
  CHECK_FALSE(fallback_fired);
  CHECK(duet::clock::now() - start < 2s);
}

TEST_CASE("stop() before run() makes run() return after one turn", "[loop]") {
  duet::event_loop loop(any_backend());
  loop.stop();
  loop.run();  // returns: the test would hang otherwise
  SUCCEED();
}

TEST_CASE("posted handles from several threads are each resumed exactly once, FIFO per thread", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  std::vector<std::coroutine_handle<>> handles(threads * per_thread);
  std::vector<int> resumed(threads * per_thread, 0);
  std::vector<int> order;
  int remaining = threads * per_thread;
  struct park {
    std::coroutine_handle<>& slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { slot = h; }
    void await_resume() const noexcept {}
  };
  for (int i = 0; i < threads * per_thread; ++i) {
    [](park p, int& count, std::vector<int>& log, int id, int& left, duet::event_loop& l) -> detached {
      co_await p;
      ++count;
      log.push_back(id);
      if (--left == 0) l.stop();
    }(park{handles[static_cast<std::size_t>(i)]}, resumed[static_cast<std::size_t>(i)], order, i, remaining, loop);
  }
  std::vector<std::thread> posters;
  for (int t = 0; t < threads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) loop.post(handles[static_cast<std::size_t>(t * per_thread + i)]);
    });
  }
  loop.run();
  for (auto& poster : posters) poster.join();
  REQUIRE_FALSE(guard.fired());
  CHECK(std::count(resumed.begin(), resumed.end(), 1) == threads * per_thread);
  // Per poster, the handles came out in the order they went in.
  std::vector<int> last(threads, -1);
  bool fifo = true;
  for (int id : order) {
    fifo = fifo && id > last[static_cast<std::size_t>(id / per_thread)];
    last[static_cast<std::size_t>(id / per_thread)] = id;
  }
  CHECK(fifo);
}

TEST_CASE("stop() during block_on destroys the suspended work and throws operation_canceled", "[loop]") {
  duet::event_loop loop(any_backend());
  auto forever = [&]() -> duet::task<int> {
    co_await loop.sleep_for(1h);
    co_return 1;
  };
  auto stopper = [&]() -> duet::task<int> {
    [](duet::event_loop& l) -> detached {
      co_await l.schedule();
      l.stop();
    }(loop);
    co_return co_await forever();
  };
  try {
    (void)loop.block_on(stopper());
    FAIL("block_on returned");
  } catch (const std::system_error& error) {
    CHECK(error.code() == std::errc::operation_canceled);
  }
  // The abandoned sleep left no timer behind: the loop still works.
  CHECK(loop.block_on(answer(loop)) == 42);
}

TEST_CASE("block_on accepts any awaitable, not only tasks", "[loop]") {
  duet::event_loop loop(any_backend());
  CHECK(loop.block_on(loop.sleep_for(1ms)));
  loop.block_on(loop.schedule());
  SUCCEED();
}
