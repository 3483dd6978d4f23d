// The loop's steady state does not allocate: posting, scheduling, sleeping
// and arming timers reuse storage once it has grown.

#include "loop/allocation_counter.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>

using namespace std::chrono_literals;

TEST_CASE("schedule, sleep and timers do not allocate once warmed up", "[loop]") {
  if (!duet_test::allocation_counter::available) {
    WARN("AddressSanitizer owns operator new: allocation counting skipped");
    return;
  }
  duet::event_loop loop(GENERATE(duet::reactor_kind::epoll, duet::reactor_kind::poll));
  auto body = [&]() -> duet::task<std::size_t> {
    for (int i = 0; i < 64; ++i) {  // warm-up: queues and heap grow here
      co_await loop.schedule();
      co_await loop.sleep_until(duet::clock::now());
      co_await loop.sleep_for(1us);
    }
    duet_test::allocation_counter::start();
    for (int i = 0; i < 1000; ++i) {
      co_await loop.schedule();
      co_await loop.sleep_for(1us);
    }
    co_return duet_test::allocation_counter::stop();
  };
  CHECK(loop.block_on(body()) == 0);
}
