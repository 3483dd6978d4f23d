#pragma once

#include <duet/config.hpp>

#include <atomic>
#include <chrono>
#include <climits>  // INT_MAX
#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <system_error>
#include <thread>  // std::this_thread::get_id
#include <type_traits>
#include <utility>
#include <vector>

#include <duet/coro/concepts.hpp>
#include <duet/coro/detail/promise_result.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/detail/io_registration.hpp>
#include <duet/loop/detail/reactor.hpp>
#include <duet/loop/detail/reactor_epoll.hpp>
#include <duet/loop/detail/reactor_poll.hpp>
#include <duet/loop/detail/timer_heap.hpp>
#include <duet/loop/detail/wakeup.hpp>
#include <duet/loop/scheduler.hpp>

// This header includes <sys/epoll.h>, <poll.h> and <unistd.h> through
// loop/detail/: a header-only loop has to define its reactor somewhere its
// users can see. Layers that must stay free of OS headers (session,
// transport/memory.hpp) depend on `duet::scheduler` (loop/scheduler.hpp)
// instead and accept an event_loop through it.

namespace duet::inline v0 {

class event_loop;

/// Which readiness API an event_loop waits on. Both backends behave the
/// same; epoll is the default on Linux, poll the default elsewhere (and the
/// only one there).
enum class reactor_kind : unsigned char {
  epoll,  ///< Linux epoll, edge-triggered, one epoll_ctl per fd lifetime.
  poll,   ///< POSIX poll(2): portable, O(pending fds) per turn.
};

/// The backend `event_loop()` picks.
inline constexpr reactor_kind default_reactor =
#if defined(__linux__)
    reactor_kind::epoll;
#else
    reactor_kind::poll;
#endif

namespace detail {
template <class Result>
class block_on_driver;
}  // namespace detail

class sleep_awaiter;
class schedule_awaiter;

/// One thread's event loop: a reactor for fd readiness (epoll or poll), a
/// timer heap, and a queue of coroutine handles posted from any thread.
///
/// One thread drives a loop, by `run()` or `block_on()`; everything that
/// touches the loop's streams, timers and sessions happens on that thread.
/// The thread-safe entry points are `post`, `schedule`, `stop` and
/// `in_loop_thread`.
///
/// Each turn: wait for I/O (no longer than the next timer; not at all when
/// work is posted), complete the I/O operations that became ready, fire the
/// expired timers in deadline order, then resume the handles posted before
/// the turn began (handles posted meanwhile wait for the next turn, so a
/// coroutine that keeps re-posting itself cannot starve I/O).
///
///     int main() {
///       duet::event_loop loop;
///       return loop.block_on(main_task(loop));
///     }
///
/// The loop must outlive every stream, timer and coroutine that uses it.
/// Destroying a loop does not resume or destroy the handles still posted.
class event_loop {
public:
  /// A loop on the default backend (`default_reactor`). Throws
  /// std::system_error when the OS refuses the reactor or wake-up fd.
  event_loop();

  /// A loop on backend `kind`. Throws std::system_error when the OS refuses
  /// it (or `reactor_kind::epoll` off Linux: function_not_supported).
  explicit event_loop(reactor_kind kind);

  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  ~event_loop();

  /// The backend this loop waits on.
  [[nodiscard]] reactor_kind kind() const noexcept { return m_kind; }

  /// Runs turns on the calling thread until `stop()`. A `stop()` made while
  /// the loop was not running makes the next `run()` return after one turn.
  void run();

  /// Makes `run()` (or `block_on`) return after the current turn. Thread-safe;
  /// wakes a sleeping loop.
  void stop() noexcept {
    m_stop.store(true, std::memory_order_release);
    m_wakeup.notify();
  }

  /// Starts `awaitable` on the calling thread, which becomes the loop's
  /// thread, and runs turns until it completes; returns its result (a
  /// reference result stays a reference) or rethrows its exception.
  ///
  /// If `stop()` is called first, the awaitable's coroutine chain is
  /// destroyed where it is suspended and std::system_error
  /// (operation_canceled) is thrown.
  template <awaitable Awaitable>
  decltype(auto) block_on(Awaitable&& awaitable);

  /// Resumes `handle` on the loop thread during a later turn, exactly once,
  /// in FIFO order with other posts. Thread-safe; wakes a sleeping loop. Does
  /// not allocate in steady state (the queue's storage is reused).
  void post(std::coroutine_handle<> handle) {
    bool was_empty = false;
    {
      const std::lock_guard lock(m_mutex);
      was_empty = m_posted.empty();
      m_posted.push_back(handle);
    }
    // Only the first post of a batch needs to wake the loop: the loop looks
    // at the queue, under the mutex, before it sleeps. The loop thread itself
    // never sleeps between posting and that look.
    if (was_empty && !in_loop_thread()) m_wakeup.notify();
  }

  /// `co_await loop.schedule()` resumes the awaiting coroutine on the loop
  /// thread in a later turn. Usable from any thread (it hops to the loop) and
  /// from the loop thread (it yields to the rest of the turn's work).
  [[nodiscard]] schedule_awaiter schedule() noexcept;

  /// True when called on the thread currently running this loop.
  [[nodiscard]] bool in_loop_thread() const noexcept {
    return m_thread.load(std::memory_order_acquire) == std::this_thread::get_id();
  }

  /// `co_await loop.sleep_for(d, token)` completes on the loop thread once
  /// `d` has elapsed (true) or once `token` is stop-requested (false), from
  /// whichever thread requests it. A non-positive `d` completes at once
  /// without suspending. Loop thread only.
  [[nodiscard]] sleep_awaiter sleep_for(duration d, std::stop_token token = {});

  /// As `sleep_for`, until the point `when` on `duet::clock`.
  [[nodiscard]] sleep_awaiter sleep_until(time_point when, std::stop_token token = {});

  /// Arms (or re-arms) the intrusive timer `node` to fire at `when`: its
  /// callback runs on the loop thread during the first turn at or after
  /// `when`. Timers due in the same turn fire in deadline order (FIFO for
  /// equal deadlines). Loop thread only; may allocate only to grow the heap.
  void start_timer(detail::timer_node& node, time_point when) { m_timers.start(node, when); }

  /// Disarms `node`; a no-op if it is not armed. Loop thread only.
  void cancel_timer(detail::timer_node& node) noexcept { m_timers.cancel(node); }

  // fd readiness, for duet's socket transports (transport/detail/
  // socket_stream.hpp). Users watch their own fds through `duet::async_fd`
  // (loop/async_fd.hpp), which wraps these.

  /// Starts watching `registration.m_fd` (non-blocking) for the whole life of
  /// the registration, which must stay at the same address until
  /// `remove_io`. Throws std::system_error.
  void add_io(detail::io_registration& registration) { m_reactor.add(registration); }

  /// Makes `operation` the pending operation of `registration` in direction
  /// `which` (at most one each way). Its waiter must be set. It completes
  /// when the reactor finds the fd ready and `m_perform` says so; the waiter
  /// then resumes on the loop thread.
  void wait_io(detail::io_registration& registration, detail::io_registration::direction which,
               detail::io_operation& operation) noexcept {
    registration.pending(which) = &operation;
    operation.m_linked = true;
    // Neither backend needs to hear of it: epoll watches both directions for
    // the fd's whole life, poll looks at the pending operations each turn.
  }

  /// Unhooks the pending operation in direction `which` without resuming it
  /// (its owner resumes it: a connect that timed out).
  void forget_io(detail::io_registration& registration, detail::io_registration::direction which) noexcept {
    if (detail::io_operation* operation = std::exchange(registration.pending(which), nullptr)) {
      operation->m_linked = false;
    }
  }

  /// Cancels both pending operations (their waiters are posted with
  /// `m_canceled` set) and stops watching the fd. Call it before close(2).
  void remove_io(detail::io_registration& registration) noexcept;

private:
  template <class Result>
  friend class detail::block_on_driver;
  friend class sleep_awaiter;

  template <reactor_kind Kind>
  static detail::reactor_ref make_reactor(int wakeup_fd) {
    if constexpr (Kind == reactor_kind::poll) {
      return detail::reactor_ref::make<detail::reactor_poll>(wakeup_fd);
    } else {
#if defined(__linux__)
      return detail::reactor_ref::make<detail::reactor_epoll>(wakeup_fd);
#else
      (void)wakeup_fd;
      throw std::system_error(std::make_error_code(std::errc::function_not_supported), "duet: epoll");
#endif
    }
  }

  // Marks the calling thread as the loop's thread for a run() or block_on().
  struct thread_guard {
    explicit thread_guard(event_loop& loop) : m_loop(loop) {
      m_loop.m_thread.store(std::this_thread::get_id(), std::memory_order_release);
    }
    ~thread_guard() { m_loop.m_thread.store(std::thread::id{}, std::memory_order_release); }
    thread_guard(const thread_guard&) = delete;
    thread_guard& operator=(const thread_guard&) = delete;
    event_loop& m_loop;
  };

  void post_noexcept(std::coroutine_handle<> handle) noexcept;

  // How long the reactor may sleep this turn, in milliseconds (-1: no limit).
  int turn_timeout();

  void run_once();

  // block_on's loop, which does not depend on the result type: resumes
  // `driver` and runs turns until `done`; throws std::system_error
  // (operation_canceled) if stop() comes first.
  void run_until_done(std::coroutine_handle<> driver, const bool& done);

  reactor_kind m_kind;
  detail::wakeup m_wakeup;  // before m_reactor, which watches its fd
  detail::reactor_ref m_reactor;
  detail::timer_heap m_timers;
  std::vector<std::coroutine_handle<>> m_ready;  // I/O completions of this turn

  std::mutex m_mutex;  // guards m_posted
  std::vector<std::coroutine_handle<>> m_posted;
  std::vector<std::coroutine_handle<>> m_running;  // loop thread only

  std::atomic<bool> m_stop{false};
  std::atomic<std::thread::id> m_thread{};
};

/// The awaitable returned by `event_loop::schedule()`.
class [[nodiscard]] schedule_awaiter {
public:
  explicit schedule_awaiter(event_loop& loop) noexcept : m_loop(&loop) {}
  [[nodiscard]] bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiter) { m_loop->post(awaiter); }
  void await_resume() const noexcept {}

private:
  event_loop* m_loop;
};

inline schedule_awaiter event_loop::schedule() noexcept { return schedule_awaiter(*this); }

/// The awaitable returned by `event_loop::sleep_for` / `sleep_until`; yields
/// `true` when the time elapsed, `false` when the stop token was triggered
/// first (or was already). Resumes the awaiter on the loop thread. Not
/// copyable or movable: `co_await` it where it is created. Destroying it
/// while suspended (destroying the coroutine) cancels it; do that on the
/// loop thread.
class [[nodiscard]] sleep_awaiter : private detail::timer_node {
public:
  sleep_awaiter(event_loop& loop, time_point when, std::stop_token token) noexcept
      : detail::timer_node(&on_timer), m_loop(&loop), m_when(when), m_token(std::move(token)) {}

  sleep_awaiter(const sleep_awaiter&) = delete;
  sleep_awaiter& operator=(const sleep_awaiter&) = delete;

  ~sleep_awaiter();

  [[nodiscard]] bool await_ready() noexcept;

  void await_suspend(std::coroutine_handle<> awaiter);

  bool await_resume() noexcept;

private:
  struct stop_handler {
    sleep_awaiter* m_self;
    void operator()() const noexcept;
  };

  // Timer and stop callback race to claim the single resumption.
  static void on_timer(detail::timer_node& node) noexcept;

  event_loop* m_loop;
  time_point m_when;
  std::stop_token m_token;
  std::optional<std::stop_callback<stop_handler>> m_stop_callback;
  std::coroutine_handle<> m_waiter;
  std::atomic<bool> m_claimed{false};
  bool m_result = false;
};

inline sleep_awaiter event_loop::sleep_for(duration d, std::stop_token token) {
  return sleep_awaiter(*this, deadline_after(d), std::move(token));
}

inline sleep_awaiter event_loop::sleep_until(time_point when, std::stop_token token) {
  return sleep_awaiter(*this, when, std::move(token));
}

namespace detail {

// The coroutine block_on runs the user's awaitable in: it stores the result
// (or exception) and flags completion at its final suspend point, where the
// frame stays until block_on has taken the result.
template <class Result>
class block_on_driver {
public:
  struct promise_type : promise_result<stored_result_t<Result>> {
    bool m_done = false;

    block_on_driver get_return_object() noexcept {
      return block_on_driver(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> self) const noexcept { self.promise().m_done = true; }
        void await_resume() const noexcept {}
      };
      return final_awaiter{};
    }
  };

  block_on_driver(const block_on_driver&) = delete;
  block_on_driver& operator=(const block_on_driver&) = delete;
  ~block_on_driver() { m_handle.destroy(); }

  decltype(auto) run(event_loop& loop) {
    const event_loop::thread_guard guard(loop);
    loop.run_until_done(m_handle, m_handle.promise().m_done);
    if constexpr (std::is_void_v<Result>) {
      m_handle.promise().result();
    } else if constexpr (std::is_lvalue_reference_v<Result>) {
      return m_handle.promise().result();
    } else {
      return stored_result_t<Result>(std::move(m_handle.promise()).result());
    }
  }

private:
  explicit block_on_driver(std::coroutine_handle<promise_type> handle) noexcept : m_handle(handle) {}
  std::coroutine_handle<promise_type> m_handle;
};

template <class Result, class Awaitable>
block_on_driver<Result> make_block_on_driver(Awaitable&& awaitable) {
  if constexpr (std::is_void_v<Result>) {
    co_await static_cast<Awaitable&&>(awaitable);
  } else {
    co_return co_await static_cast<Awaitable&&>(awaitable);
  }
}

}  // namespace detail

template <awaitable Awaitable>
decltype(auto) event_loop::block_on(Awaitable&& awaitable) {
  using result = await_result_t<Awaitable>;
  // The driver borrows `awaitable`, which lives until this call returns.
  auto driver = detail::make_block_on_driver<result>(static_cast<Awaitable&&>(awaitable));
  return driver.run(*this);
}

static_assert(scheduler<event_loop>);

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

// Makes only the default backend: a program that never names another one
// compiles no other (detail::reactor_ref).
DUET_INLINE event_loop::event_loop()
    : m_kind(default_reactor), m_reactor(make_reactor<default_reactor>(m_wakeup.fd())) {}

DUET_INLINE event_loop::event_loop(reactor_kind kind)
    : m_kind(kind),
      m_reactor(kind == reactor_kind::epoll ? make_reactor<reactor_kind::epoll>(m_wakeup.fd())
                                            : make_reactor<reactor_kind::poll>(m_wakeup.fd())) {}

// Out of line only so that separate compilation keeps the reactor's and the
// wake-up fd's teardown out of the user's translation units.
DUET_INLINE event_loop::~event_loop() = default;

DUET_INLINE void event_loop::run() {
  const thread_guard guard(*this);
  do {
    run_once();
  } while (!m_stop.exchange(false, std::memory_order_acq_rel));
}

DUET_INLINE void event_loop::remove_io(detail::io_registration& registration) noexcept {
  for (auto which : {detail::io_registration::direction::read, detail::io_registration::direction::write}) {
    detail::io_operation*& slot = registration.pending(which);
    if (slot == nullptr) continue;
    detail::io_operation* operation = std::exchange(slot, nullptr);
    operation->m_canceled = true;
    operation->m_linked = false;
    // Posted, not resumed: close() is usually called from inside another
    // coroutine, which must not be re-entered.
    post_noexcept(operation->m_waiter);
  }
  m_reactor.remove(registration);
}

DUET_INLINE void event_loop::post_noexcept(std::coroutine_handle<> handle) noexcept {
  try {
    post(handle);
  } catch (...) {
    // Out of memory growing the queue: nothing sane is left to do with a
    // waiter that must be resumed exactly once.
    std::terminate();
  }
}

DUET_INLINE int event_loop::turn_timeout() {
  if (m_stop.load(std::memory_order_acquire)) return 0;
  {
    const std::lock_guard lock(m_mutex);
    if (!m_posted.empty()) return 0;
  }
  if (m_timers.empty()) return -1;
  const time_point next = m_timers.next_deadline();
  const time_point now = clock::now();
  if (next <= now) return 0;
  // Rounded up: waking a little late is fine, waking early spins.
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return wait > INT_MAX ? INT_MAX : static_cast<int>(wait);
}

DUET_INLINE void event_loop::run_once() {
  const int timeout = turn_timeout();
  const bool woken = m_reactor.wait(timeout, m_ready);
  if (woken) m_wakeup.drain();

  // I/O completions. Only the reactor appends to m_ready, so resuming
  // (which may start new operations) cannot disturb this walk.
  for (std::size_t i = 0; i < m_ready.size(); ++i) m_ready[i].resume();
  m_ready.clear();

  if (!m_timers.empty()) m_timers.fire_expired(clock::now());

  // Posted handles: swap the queue out under the mutex and walk it outside,
  // keeping both vectors' capacity.
  {
    const std::lock_guard lock(m_mutex);
    m_running.swap(m_posted);
  }
  for (std::size_t i = 0; i < m_running.size(); ++i) m_running[i].resume();
  m_running.clear();
}

DUET_INLINE void event_loop::run_until_done(std::coroutine_handle<> driver, const bool& done) {
  driver.resume();
  while (!done) {
    run_once();
    if (done) break;
    if (m_stop.exchange(false, std::memory_order_acq_rel)) {
      throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                              "duet: event_loop stopped before block_on's awaitable completed");
    }
  }
}

// Destroyed while suspended (its coroutine destroyed): unhook from the
// loop so nothing fires into a dead frame.
DUET_INLINE sleep_awaiter::~sleep_awaiter() {
  m_stop_callback.reset();
  m_loop->cancel_timer(*this);
}

DUET_INLINE bool sleep_awaiter::await_ready() noexcept {
  if (m_token.stop_requested()) {
    m_result = false;
    return true;
  }
  if (m_when <= clock::now()) {
    m_result = true;
    return true;
  }
  return false;
}

DUET_INLINE void sleep_awaiter::await_suspend(std::coroutine_handle<> awaiter) {
  m_waiter = awaiter;
  m_loop->start_timer(*this, m_when);
  // May run on_stop right here if the token was triggered meanwhile: it
  // posts, so the awaiter is never resumed inside its own await_suspend.
  if (m_token.stop_possible()) m_stop_callback.emplace(m_token, stop_handler{this});
}

DUET_INLINE bool sleep_awaiter::await_resume() noexcept {
  // Waits for a stop callback running concurrently on another thread (it
  // lost the race, so it returns at once).
  m_stop_callback.reset();
  m_loop->cancel_timer(*this);
  return m_result;
}

DUET_INLINE void sleep_awaiter::stop_handler::operator()() const noexcept {
  if (m_self->m_claimed.exchange(true, std::memory_order_acq_rel)) return;
  m_self->m_result = false;
  // The timer belongs to the loop thread: leave it armed, the awaiter
  // cancels it when it resumes there.
  m_self->m_loop->post_noexcept(m_self->m_waiter);
}

DUET_INLINE void sleep_awaiter::on_timer(detail::timer_node& node) noexcept {
  auto& self = static_cast<sleep_awaiter&>(node);
  if (self.m_claimed.exchange(true, std::memory_order_acq_rel)) return;
  self.m_result = true;
  self.m_waiter.resume();
}

}  // namespace duet::inline v0
#endif
