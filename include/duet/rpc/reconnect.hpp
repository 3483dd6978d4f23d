#pragma once

#include <duet/coro/task.hpp>
#include <duet/loop/backoff.hpp>
#include <duet/loop/deadline.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/session/detail/spawned.hpp>
#include <duet/session/session.hpp>
#include <duet/session/session_options.hpp>
#include <duet/transport/endpoint.hpp>
#include <duet/transport/transport.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace duet::inline v0 {

/// How long a reconnecting client waits between connection attempts
/// (`backoff_policy`: 100 ms doubling up to 10 s, 20 % jitter by default).
using reconnect_backoff = backoff_policy;

/// A copyable callable that makes one connection, as
/// `std::function<task<connect_result<Transport>>()>` would hold it (empty,
/// or any copyable callable returning that task), without including
/// <functional> into every client user.
template <transport Transport>
class connect_function {
 public:
  using result_type = task<connect_result<Transport>>;

  connect_function() noexcept = default;
  connect_function(std::nullptr_t) noexcept {}  // NOLINT: implicit, as std::function's

  /// Holds a copy of `f`. A callable that tests false (a null function
  /// pointer, an empty std::function) makes an empty one.
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, connect_function> &&
             std::is_copy_constructible_v<std::decay_t<F>> && std::is_invocable_r_v<result_type, std::decay_t<F>&>)
  connect_function(F&& f) {  // NOLINT: implicit, as std::function's
    using held = std::decay_t<F>;
    if constexpr (requires { static_cast<bool>(f); }) {
      if (!static_cast<bool>(f)) return;
    }
    m_target = new held(std::forward<F>(f));
    m_call = [](void* target) -> result_type { return (*static_cast<held*>(target))(); };
    m_copy = [](const void* target) -> void* { return new held(*static_cast<const held*>(target)); };
    m_destroy = [](void* target) noexcept { delete static_cast<held*>(target); };
  }

  connect_function(const connect_function& other)
      : m_target(other.m_target != nullptr ? other.m_copy(other.m_target) : nullptr),
        m_call(other.m_call),
        m_copy(other.m_copy),
        m_destroy(other.m_destroy) {}
  connect_function(connect_function&& other) noexcept
      : m_target(std::exchange(other.m_target, nullptr)),
        m_call(other.m_call),
        m_copy(other.m_copy),
        m_destroy(other.m_destroy) {}
  connect_function& operator=(connect_function other) noexcept {
    swap(other);
    return *this;
  }
  ~connect_function() {
    if (m_target != nullptr) m_destroy(m_target);
  }

  void swap(connect_function& other) noexcept {
    std::swap(m_target, other.m_target);
    std::swap(m_call, other.m_call);
    std::swap(m_copy, other.m_copy);
    std::swap(m_destroy, other.m_destroy);
  }

  [[nodiscard]] explicit operator bool() const noexcept { return m_target != nullptr; }

  /// Calls the held callable. Precondition: not empty (a reconnecting
  /// client refuses empty ones).
  result_type operator()() const { return m_call(m_target); }

 private:
  void* m_target = nullptr;
  result_type (*m_call)(void*) = nullptr;
  void* (*m_copy)(const void*) = nullptr;
  void (*m_destroy)(void*) noexcept = nullptr;
};

/// Makes a client reconnect: how to make a connection, and how long to
/// wait between attempts.
///
///     duet::reconnect_options<duet::tcp_stream> how;
///     how.connect = duet::connect_to<duet::tcp_stream>(loop, duet::endpoint::loopback_v4(7000));
///     duet::client<duet::tcp_stream> client(loop, std::move(how));
template <transport Transport>
struct reconnect_options {
  /// Makes one new connection: yields the connected stream, or an error.
  /// Called on the loop thread, at start and again after every failure,
  /// lost connection or goaway. It should give up after a while (a connect
  /// timeout): closing the client waits for an attempt under way.
  connect_function<Transport> connect;
  reconnect_backoff backoff{};
};

namespace detail {
template <class Stream>
task<connect_result<Stream>> connect_once(event_loop& loop, endpoint where, std::chrono::milliseconds timeout) {
  co_return co_await Stream::connect(loop, std::move(where), timeout);
}
}  // namespace detail

/// A `reconnect_options::connect` for socket streams (`tcp_stream`,
/// `unix_stream`): each attempt connects to `where` within `timeout`.
template <class Stream>
[[nodiscard]] connect_function<Stream> connect_to(
    event_loop& loop, endpoint where, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return [&loop, where = std::move(where), timeout] { return detail::connect_once<Stream>(loop, where, timeout); };
}

namespace detail {

/// What a client reaches of its reconnector: the connection slot and the
/// latest session, read directly, and three operations through function
/// pointers that only the reconnector's constructor names. So a client made
/// over one stream compiles none of the reconnector (function pointers, not
/// virtual functions: GCC devirtualises a call speculatively when it sees
/// one implementation, which would compile it in anyway).
template <transport Transport>
struct reconnect_state {
  connection_slot m_slot;
  std::shared_ptr<session<Transport>> m_session;  // the latest connection
  std::uint64_t m_connections = 0;
  /// Stops reconnecting and closes every connection. Idempotent.
  void (*close_fn)(reconnect_state&) = nullptr;
  /// Closes, and completes once every connection has ended.
  task<void> (*close_and_wait_fn)(reconnect_state&) = nullptr;
  /// Completes with true once a connection is current, false after `timeout` or a close.
  task<bool> (*wait_connected_fn)(reconnect_state&, duration timeout) = nullptr;

  [[nodiscard]] const connection_slot& slot() const noexcept { return m_slot; }
  /// The session calls go to now, or nullptr.
  [[nodiscard]] session<Transport>* current() const noexcept {
    return m_slot.current != nullptr ? m_session.get() : nullptr;
  }
  /// The most recent session, current or not (nullptr before the first).
  [[nodiscard]] session<Transport>* latest() const noexcept { return m_session.get(); }
  [[nodiscard]] std::uint64_t connections_made() const noexcept { return m_connections; }
};

/// A reconnecting client's connections: a supervisor coroutine connects,
/// publishes the session in `slot()` for calls to find, waits until the
/// session stops admitting calls (lost, or goaway), and connects again,
/// backing off after failures. Shared between the client and the
/// supervisor, so that a client destroyed mid-attempt leaves nothing
/// dangling. Loop thread only.
template <transport Transport>
class reconnector final : public reconnect_state<Transport>, public std::enable_shared_from_this<reconnector<Transport>> {
  using state = reconnect_state<Transport>;
  using state::m_connections;
  using state::m_session;
  using state::m_slot;

 public:
  /// `dispatcher` (may be null: none) serves the server's calls on every
  /// connection; it outlives the reconnector.
  reconnector(event_loop& loop, reconnect_options<Transport> options, const session_options& session,
              request_dispatcher* dispatcher)
      : m_loop(loop), m_options(std::move(options)), m_session_options(session), m_dispatcher(dispatcher),
        m_random(reinterpret_cast<std::uintptr_t>(this) ^
                 static_cast<std::uint64_t>(clock::now().time_since_epoch().count()) ^ 0x9e3779b97f4a7c15ull) {
    this->close_fn = [](state& s) { static_cast<reconnector&>(s).close(); };
    this->close_and_wait_fn = [](state& s) { return static_cast<reconnector&>(s).close_and_wait(); };
    this->wait_connected_fn = [](state& s, duration timeout) {
      return static_cast<reconnector&>(s).wait_connected(timeout);
    };
  }
  reconnector(const reconnector&) = delete;
  reconnector& operator=(const reconnector&) = delete;

  void start() { supervise(this->shared_from_this()); }
  [[nodiscard]] bool has_connect() const noexcept { return static_cast<bool>(m_options.connect); }

  using state::current;

  [[nodiscard]] std::error_code last_connect_error() const noexcept { return m_last_error; }

  /// Completes once a connection is current (true), or when `timeout`
  /// passes or the client closes first (false).
  [[nodiscard]] task<bool> wait_connected(duration timeout) {
    if (current() != nullptr) co_return true;
    if (m_closing) co_return false;
    std::stop_source wake;
    m_connect_waiters.push_back(&wake);
    (void)co_await m_loop.sleep_for(timeout, wake.get_token());
    std::erase(m_connect_waiters, &wake);
    co_return current() != nullptr;
  }

  /// Stops reconnecting and closes every connection; pending calls end
  /// with `cancelled`. Idempotent.
  void close() {
    if (m_closing) return;
    m_closing = true;
    m_stop.request_stop();  // ends a back-off pause
    m_slot.current = nullptr;
    wake_connect_waiters();
    if (m_session) m_session->close();
    for (auto& s : m_retired) s->close();
  }

  /// Closes, and completes once the supervisor and every connection have ended.
  [[nodiscard]] task<void> close_and_wait() {
    const std::shared_ptr<reconnector> keep = this->shared_from_this();
    close();
    if (!m_supervisor_done) co_await supervisor_ended{*this};
    if (m_session) co_await m_session->finished();
    for (auto& s : m_retired) co_await s->finished();
  }

 private:
  static spawned supervise(std::shared_ptr<reconnector> self) {
    reconnector& r = *self;
    std::uint32_t failures = 0;
    while (!r.m_closing) {
      std::optional<connect_result<Transport>> attempt;
      try {
        attempt.emplace(co_await r.m_options.connect());
      } catch (...) {
        attempt.emplace(std::make_error_code(std::errc::io_error));
      }
      if (r.m_closing) {
        if (attempt->has_value()) (*attempt)->close();
        break;
      }
      if (!attempt->has_value()) {
        r.m_last_error = attempt->error();
        ++failures;
        (void)co_await r.m_loop.sleep_for(r.next_delay(failures), r.m_stop.get_token());
        continue;
      }
      failures = 0;
      r.adopt(std::move(**attempt));
      co_await until_unusable{r};
      if (r.m_closing) break;
      // A goaway lets the old connection finish its calls while a new one
      // is made at once; a lost connection is followed by a pause, so that a
      // server that accepts and drops at once is not hammered.
      const bool lost = !r.m_went_away;
      r.retire();
      if (lost) (void)co_await r.m_loop.sleep_for(r.next_delay(1), r.m_stop.get_token());
    }
    r.m_supervisor_done = true;
    if (auto h = std::exchange(r.m_close_waiter, {})) r.m_loop.post(h);
  }

  void adopt(Transport stream) {
    std::shared_ptr<session<Transport>> s =
        session<Transport>::make(m_loop, std::move(stream), m_session_options, m_dispatcher);
    s->on_unusable(&on_unusable, this);
    m_session = s;
    m_unusable = false;
    ++m_connections;
    s->start();
    if (s->accepts_calls()) {
      m_slot.current = s.get();
      wake_connect_waiters();
    }
  }

  // The current session may still finish calls (after a goaway): keep it
  // until it ends, so that close() reaches it and waits for it.
  void retire() {
    m_slot.current = nullptr;
    std::erase_if(m_retired, [](const std::shared_ptr<session<Transport>>& s) { return s->finished().await_ready(); });
    if (m_session) m_retired.push_back(std::move(m_session));
  }

  // From inside the session (goaway, or its end): note it, wake the
  // supervisor through the loop.
  static void on_unusable(void* context) noexcept {
    auto& r = *static_cast<reconnector*>(context);
    r.m_unusable = true;
    r.m_went_away = r.m_session && r.m_session->is_open();  // still open: a goaway, not the end
    r.m_slot.current = nullptr;
    if (auto h = std::exchange(r.m_supervisor, {})) r.m_loop.post(h);
  }

  void wake_connect_waiters() {
    for (std::stop_source* s : m_connect_waiters) s->request_stop();
  }

  duration next_delay(std::uint32_t failures) noexcept {
    // xorshift64*: jitter needs no quality, only no allocation and no lock.
    m_random ^= m_random >> 12;
    m_random ^= m_random << 25;
    m_random ^= m_random >> 27;
    const std::uint64_t bits = (m_random * 0x2545f4914f6cdd1dull) >> 11;
    return m_options.backoff.delay(failures, static_cast<double>(bits) * 0x1.0p-53);
  }

  struct until_unusable {
    reconnector& r;
    bool await_ready() const noexcept { return r.m_unusable; }
    void await_suspend(std::coroutine_handle<> h) noexcept { r.m_supervisor = h; }
    void await_resume() const noexcept { r.m_unusable = false; }
  };

  struct supervisor_ended {
    reconnector& r;
    bool await_ready() const noexcept { return r.m_supervisor_done; }
    void await_suspend(std::coroutine_handle<> h) noexcept { r.m_close_waiter = h; }
    void await_resume() const noexcept {}
  };

  event_loop& m_loop;
  reconnect_options<Transport> m_options;
  session_options m_session_options;
  request_dispatcher* m_dispatcher;
  std::vector<std::shared_ptr<session<Transport>>> m_retired;  // earlier ones, maybe still finishing calls
  std::vector<std::stop_source*> m_connect_waiters;
  std::stop_source m_stop;
  std::coroutine_handle<> m_supervisor;    // waiting until the session is unusable
  std::coroutine_handle<> m_close_waiter;  // close_and_wait, waiting for the supervisor
  std::error_code m_last_error;
  std::uint64_t m_random;
  bool m_unusable = false;
  bool m_went_away = false;  // the session became unusable through a goaway
  bool m_closing = false;
  bool m_supervisor_done = false;
};

}  // namespace detail

}  // namespace duet::inline v0
