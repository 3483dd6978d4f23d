#pragma once

#include <coroutine>
#include <utility>
#include <vector>

#include <duet/loop/detail/io_registration.hpp>

namespace duet::inline v0::detail {

/// The reactor backend an event_loop waits on, as the loop sees it: an
/// object on the heap and its operations as function pointers, set by
/// `make<Backend>`, the only code that names the backend's type. The loop's
/// constructors instantiate `make` only for the backends they can choose, so
/// a program that never asks for `reactor_kind::poll` on Linux compiles none
/// of the poll backend. (Not a std::variant, whose dispatch names every
/// alternative; not virtual functions, which GCC devirtualises
/// speculatively when it sees a single implementation, compiling it in.)
class reactor_ref {
 public:
  /// A reactor of type `Backend`, made with `Backend(wakeup_fd)` (which may
  /// throw std::system_error). `Backend` has `add`, `remove` and `wait` as
  /// event_loop uses them below.
  template <class Backend>
  [[nodiscard]] static reactor_ref make(int wakeup_fd) {
    reactor_ref r;
    r.m_self = new Backend(wakeup_fd);
    r.m_add = [](void* self, io_registration& registration) { static_cast<Backend*>(self)->add(registration); };
    r.m_remove = [](void* self, io_registration& registration) noexcept {
      static_cast<Backend*>(self)->remove(registration);
    };
    r.m_wait = [](void* self, int timeout_ms, std::vector<std::coroutine_handle<>>& ready) {
      return static_cast<Backend*>(self)->wait(timeout_ms, ready);
    };
    r.m_destroy = [](void* self) noexcept { delete static_cast<Backend*>(self); };
    return r;
  }

  reactor_ref(reactor_ref&& other) noexcept
      : m_self(std::exchange(other.m_self, nullptr)),
        m_add(other.m_add),
        m_remove(other.m_remove),
        m_wait(other.m_wait),
        m_destroy(other.m_destroy) {}
  reactor_ref& operator=(reactor_ref&&) = delete;
  ~reactor_ref() {
    if (m_self != nullptr) m_destroy(m_self);
  }

  /// Starts watching `registration.m_fd`; throws std::system_error.
  void add(io_registration& registration) { m_add(m_self, registration); }
  /// Stops watching; call it before the fd is closed.
  void remove(io_registration& registration) noexcept { m_remove(m_self, registration); }
  /// Sleeps up to `timeout_ms` (-1: no limit), performs the operations whose
  /// fd became ready and appends their waiters to `ready`. True when the
  /// wake-up fd was signalled.
  bool wait(int timeout_ms, std::vector<std::coroutine_handle<>>& ready) { return m_wait(m_self, timeout_ms, ready); }

 private:
  reactor_ref() = default;

  void* m_self = nullptr;
  void (*m_add)(void*, io_registration&) = nullptr;
  void (*m_remove)(void*, io_registration&) noexcept = nullptr;
  bool (*m_wait)(void*, int, std::vector<std::coroutine_handle<>>&) = nullptr;
  void (*m_destroy)(void*) noexcept = nullptr;
};

}  // namespace duet::inline v0::detail
