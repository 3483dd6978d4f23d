#pragma once

// Test-only helpers shared by the loop and transport suites.

#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include <duet/loop/event_loop.hpp>

namespace duet_test {

/// A fire-and-forget coroutine for tests: starts at once, frees itself when
/// done, terminates on an escaping exception.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

/// Stops `loop` from another thread if the test has not finished within
/// `limit`, so a broken loop fails the test instead of hanging it.
class watchdog {
public:
  explicit watchdog(duet::event_loop& loop, std::chrono::milliseconds limit = std::chrono::seconds(5))
      : m_thread([this, &loop, limit] {
          std::unique_lock lock(m_mutex);
          if (!m_cv.wait_for(lock, limit, [this] { return m_done; })) {
            m_fired = true;
            loop.stop();
          }
        }) {}

  ~watchdog() {
    {
      const std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }

  [[nodiscard]] bool fired() {
    const std::lock_guard lock(m_mutex);
    return m_fired;
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_done = false;
  bool m_fired = false;
  std::thread m_thread;  // last: started once the rest exists
};

/// Both reactor backends, one per run of the calling test (a Catch generator).
inline duet::reactor_kind any_backend() {
  return GENERATE(duet::reactor_kind::epoll, duet::reactor_kind::poll);
}

}  // namespace duet_test
