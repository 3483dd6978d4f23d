#pragma once

#include <duet/config.hpp>

#include <duet/coro/detail/frame_cache.hpp>
#include <duet/result.hpp>
#include <duet/rpc/call.hpp>
#include <duet/rpc/detail/connection_slot.hpp>
#include <duet/rpc/method.hpp>
#include <duet/session/call_options.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/stream_routing.hpp>
#include <duet/status.hpp>
#include <duet/stream/io.hpp>
#include <duet/wire/metadata.hpp>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

namespace duet::inline v0 {

namespace detail {

/// A coroutine that waits to be posted, then runs one step on the loop and
/// frees itself; destroyed unrun otherwise. A caller stream's stop token
/// posts one, since the stop may come from any thread.
class loop_job {
 public:
  struct promise_type : pooled_frame {
    loop_job get_return_object() noexcept { return loop_job(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };

  loop_job() noexcept = default;
  loop_job(loop_job&& other) noexcept : m_coro(std::exchange(other.m_coro, {})) {}
  loop_job& operator=(loop_job&& other) noexcept {
    if (this != &other) {
      destroy_unrun();
      m_coro = std::exchange(other.m_coro, {});
    }
    return *this;
  }
  ~loop_job() { destroy_unrun(); }

  [[nodiscard]] std::coroutine_handle<> handle() const noexcept { return m_coro; }
  /// The job was posted: it frees itself when it runs.
  void release() noexcept { m_coro = {}; }
  void destroy_unrun() noexcept {
    if (m_coro) std::exchange(m_coro, {}).destroy();
  }

 private:
  explicit loop_job(std::coroutine_handle<promise_type> coro) noexcept : m_coro(coro) {}
  std::coroutine_handle<promise_type> m_coro;
};

/// Everything one caller stream needs whatever its types, on the heap (one
/// allocation per stream) so that the stream object can move while the
/// session points at its call: the call, the channel, the options, the
/// trailing metadata, and the path by which a stop token cancels it.
class caller_stream_state {
 public:
  caller_stream_state(const call_options& options, std::uint32_t method);
  caller_stream_state(const caller_stream_state&) = delete;
  caller_stream_state& operator=(const caller_stream_state&) = delete;
  // Defined here: with no key function, the class's vtable is emitted only
  // where a stream is opened, not in every program that includes this.
  virtual ~caller_stream_state() = default;

  /// Starts the stream on `target` with arguments encoded by `encode` from
  /// `arguments` (owned by the derived state). True when the opener may go
  /// on now; false: set the opener and suspend.
  bool start(call_target target, message_encoder encode, const void* arguments);

  /// Cancels the stream if it is still open, then frees this state (now,
  /// or once a stop job already posted has run).
  static void release(caller_stream_state* self) noexcept;

  /// Half-closes (a method with caller messages), drops unread messages
  /// from now on, and says whether the stream already ended.
  bool finishing();

  /// The final status once ended.
  [[nodiscard]] status final_status() const {
    return ch.code == status_code::ok ? status{} : status(ch.code, ch.message);
  }

  call_operation call;
  stream_channel ch;
  call_options options;
  metadata trailing;
  std::uint32_t method;

 private:
  static loop_job stop_job(caller_stream_state* self);

  struct stop_poster {
    caller_stream_state* self;
    void operator()() const noexcept {
      if (self->m_stop_posted.exchange(true, std::memory_order_acq_rel)) return;
      self->m_loop->post(self->m_stop_job.handle());  // throws only out of memory: terminates
    }
  };

  event_loop* m_loop = nullptr;
  loop_job m_stop_job;
  std::atomic<bool> m_stop_posted{false};
  bool m_stop_ran = false;
  bool m_orphaned = false;
  std::optional<std::stop_callback<stop_poster>> m_stop_callback;
};

/// A caller stream's state with its final value (a client stream's).
template <class Result>
class caller_stream_value : public caller_stream_state {
 public:
  caller_stream_value(const call_options& options, std::uint32_t method) : caller_stream_state(options, method) {
    if constexpr (!std::is_void_v<Result>) {
      ch.decode_final = &decode_final;
      ch.final_target = this;
    }
  }

  std::optional<std::conditional_t<std::is_void_v<Result>, char, Result>> value;  // void: unused

 private:
  static bool decode_final(void* self, const_buffer bytes) {
    return duet::decode_all(bytes, static_cast<caller_stream_value*>(self)->value.emplace());
  }
};

/// A caller stream's state with its arguments, which its request is
/// encoded from (perhaps later: once the peer's hello is known).
template <class Result, class... Args>
class typed_caller_stream_state final : public caller_stream_value<Result> {
 public:
  typed_caller_stream_state(const call_options& options, std::uint32_t method, Args... args)
      : caller_stream_value<Result>(options, method), arguments(std::move(args)...) {}

  std::tuple<Args...> arguments;
};

}  // namespace detail

/// The calling side of one stream (docs/streams.md), from
/// `co_await client.open(method, args...)`:
///
///     auto s = co_await client.open(feed, query{...});
///     while (std::optional<tick> t = co_await s.next()) show(*t);
///     duet::result<void> end = co_await s.finish();
///
/// `Send` is what the caller streams (void for a server stream), `Receive`
/// what it receives (void for a client stream), `Result` what the final
/// response carries (a client stream's value, else void).
///
/// - `next()` yields the next message, or nothing once the stream ended;
///   `next_into(v)` decodes it into `v` (reusing its capacity) and yields
///   false at the end.
/// - `send(v)` waits for credit (and for room in the connection's output)
///   and queues `v`; false once the stream ended or this side finished.
///   Throws `rpc_error` for a message larger than the peer accepts. Pass a
///   value that outlives the `co_await`.
/// - `finish()` says this side sends no more (for a client or
///   bidirectional stream), drops messages it has not read, waits for the
///   end, and yields the final value (a client stream's) or status.
/// - `cancel()` ends the stream at once with `cancelled`, and tells the peer.
///
/// A stream ends with the callee's final status (and trailing metadata),
/// with `deadline_exceeded` when the call options' deadline passes (it
/// covers the whole stream), with `cancelled` on their stop token, with
/// `unavailable` when the connection is lost. Destroying an open stream
/// cancels it. One `next` and one `send` may wait at a time (from two
/// coroutines, for a bidirectional stream). Loop thread only; the client
/// must outlive its streams.
template <class Send, class Receive, class Result>
class client_stream {
 public:
  explicit client_stream(std::unique_ptr<detail::caller_stream_state, void (*)(detail::caller_stream_state*)> state) noexcept
      : m_state(std::move(state)) {}

  client_stream(client_stream&&) noexcept = default;
  client_stream& operator=(client_stream&&) noexcept = default;

  /// The next message, or nothing once the stream ended.
  template <class T = Receive>
    requires(!std::is_void_v<T>)
  [[nodiscard]] detail::next_awaiter<T> next() noexcept {
    return detail::next_awaiter<T>(m_state->ch);
  }

  /// The next message decoded into `message` (true), reusing what it holds
  /// (a vector's or string's capacity), or false once the stream ended.
  /// `message` must outlive the `co_await`.
  template <class T = Receive>
    requires(!std::is_void_v<T>)
  [[nodiscard]] detail::next_awaiter<T, true> next_into(std::type_identity_t<T>& message) noexcept {
    return detail::next_awaiter<T, true>(m_state->ch, message);
  }

  /// Sends `message` once the callee has granted credit; true when queued.
  template <class T = Send>
    requires(!std::is_void_v<T>)
  [[nodiscard]] detail::send_awaiter<T> send(const std::type_identity_t<T>& message) noexcept {
    return {m_state->ch, message};
  }

  /// Half-closes, waits for the end, and yields the final value or status.
  [[nodiscard]] auto finish() noexcept {
    struct awaiter {
      client_stream& self;
      bool await_ready() { return self.m_state->finishing(); }
      void await_suspend(std::coroutine_handle<> h) noexcept { self.m_state->ch.finisher = h; }
      result<Result> await_resume() { return self.outcome(); }
    };
    return awaiter{*this};
  }

  /// Ends the stream now with `cancelled` (the peer is told). No-op once ended.
  void cancel() {
    if (!m_state->ch.closed())
      m_state->ch.session->streams().cancel(*m_state->ch.session, m_state->ch, status_code::cancelled,
                                            "the stream was cancelled");
  }

  /// Whether the stream ended.
  [[nodiscard]] bool ended() const noexcept { return m_state->ch.closed(); }

  /// How it ended: ok while it runs or after success.
  [[nodiscard]] status final_status() const { return m_state->final_status(); }

  /// The metadata of the response that ended the stream (empty until then).
  [[nodiscard]] const metadata& trailing_metadata() const noexcept { return *m_state->call.response_metadata; }

 private:
  result<Result> outcome() {
    auto& state = static_cast<detail::caller_stream_value<Result>&>(*m_state);
    if (state.ch.code != status_code::ok) return result<Result>(state.final_status());
    if constexpr (std::is_void_v<Result>) {
      return result<void>();
    } else {
      if (!state.value) return result<Result>(status(status_code::internal, "the stream ended without its value"));
      return result<Result>(std::move(*state.value));
    }
  }

  std::unique_ptr<detail::caller_stream_state, void (*)(detail::caller_stream_state*)> m_state;
};

/// The stream `co_await client.open(m, ...)` yields for a stream method of
/// type `Method`, to name it where `auto` does not reach (a member, a
/// parameter):
///
///     duet::client_stream_of<decltype(feed)> s = co_await client.open(feed, q);
template <method_descriptor Method>
  requires(std::remove_cvref_t<Method>::kind != method_kind::unary)
using client_stream_of = client_stream<typename std::remove_cvref_t<Method>::caller_message,
                                       typename std::remove_cvref_t<Method>::callee_message,
                                       typename std::remove_cvref_t<Method>::result_type>;

namespace detail {

/// What `client::open` returns: opening one stream, not yet done. Awaiting
/// it sends the request (once the peer's hello is known and there is room)
/// and yields the `client_stream`; a stream that could not open is
/// returned already ended, with its status.
template <class Send, class Receive, class Result, class... Args>
class [[nodiscard]] stream_opener {
  using state_type = typed_caller_stream_state<Result, Args...>;
  using owner = std::unique_ptr<caller_stream_state, void (*)(caller_stream_state*)>;

 public:
  stream_opener(call_target target, const call_options& options, std::uint32_t method, Args... args)
      : m_target(target), m_state(new state_type(options, method, std::move(args)...), &caller_stream_state::release) {
    m_state->ch.sends = !std::is_void_v<Send>;
    m_state->ch.receives = !std::is_void_v<Receive>;
  }

  bool await_ready() {
    auto& state = static_cast<state_type&>(*m_state);
    // Here, in a template: only a program that opens streams makes a
    // session's stream engine, or compiles it.
    if (session_core* core = m_target.current()) core->use_streams();
    return state.start(m_target, &encode_argument_tuple<Args...>, &state.arguments);
  }
  void await_suspend(std::coroutine_handle<> awaiting) noexcept { m_state->ch.opener = awaiting; }
  client_stream<Send, Receive, Result> await_resume() noexcept {
    return client_stream<Send, Receive, Result>(std::move(m_state));
  }

 private:
  call_target m_target;
  owner m_state;
};

}  // namespace detail

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE caller_stream_state::caller_stream_state(const call_options& opts, std::uint32_t method_id)
    : options(opts), method(method_id) {
  call.response_metadata = options.response_metadata != nullptr ? options.response_metadata : &trailing;
  call.response_metadata->clear();
  call.request_metadata = &options.metadata;
  ch.call = &call;
}

DUET_INLINE bool caller_stream_state::start(call_target target, message_encoder encode, const void* arguments) {
  session_core* core = target.current();
  if (options.stop.stop_requested()) {
    ch.phase = stream_phase::closed;
    ch.code = status_code::cancelled;
    ch.message = "the stream was cancelled before it was opened";
    return true;
  }
  if (core == nullptr) {
    ch.phase = stream_phase::closed;
    ch.code = status_code::unavailable;
    ch.message = "the client has no connection right now (it is reconnecting)";
    return true;
  }
  m_loop = &core->loop();
  const bool go_on = core->streams().open(*core, ch, options.effective_deadline(), method, encode, arguments);
  if (!ch.closed() && options.stop.stop_possible()) {
    m_stop_job = stop_job(this);
    // May run at once if the token was stopped meanwhile: it only posts.
    m_stop_callback.emplace(options.stop, stop_poster{this});
  }
  return go_on;
}

DUET_INLINE loop_job caller_stream_state::stop_job(caller_stream_state* self) {
  self->m_stop_ran = true;
  if (self->m_orphaned) {
    delete self;
    co_return;
  }
  if (!self->ch.closed()) {
    self->ch.session->streams().cancel(*self->ch.session, self->ch, status_code::cancelled, "the stream was cancelled");
  }
}

DUET_INLINE void caller_stream_state::release(caller_stream_state* self) noexcept {
  self->m_stop_callback.reset();  // waits for a stop callback running on another thread
  if (!self->ch.closed() && self->ch.session != nullptr) {
    try {
      self->ch.session->streams().cancel(*self->ch.session, self->ch, status_code::cancelled,
                                         "the stream was dropped while open");
    } catch (...) {
      // Out of memory for the message: the stream is still ended below.
    }
  }
  if (self->m_stop_posted.load(std::memory_order_acquire)) {
    self->m_stop_job.release();  // posted: it frees itself when it runs
    if (!self->m_stop_ran) {
      self->m_orphaned = true;  // it frees this state too
      return;
    }
  }
  delete self;
}

DUET_INLINE bool caller_stream_state::finishing() {
  if (ch.closed()) return true;
  session_core& s = *ch.session;
  s.streams().half_close(s, ch);
  ch.discarding = true;
  while (!ch.queue.empty()) {
    const std::size_t bytes = ch.queue.pop();
    s.streams().consumed(s, ch, bytes);
  }
  return ch.closed();
}

}  // namespace duet::inline v0::detail
#endif
