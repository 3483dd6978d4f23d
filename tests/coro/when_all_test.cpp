#include <duet/coro/sync_wait.hpp>
#include <duet/coro/task.hpp>
#include <duet/coro/when_all.hpp>

#include <catch2/catch.hpp>

#include <coroutine>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "support/counted.hpp"

using duet::sync_wait;
using duet::task;
using duet::when_all;

namespace {

task<int> value(int v) { co_return v; }

task<std::string> text(std::string s) { co_return s; }

task<> nothing(int& runs) {
  ++runs;
  co_return;
}

/// Suspends its awaiter and hands the handle over to another thread.
struct handed_over_void {
  std::promise<std::coroutine_handle<>>* m_handoff;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const { m_handoff->set_value(h); }
  void await_resume() const noexcept {}
};

}  // namespace

TEST_CASE("when_all yields a tuple of mixed results in argument order, void as monostate", "[coro]") {
  int runs = 0;
  int target = 0;
  auto ref = [&]() -> task<int&> { co_return target; };
  auto owned = []() -> task<std::unique_ptr<int>> { co_return std::make_unique<int>(8); };

  auto [i, v, s, r, p] = sync_wait(when_all(value(1), nothing(runs), text("two"), ref(), owned()));
  STATIC_REQUIRE(std::is_same_v<decltype(v), std::monostate>);
  STATIC_REQUIRE(std::is_same_v<decltype(r), int&>);
  CHECK(i == 1);
  CHECK(runs == 1);
  CHECK(s == "two");
  CHECK(&r == &target);
  REQUIRE(p);
  CHECK(*p == 8);
}

TEST_CASE("when_all with no operands completes at once with an empty tuple", "[coro]") {
  auto result = sync_wait(when_all());
  STATIC_REQUIRE(std::is_same_v<decltype(result), std::tuple<>>);
}

TEST_CASE("when_all does not start its operands until it is awaited", "[coro]") {
  int runs = 0;
  auto all = when_all(nothing(runs), nothing(runs));
  CHECK(runs == 0);
  sync_wait(std::move(all));
  CHECK(runs == 2);
}

TEST_CASE("when_all over a vector of tasks yields their results in order", "[coro]") {
  std::vector<task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(value(i * i));
  std::vector<int> results = sync_wait(when_all(std::move(tasks)));
  REQUIRE(results.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(results[static_cast<std::size_t>(i)] == i * i);
}

TEST_CASE("when_all over an empty vector completes at once with an empty result", "[coro]") {
  CHECK(sync_wait(when_all(std::vector<task<int>>{})).empty());
  sync_wait(when_all(std::vector<task<>>{}));  // task<void>: completes, yields nothing
  SUCCEED();
}

TEST_CASE("when_all over void tasks runs every one of them", "[coro]") {
  int runs = 0;
  std::vector<task<>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(nothing(runs));
  auto all = when_all(std::move(tasks));
  STATIC_REQUIRE(std::is_same_v<decltype(all), task<>>);
  sync_wait(std::move(all));
  CHECK(runs == 5);
}

TEST_CASE("when_all over reference tasks yields reference wrappers to the referents", "[coro]") {
  int a = 1;
  int b = 2;
  auto ref = [](int& x) -> task<int&> { co_return x; };
  std::vector<task<int&>> tasks;
  tasks.push_back(ref(a));
  tasks.push_back(ref(b));
  std::vector<std::reference_wrapper<int>> results = sync_wait(when_all(std::move(tasks)));
  REQUIRE(results.size() == 2);
  CHECK(&results[0].get() == &a);
  CHECK(&results[1].get() == &b);
}

TEST_CASE("when_all runs every operand to completion before rethrowing the first exception", "[coro]") {
  int finished = 0;
  auto fail = [&](std::string what) -> task<int> {
    ++finished;
    throw std::runtime_error(what);
    co_return 0;
  };
  auto succeed = [&]() -> task<int> {
    ++finished;
    co_return 1;
  };
  CHECK_THROWS_WITH(sync_wait(when_all(succeed(), fail("first"), succeed(), fail("second"))), "first");
  CHECK(finished == 4);

  finished = 0;
  std::vector<task<int>> tasks;
  tasks.push_back(succeed());
  tasks.push_back(fail("one"));
  tasks.push_back(fail("two"));
  tasks.push_back(succeed());
  CHECK_THROWS_WITH(sync_wait(when_all(std::move(tasks))), "one");
  CHECK(finished == 4);
}

TEST_CASE("when_all completes when a child finishes on another thread, resumed by that thread", "[coro]") {
  std::promise<std::coroutine_handle<>> handoff;
  auto handle = handoff.get_future();
  std::thread resumer([&] { handle.get().resume(); });
  const std::thread::id resumer_id = resumer.get_id();

  std::thread::id completed_on;
  auto remote = [&]() -> task<std::string> {
    co_await handed_over_void{&handoff};
    co_return "remote";
  };
  auto outer = [&]() -> task<std::string> {
    auto [local, far] = co_await when_all(value(3), remote());
    completed_on = std::this_thread::get_id();
    co_return std::to_string(local) + far;
  };
  std::string result = sync_wait(outer());
  resumer.join();
  CHECK(result == "3remote");
  CHECK(completed_on == resumer_id);
}

TEST_CASE("when_all moves results out without copies and leaks nothing", "[coro]") {
  using duet::test::counted;
  counted::reset();
  {
    auto make = [](int id) -> task<counted> { co_return counted{id}; };
    auto [a, b] = sync_wait(when_all(make(1), make(2)));
    CHECK(a.id + b.id == 3);

    std::vector<task<counted>> tasks;
    tasks.push_back(make(3));
    auto all = sync_wait(when_all(std::move(tasks)));
    CHECK(all.at(0).id == 3);
  }
  CHECK(counted::copies == 0);
  CHECK(counted::alive() == 0);
}

template <class T>
concept when_all_accepts = requires(T&& operand) { duet::when_all(static_cast<T&&>(operand)); };

TEST_CASE("when_all takes its operands by value, so task lvalues must be moved in", "[coro]") {
  STATIC_REQUIRE(when_all_accepts<task<int>>);
  STATIC_REQUIRE_FALSE(when_all_accepts<task<int>&>);
  STATIC_REQUIRE_FALSE(when_all_accepts<int>);
}

TEST_CASE("when_all resumes its awaiter once when children finish concurrently on several threads", "[coro]") {
  constexpr int child_count = 128;
  std::vector<std::promise<std::coroutine_handle<>>> handoffs(child_count);
  auto child = [](std::promise<std::coroutine_handle<>>& handoff, int v) -> task<int> {
    co_await handed_over_void{&handoff};
    co_return v;
  };
  std::vector<task<int>> tasks;
  for (int i = 0; i < child_count; ++i) tasks.push_back(child(handoffs[static_cast<std::size_t>(i)], i));
  auto resume_range = [&](int from, int to) {
    for (int i = from; i < to; ++i) handoffs[static_cast<std::size_t>(i)].get_future().get().resume();
  };
  std::thread a(resume_range, 0, child_count / 2);
  std::thread b(resume_range, child_count / 2, child_count);
  std::vector<int> results = sync_wait(when_all(std::move(tasks)));
  a.join();
  b.join();
  REQUIRE(results.size() == child_count);
  long sum = 0;
  for (int r : results) sum += r;
  CHECK(sum == child_count * (child_count - 1) / 2);
}
