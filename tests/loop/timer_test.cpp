#include <duet/loop/event_loop.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include <duet/coro/task.hpp>

#include "loop/loop_support.hpp"

using namespace std::chrono_literals;
using duet_test::any_backend;
using duet_test::detached;

namespace {

struct recording_timer : duet::detail::timer_node {
  std::vector<int>* log = nullptr;
  int id = 0;
  int* remaining = nullptr;
  duet::event_loop* loop = nullptr;

  recording_timer() : duet::detail::timer_node(&fire) {}

  static void fire(duet::detail::timer_node& node) noexcept {
    auto& self = static_cast<recording_timer&>(node);
    self.log->push_back(self.id);
    if (--*self.remaining == 0) self.loop->stop();
  }
};

}  // namespace

TEST_CASE("sleep_for completes in deadline order, not start order", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::vector<int> order;
  int remaining = 3;
  auto sleeper = [](duet::event_loop& l, duet::duration d, int id, std::vector<int>& log, int& left) -> detached {
    const bool elapsed = co_await l.sleep_for(d);
    log.push_back(elapsed ? id : -id);
    if (--left == 0) l.stop();
  };
  sleeper(loop, 3ms, 3, order, remaining);
  sleeper(loop, 1ms, 1, order, remaining);
  sleeper(loop, 2ms, 2, order, remaining);
  loop.run();
  REQUIRE_FALSE(guard.fired());
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("sleep_for does not complete before its duration", "[loop]") {
  duet::event_loop loop(any_backend());
  auto body = [&]() -> duet::task<duet::duration> {
    const auto start = duet::clock::now();
    co_await loop.sleep_for(2ms);
    co_return duet::clock::now() - start;
  };
  CHECK(loop.block_on(body()) >= 2ms);
}

TEST_CASE("a non-positive sleep completes at once with true", "[loop]") {
  duet::event_loop loop(any_backend());
  auto body = [&]() -> duet::task<bool> {
    const bool a = co_await loop.sleep_for(0ms);
    const bool b = co_await loop.sleep_until(duet::clock::now() - 1s);
    co_return a && b;
  };
  CHECK(loop.block_on(body()));
}

TEST_CASE("a sleep with an already stopped token returns false", "[loop]") {
  duet::event_loop loop(any_backend());
  std::stop_source source;
  source.request_stop();
  auto body = [&]() -> duet::task<bool> { co_return co_await loop.sleep_for(1h, source.get_token()); };
  CHECK_FALSE(loop.block_on(body()));
}

TEST_CASE("a sleep stopped from the loop thread returns false promptly", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::stop_source source;
  auto body = [&]() -> duet::task<bool> {
    [](duet::event_loop& l, std::stop_source& s) -> detached {
      co_await l.schedule();
      s.request_stop();
    }(loop, source);
    co_return co_await loop.sleep_for(1h, source.get_token());
  };
  const auto start = duet::clock::now();
  CHECK_FALSE(loop.block_on(body()));
  CHECK(duet::clock::now() - start < 1s);
}

TEST_CASE("a sleep stopped from another thread returns false promptly on the loop thread", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::stop_source source;
  std::thread stopper;
  const auto loop_thread = std::this_thread::get_id();
  auto body = [&]() -> duet::task<bool> {
    [](duet::event_loop& l, std::stop_source& s, std::thread& t) -> detached {
      co_await l.schedule();  // the sleep below is suspended by now
      t = std::thread([&s] { s.request_stop(); });
    }(loop, source, stopper);
    const bool elapsed = co_await loop.sleep_for(1h, source.get_token());
    co_return !elapsed && std::this_thread::get_id() == loop_thread;
  };
  const auto start = duet::clock::now();
  CHECK(loop.block_on(body()));
  stopper.join();
  CHECK(duet::clock::now() - start < 1s);
}

TEST_CASE("many sleeps racing stop requests from another thread each complete exactly once", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  constexpr int count = 200;
  std::vector<std::stop_source> sources(count);
  int completed = 0;
  int remaining = count;
  for (int i = 0; i < count; ++i) {
    // Tiny sleeps, so the timer and the stop request really race.
    [](duet::event_loop& l, std::stop_token token, int& done, int& left) -> detached {
      co_await l.sleep_for(std::chrono::microseconds(50), token);
      ++done;
      if (--left == 0) l.stop();
    }(loop, sources[static_cast<std::size_t>(i)].get_token(), completed, remaining);
  }
  std::thread stopper([&] {
    for (auto& source : sources) source.request_stop();
  });
  loop.run();
  stopper.join();
  REQUIRE_FALSE(guard.fired());
  CHECK(completed == count);
}

TEST_CASE("a cancelled timer never fires and others still do", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::vector<int> log;
  int remaining = 2;
  recording_timer timers[3];
  for (int i = 0; i < 3; ++i) {
    timers[i].log = &log;
    timers[i].id = i;
    timers[i].remaining = &remaining;
    timers[i].loop = &loop;
    loop.start_timer(timers[i], duet::deadline_after(std::chrono::milliseconds(1 + i)));
    CHECK(timers[i].armed());
  }
  loop.cancel_timer(timers[1]);
  CHECK_FALSE(timers[1].armed());
  loop.cancel_timer(timers[1]);  // cancelling twice is a no-op
  loop.run();
  REQUIRE_FALSE(guard.fired());
  CHECK(log == std::vector<int>{0, 2});
  CHECK_FALSE(timers[0].armed());
  CHECK_FALSE(timers[2].armed());
}

TEST_CASE("restarting an armed timer moves its deadline", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  std::vector<int> log;
  int remaining = 2;
  recording_timer timers[2];
  for (int i = 0; i < 2; ++i) {
    timers[i].log = &log;
    timers[i].id = i;
    timers[i].remaining = &remaining;
    timers[i].loop = &loop;
  }
  const auto now = duet::clock::now();
  loop.start_timer(timers[0], now + 1ms);
  loop.start_timer(timers[1], now + 2ms);
  loop.start_timer(timers[0], now + 3ms);
  loop.run();
  REQUIRE_FALSE(guard.fired());
  CHECK(log == std::vector<int>{1, 0});
}

TEST_CASE("ten thousand timers fire in deadline order, equal deadlines in start order", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  constexpr int count = 10'000;
  std::vector<recording_timer> timers(count);
  std::vector<int> log;
  log.reserve(count);
  int remaining = count;
  std::mt19937 random(1234);
  std::uniform_int_distribution<int> offset_us(0, 3000);
  const auto base = duet::clock::now();
  for (int i = 0; i < count; ++i) {
    auto& timer = timers[static_cast<std::size_t>(i)];
    timer.log = &log;
    timer.id = i;
    timer.remaining = &remaining;
    timer.loop = &loop;
    // Coarse (100 us) buckets so many deadlines tie.
    loop.start_timer(timer, base + std::chrono::microseconds(offset_us(random) / 100 * 100));
  }
  // Cancel every tenth, from the middle of the heap too.
  int cancelled = 0;
  for (int i = 0; i < count; i += 10) {
    loop.cancel_timer(timers[static_cast<std::size_t>(i)]);
    ++cancelled;
  }
  remaining -= cancelled;
  loop.run();
  REQUIRE_FALSE(guard.fired());
  REQUIRE(log.size() == static_cast<std::size_t>(count - cancelled));
  bool ordered = true;
  for (std::size_t i = 1; i < log.size(); ++i) {
    const auto& a = timers[static_cast<std::size_t>(log[i - 1])];
    const auto& b = timers[static_cast<std::size_t>(log[i])];
    ordered = ordered && (a.deadline() < b.deadline() || (a.deadline() == b.deadline() && log[i - 1] < log[i]));
  }
  CHECK(ordered);
  CHECK(std::none_of(log.begin(), log.end(), [](int id) { return id % 10 == 0; }));
}

TEST_CASE("a timer callback may re-arm its own timer", "[loop]") {
  duet::event_loop loop(any_backend());
  duet_test::watchdog guard(loop);
  struct ticker : duet::detail::timer_node {
    duet::event_loop* loop = nullptr;
    int ticks = 0;
    ticker() : duet::detail::timer_node(&tick) {}
    static void tick(duet::detail::timer_node& node) noexcept {
      auto& self = static_cast<ticker&>(node);
      if (++self.ticks == 5) {
        self.loop->stop();
      } else {
        // Due immediately: fires on the next turn, not in this one forever.
        self.loop->start_timer(self, duet::clock::now());
      }
    }
  } timer;
  timer.loop = &loop;
  loop.start_timer(timer, duet::clock::now());
  loop.run();
  REQUIRE_FALSE(guard.fired());
  CHECK(timer.ticks == 5);
}
