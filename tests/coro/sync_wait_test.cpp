#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>

#include <catch2/catch.hpp>

#include <coroutine>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include "support/counted.hpp"

namespace {

/// An awaitable that suspends its awaiter and hands the handle to the test,
/// which resumes it from another thread. The value is written before the
/// resume, so the resumer thread "produces" it.
struct handed_over {
  std::promise<std::coroutine_handle<>>* m_handoff;
  int* m_value;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const { m_handoff->set_value(h); }
  int await_resume() const noexcept { return *m_value; }
};

}  // namespace

TEST_CASE("sync_wait returns the value of an awaitable completed on another thread", "[coro]") {
  std::promise<std::coroutine_handle<>> handoff;
  auto handle = handoff.get_future();
  int value = 0;
  std::thread::id resumed_on;
  std::thread resumer([&] {
    auto h = handle.get();  // blocks until the awaiter has suspended
    value = 17;
    h.resume();
  });
  auto body = [&]() -> duet::task<int> {
    int v = co_await handed_over{&handoff, &value};
    resumed_on = std::this_thread::get_id();
    co_return v + 1;
  };
  const std::thread::id resumer_id = resumer.get_id();
  int result = duet::sync_wait(body());
  resumer.join();
  CHECK(result == 18);
  CHECK(resumed_on == resumer_id);  // the completing thread resumed the task
}

TEST_CASE("sync_wait accepts a plain awaiter, not only tasks", "[coro]") {
  struct ready_now {
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    double await_resume() const noexcept { return 2.5; }
  };
  CHECK(duet::sync_wait(ready_now{}) == 2.5);
}

TEST_CASE("sync_wait rethrows the exception an awaitable completed with", "[coro]") {
  auto failing = []() -> duet::task<int> {
    throw std::out_of_range("nope");
    co_return 1;
  };
  CHECK_THROWS_AS(duet::sync_wait(failing()), std::out_of_range);
}

TEST_CASE("sync_wait returns move-only values and references", "[coro]") {
  auto make = []() -> duet::task<std::unique_ptr<int>> { co_return std::make_unique<int>(4); };
  std::unique_ptr<int> p = duet::sync_wait(make());
  REQUIRE(p);
  CHECK(*p == 4);

  int target = 0;
  auto ref = [&]() -> duet::task<int&> { co_return target; };
  CHECK(&duet::sync_wait(ref()) == &target);

  duet::test::counted::reset();
  {
    auto make_counted = []() -> duet::task<duet::test::counted> { co_return duet::test::counted{1}; };
    auto c = duet::sync_wait(make_counted());
    CHECK(c.id == 1);
  }
  CHECK(duet::test::counted::copies == 0);
  CHECK(duet::test::counted::alive() == 0);
}
