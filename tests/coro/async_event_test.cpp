#include <duet/coro/async_event.hpp>
#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>

#include <catch2/catch.hpp>

#include <coroutine>
#include <thread>

namespace {

/// A detached coroutine that starts at once and frees itself at the end, so a
/// test can leave a waiter suspended on an event.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

detached wait_then(duet::async_event& ev, int& stage, std::thread::id& resumed_on) {
  stage = 1;
  co_await ev;
  stage = 2;
  resumed_on = std::this_thread::get_id();
}

}  // namespace

TEST_CASE("awaiting a set event completes without suspending", "[coro]") {
  duet::async_event ev;
  CHECK_FALSE(ev.is_set());
  ev.set();
  CHECK(ev.is_set());
  duet::sync_wait(ev);  // would block forever if it suspended
  duet::async_event initially(true);
  CHECK(initially.is_set());
  duet::sync_wait(initially);
}

TEST_CASE("set resumes the waiting coroutine inline on the setting thread", "[coro]") {
  duet::async_event ev;
  int stage = 0;
  std::thread::id resumed_on;
  wait_then(ev, stage, resumed_on);
  CHECK(stage == 1);  // suspended on the unset event
  ev.set();
  CHECK(stage == 2);  // resumed before set() returned
  CHECK(resumed_on == std::this_thread::get_id());
  ev.set();  // setting again is harmless
  CHECK(ev.is_set());
}

TEST_CASE("reset makes a set event block awaiters again", "[coro]") {
  duet::async_event ev(true);
  ev.reset();
  CHECK_FALSE(ev.is_set());
  int stage = 0;
  std::thread::id resumed_on;
  wait_then(ev, stage, resumed_on);
  CHECK(stage == 1);
  ev.reset();  // does not disturb the waiter
  CHECK(stage == 1);
  ev.set();
  CHECK(stage == 2);
}

TEST_CASE("an event set from another thread resumes the waiter on that thread", "[coro]") {
  duet::async_event ev;
  int stage = 0;
  std::thread::id resumed_on;
  wait_then(ev, stage, resumed_on);
  REQUIRE(stage == 1);
  std::thread setter([&] { ev.set(); });
  const std::thread::id setter_id = setter.get_id();
  setter.join();
  CHECK(stage == 2);
  CHECK(resumed_on == setter_id);
}
