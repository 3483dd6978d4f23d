#pragma once

#include <duet/loop/event_loop.hpp>

namespace duet::inline v0::detail {

/// A timer in a coroutine handler's frame that fires at the request's
/// deadline and calls `on_fire(target)`; disarmed when the handler ends (its
/// destructor), so a handler that finishes in time costs one start and one
/// cancel. Loop thread only.
struct deadline_watch : timer_node {
  event_loop* loop = nullptr;
  void* target = nullptr;
  void (*on_fire)(void* target) noexcept = nullptr;

  deadline_watch() noexcept { set_callback(&fire); }
  deadline_watch(const deadline_watch&) = delete;
  deadline_watch& operator=(const deadline_watch&) = delete;
  ~deadline_watch() { stop(); }

  void start(event_loop& l, time_point when, void* t, void (*f)(void*) noexcept) {
    loop = &l;
    target = t;
    on_fire = f;
    l.start_timer(*this, when);
  }
  void stop() noexcept {
    if (loop != nullptr && armed()) loop->cancel_timer(*this);
  }

 private:
  static void fire(timer_node& node) noexcept {
    auto& self = static_cast<deadline_watch&>(node);
    self.on_fire(self.target);
  }
};

}  // namespace duet::inline v0::detail
