#pragma once

#include <duet/loop/event_loop.hpp>

#include <coroutine>
#include <vector>

namespace duet_test {

/// Coroutines (handlers, usually) that await the gate wait there until the
/// test opens it; they then resume through the loop, in arrival order.
struct gate {
  explicit gate(duet::event_loop& l) : loop(l) {}
  duet::event_loop& loop;
  bool opened = false;
  std::vector<std::coroutine_handle<>> waiting;

  void open() {
    opened = true;
    for (std::coroutine_handle<> h : waiting) loop.post(h);
    waiting.clear();
  }
  auto operator co_await() {
    struct awaiter {
      gate& g;
      bool await_ready() const noexcept { return g.opened; }
      void await_suspend(std::coroutine_handle<> h) { g.waiting.push_back(h); }
      void await_resume() const noexcept {}
    };
    return awaiter{*this};
  }
};

}  // namespace duet_test
