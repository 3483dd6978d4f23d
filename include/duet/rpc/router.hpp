#pragma once

#include <duet/config.hpp>

#include <duet/codec/codec.hpp>
#include <duet/coro/concepts.hpp>
#include <duet/result.hpp>
#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/deadline_watch.hpp>
#include <duet/rpc/idempotency.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/peer.hpp>
#include <duet/session/detail/response_writer.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/spawned.hpp>
#include <duet/status.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace duet::inline v0 {

namespace detail {

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<result<T>> : std::true_type {};

/// A router's interceptors as its handlers see them. The hooks run through
/// function pointers that only `router::add_interceptor` sets, so a router
/// without interceptors compiles none of their code.
struct server_interceptors {
  server_interceptor_list list;
  status (*before)(interception<server_interceptor_list>& pass, call_context& context) = nullptr;
  void (*after)(interception<server_interceptor_list>& pass, call_context& context,
                const status& outcome) noexcept = nullptr;
};

/// One request's pass through its router's interceptors.
struct server_hooks : interception<server_interceptor_list> {
  explicit server_hooks(const server_interceptors* set) noexcept : m_set(set) {
    if (set != nullptr) list = &set->list;
  }
  /// As interception::before; only when `installed()`.
  [[nodiscard]] status before(call_context& context) { return m_set->before(*this, context); }
  /// As interception::after.
  void after(call_context& context, const status& outcome) noexcept {
    if (ran != 0) m_set->after(*this, context, outcome);
  }

 private:
  const server_interceptors* m_set;
};

class handler_base {
 public:
  virtual ~handler_base() = default;
  /// Decodes the frame's arguments and runs the handler; answers a request.
  virtual void handle(session_core& session, const frame_view& frame) = 0;

  /// The router's interceptors (set by the router; the router outlives it).
  const server_interceptors* interceptors = nullptr;

  /// Whether it serves a stream method (opened by a request with flag_stream).
  bool streams = false;
};

/// Ends a request before its handler runs: the interceptors whose `before`
/// ran see `why`, and a request (not a notification) is answered with it and
/// the response metadata added so far.
void end_early(session_core& session, call_context& context, const frame_header& header, server_hooks& hooks,
               const status& why);

/// What comes before a handler for a request with metadata or a router with
/// interceptors: reads the metadata and deadline into `context`, runs the
/// `before` hooks. False when the request was ended there (`end_early`).
/// Out of line: requests with neither never come here.
bool admit_request(session_core& session, call_context& context, const frame_view& frame, server_hooks& hooks);

/// Ends a request whose arguments do not decode.
void refuse_undecodable(session_core& session, call_context& context, const frame_header& header, server_hooks& hooks);

/// How a handler's result ended the request, for the interceptors.
template <class X>
status outcome_of(const X& produced) {
  if constexpr (is_result<std::remove_cvref_t<X>>::value) {
    return produced.has_value() ? status{} : produced.error();
  } else {
    (void)produced;
    return {};
  }
}


/// Whether a handler's return type `X` (after awaiting, if it is awaitable)
/// can answer a method returning `R`: R itself (or convertible), or
/// result<R>.
template <class X, class R>
inline constexpr bool answers =
    std::is_same_v<std::remove_cvref_t<X>, result<R>> ||
    (std::is_void_v<R> ? std::is_void_v<X> : (!is_result<std::remove_cvref_t<X>>::value && std::is_convertible_v<X, R>));

/// How a handler H is called for a method R(Args...): with or without a
/// leading call_context&, synchronously or through an awaitable.
template <class H, class R, class... Args>
struct handler_shape {
  static constexpr bool takes_context = std::is_invocable_v<H&, call_context&, Args&&...>;
  static constexpr bool takes_args = std::is_invocable_v<H&, Args&&...>;
  static constexpr bool invocable = takes_context || takes_args;

  // Probes return type_identity<void> for an unusable handler, so that the
  // static_asserts in router::on are the only diagnostics a user sees.
  static auto result_probe() {
    if constexpr (!invocable) {
      return std::type_identity<void>{};
    } else if constexpr (takes_context) {
      return std::type_identity<std::invoke_result_t<H&, call_context&, Args&&...>>{};
    } else {
      return std::type_identity<std::invoke_result_t<H&, Args&&...>>{};
    }
  }
  template <class X>
  static auto awaited_probe() {
    if constexpr (awaitable<X>) {
      return std::type_identity<await_result_t<X>>{};
    } else {
      return std::type_identity<X>{};
    }
  }

  using returned = typename decltype(result_probe())::type;
  static constexpr bool asynchronous = awaitable<returned>;
  using produced = typename decltype(awaited_probe<returned>())::type;
  static constexpr bool matches = answers<produced, R>;
};

// The code for answering is shared by every handler of a result type R.
template <class R>
void answer_value(session_core& session, std::uint32_t id, const R& value, const metadata* response_metadata) {
  response_writer response(session, id, response_metadata);
  try {
    duet::encode(response.payload(), value);
  } catch (const std::exception& e) {
    response.abandon();
    session.send_error(id, status(status_code::internal, std::string("encoding the response threw: ") + e.what()),
                       response_metadata);
    return;
  }
  response.send();
}

inline void answer_void(session_core& session, std::uint32_t id, const metadata* response_metadata) {
  response_writer(session, id, response_metadata).send();
}

/// As std::invoke, without including <functional> into every router user:
/// a pointer to member goes through std::apply (<tuple>), which invokes the
/// same way; anything else is called directly.
template <class H, class... A>
decltype(auto) invoke_handler(H& handler, A&&... a) {
  if constexpr (std::is_member_pointer_v<H>) {
    return std::apply(handler, std::forward_as_tuple(std::forward<A>(a)...));
  } else {
    return handler(std::forward<A>(a)...);
  }
}

/// Answers request `id` of a method returning `R` with what its handler
/// produced: a value, or a `result` holding one or a failure.
template <class R, class X>
void answer_produced(session_core& session, std::uint32_t id, X& produced, const metadata* response_metadata) {
  if constexpr (is_result<std::remove_cvref_t<X>>::value) {
    if (!produced.has_value()) {
      session.send_error(id, produced.error(), response_metadata);
    } else if constexpr (std::is_void_v<R>) {
      answer_void(session, id, response_metadata);
    } else {
      answer_value<R>(session, id, *produced, response_metadata);
    }
  } else {
    answer_value<R>(session, id, static_cast<const R&>(produced), response_metadata);
  }
}

DUET_INLINE status status_of_current_exception();

/// Ends a request whose plain handler threw (call it inside the catch
/// block): the after hooks see the failure, a request is answered with it.
void end_by_exception(session_core& session, call_context& context, std::uint32_t id, server_hooks& hooks);

/// What a request served by a coroutine handler needs whatever the
/// handler's signature: its context, its registration for cancel frames,
/// its deadline timer, its interceptors' pass, how it failed. Begun and
/// ended out of line, once for every handler, so that each handler's
/// coroutine holds little more than its arguments and result.
class async_request {
 public:
  /// Counts the handler as running and, for a request, registers it for
  /// cancel frames and the end of the connection.
  // Defined here, not in the definitions below: GCC 12 ignores gnu::noinline
  // on a constructor's definition outside its class (and warns when an inline
  // definition follows a declaration that has it).
  [[gnu::noinline]] async_request(session_core& s, const frame_header& header, std::string_view method_name,
                                  std::uint32_t method_id, const server_interceptors* interceptors)
      : session(s),
        id(header.id),
        wants_answer(header.kind == frame_kind::request),
        stream((header.flags & flag_stream) != 0),
        context(call_context_access::make(s, s.loop(), method_name, method_id, wants_answer)),
        hooks(interceptors) {
    if (stream) {
      session.stream_handler_started();
    } else {
      session.handler_started();
    }
    m_link.id = id;
    m_link.on_cancel = &link::cancel;
    m_link.context = &context;
    if (wants_answer) session.track(m_link);
  }
  async_request(const async_request&) = delete;
  async_request& operator=(const async_request&) = delete;
  ~async_request();

  /// Fires the context's stop token at the request's deadline, if it has one.
  void arm_deadline();
  void stop_deadline() noexcept { m_watch.reset(); }

  /// Whether the handler's result is to be sent: a request, on a session
  /// still open.
  [[nodiscard]] bool answerable() const noexcept { return wants_answer && session.is_open(); }

  /// The handler returned with `outcome` (a void handler): stops the
  /// timer, runs the after hooks; whether to answer.
  bool returned(const status& outcome);

  /// The handler (or answering) threw: call it inside the catch block.
  void failed();

  /// Ends the request: answers a failure, unregisters, counts the handler
  /// as finished.
  void finish();

  session_core& session;
  const std::uint32_t id;
  const bool wants_answer;
  const bool stream;  // a stream's handler: counted apart (session_core::stream_handler_started)
  call_context context;
  server_hooks hooks;

 private:
  // Lets a cancel frame (or the end of the connection) reach the context.
  struct link : running_request {
    call_context* context = nullptr;
    static void cancel(running_request& r) noexcept { static_cast<link&>(r).context->cancel(); }
  };

  link m_link;
  std::optional<deadline_watch> m_watch;  // made only for a request with a deadline
  std::optional<status> m_failure;
};

template <class H, class R, class... Args>
class typed_handler final : public handler_base {
  using shape = handler_shape<H, R, Args...>;
  using arguments = std::tuple<Args...>;

 public:
  typed_handler(H handler, std::string_view name, std::uint32_t id) : m_handler(std::move(handler)), m_name(name), m_id(id) {}

  void handle(session_core& session, const frame_view& frame) override {
    if constexpr (shape::asynchronous) {
      run_async(session, frame);
    } else {
      const bool wants_answer = frame.header.kind == frame_kind::request;
      const std::uint32_t id = frame.header.id;
      call_context context = call_context_access::make(session, session.loop(), m_name, m_id, wants_answer);
      server_hooks hooks{interceptors};
      arguments args;
      if (!prepare(session, context, frame, args, hooks)) return;
      try {
        if constexpr (std::is_void_v<typename shape::produced>) {
          invoke(context, args);
          if (hooks.ran != 0) hooks.after(context, status{});
          if (wants_answer) answer_void(session, id, call_context_access::response_metadata(context));
        } else {
          decltype(auto) produced = invoke(context, args);
          if (hooks.ran != 0) hooks.after(context, outcome_of(produced));
          if (wants_answer) answer(session, id, produced, call_context_access::response_metadata(context));
        }
      } catch (...) {
        end_by_exception(session, context, id, hooks);
      }
    }
  }

 private:
  decltype(auto) invoke(call_context& context, arguments& args) {
    return std::apply(
        [&](Args&... a) -> decltype(auto) {
          if constexpr (shape::takes_context) {
            return call(m_handler, context, std::move(a)...);
          } else {
            (void)context;
            return call(m_handler, std::move(a)...);
          }
        },
        args);
  }

  template <class... A>
  static decltype(auto) call(H& handler, A&&... a) {
    return invoke_handler(handler, std::forward<A>(a)...);
  }

  template <class X>
  static void answer(session_core& session, std::uint32_t id, X& produced, const metadata* response_metadata) {
    answer_produced<R>(session, id, produced, response_metadata);
  }

  // What comes before the handler runs: the request's metadata and deadline,
  // the interceptors' before hooks, then its arguments. The frame views the
  // reader's buffer: everything is read now. False when the request has
  // been ended instead (answered with a status, or a notification dropped).
  // A request without metadata, on a router without interceptors, only
  // decodes its arguments.
  bool prepare(session_core& session, call_context& context, const frame_view& frame, arguments& args,
               server_hooks& hooks) {
    if ((!frame.metadata.empty() || hooks.installed()) && !admit_request(session, context, frame, hooks)) return false;
    const bool decoded = std::apply([&](Args&... a) { return duet::decode_all(frame.payload, a...); }, args);
    if (!decoded) {
      refuse_undecodable(session, context, frame.header, hooks);
      return false;
    }
    return true;
  }

  // One coroutine per asynchronous request. The router outlives its
  // sessions, and a session waits for every handler it started before it
  // ends, so `this` and `session` stay valid throughout. `frame` views the
  // reader's buffer: `prepare` reads it before the first suspension.
  spawned run_async(session_core& session, frame_view frame) {
    async_request request(session, frame.header, m_name, m_id, interceptors);
    call_context& context = request.context;
    arguments args;
    try {
      if (prepare(session, context, frame, args, request.hooks)) {
        request.arm_deadline();
        if constexpr (std::is_void_v<typename shape::produced>) {
          co_await invoke(context, args);
          if (request.returned(status{})) {
            answer_void(session, request.id, call_context_access::response_metadata(context));
          }
        } else {
          auto produced = co_await invoke(context, args);
          request.stop_deadline();
          if (request.hooks.ran != 0) request.hooks.after(context, outcome_of(produced));
          if (request.answerable()) answer(session, request.id, produced, call_context_access::response_metadata(context));
        }
      }
    } catch (...) {
      request.failed();
    }
    request.finish();
  }

  H m_handler;
  std::string_view m_name;
  std::uint32_t m_id;
};

/// Makes the handler that serves stream method `m` with `handler`; defined
/// in <duet/stream/handler.hpp> (included at the end of this file), which
/// says in a sentence what a handler that does not fit lacks.
template <class Handler, class Method>
std::unique_ptr<handler_base> make_stream_handler(Handler handler, const Method& m);

}  // namespace duet::inline v0::detail

/// Maps methods to the handlers that serve them.
///
/// A handler for `method<"name", R(Args...)>` is any callable taking the
/// method's arguments (by value, `const&` or `&&`), optionally preceded by
/// `duet::call_context&`, and returning `R`, `duet::result<R>`, or an
/// awaitable of either (such as `duet::task<R>`):
///
///     router.on(add, [](int a, int b) { return a + b; });
///     router.on(kv_get, [&](std::string key) -> duet::task<std::optional<std::string>> { ... });
///
/// Plain handlers run to completion inside the connection's reader;
/// coroutine handlers run concurrently, so a slow call never holds back a
/// fast one. A handler that throws `duet::rpc_error` answers with its
/// status; any other exception answers `internal` with its message. A
/// request whose payload does not decode answers `invalid_argument`; a
/// request for a method with no handler answers `not_found`; a notification
/// for such a method is dropped and counted.
///
/// Build the router before serving: `on` is not safe while connections use
/// it. The router must outlive every server and session that uses it.
class router final : public detail::request_dispatcher {
 public:
  router() = default;
  router(const router&) = delete;
  router& operator=(const router&) = delete;
  ~router();

  /// Serves `m` with `handler`. Throws std::logic_error when `m` already has
  /// a handler, or when another method's name hashes to the same id.
  template <detail::fixed_string Name, class R, class... Args, class Handler>
  router& on(const method<Name, R(Args...)>& m, Handler handler) {
    if constexpr (method<Name, R(Args...)>::kind != method_kind::unary) {
      // A stream method (docs/streams.md): see <duet/stream/handler.hpp>.
      add(m.id, m.name, detail::make_stream_handler(std::move(handler), m));
      return *this;
    } else {
      return on_unary(m, std::move(handler));
    }
  }

  /// Adds `interceptor` after those already added: its `before_handler`
  /// runs before every request's handler, its `after_handler` after it
  /// (docs/call-semantics.md, Interceptors). Like `on`, call it before
  /// serving. Throws std::invalid_argument for a null pointer.
  router& add_interceptor(std::shared_ptr<server_interceptor> interceptor);

  /// Whether some handler serves the method with wire id `id`.
  [[nodiscard]] bool serves(std::uint32_t id) const noexcept { return find(id) != nullptr; }

  /// Notifications dropped because no handler serves their method.
  [[nodiscard]] std::uint64_t dropped_notifications() const noexcept { return m_dropped_notifications; }

  /// Keeps recent answers to requests that carry an idempotency key
  /// (`call_options::idempotency_key`), within `options`' bounds, so that a
  /// retried request runs at most once: a repeat of an answered one gets the
  /// same answer (status, response metadata, payload) without running, and a
  /// repeat of one still running is answered `unavailable` at once
  /// (docs/call-semantics.md, Retries). Keys are per method and shared by
  /// every connection. Requests without a key pay nothing. Call it before
  /// serving; calling it again starts an empty cache.
  router& enable_idempotency_cache(idempotency_cache_options options = {});

  /// Requests answered from the idempotency cache instead of running.
  [[nodiscard]] std::uint64_t replayed_answers() const noexcept { return m_answers ? m_answers->replayed : 0; }

  /// Answers the idempotency cache holds now.
  [[nodiscard]] std::size_t kept_answers() const noexcept { return m_answers ? m_answers->kept : 0; }

 private:
  struct entry {
    std::uint32_t id;
    std::string_view name;
    std::unique_ptr<detail::handler_base> handler;
  };

  void add(std::uint32_t id, std::string_view name, std::unique_ptr<detail::handler_base> handler);

  // `on` for a unary method.
  template <detail::fixed_string Name, class R, class... Args, class Handler>
  router& on_unary(const method<Name, R(Args...)>& m, Handler handler) {
    using shape = detail::handler_shape<Handler, R, Args...>;
    static_assert(shape::invocable,
                  "duet::router::on: the handler does not match the method's signature: it must be "
                  "callable with the method's arguments, optionally preceded by duet::call_context&");
    if constexpr (shape::invocable) {
      static_assert(shape::matches,
                    "duet::router::on: the handler's return type does not match the method's result: "
                    "return R, duet::result<R>, or an awaitable of either (e.g. duet::task<R>)");
      static_assert(!shape::asynchronous || !(detail::borrows_input<Args> || ...),
                    "duet::router::on: a coroutine handler runs on after the request's bytes are gone, so its "
                    "arguments must own their data: declare std::string or std::vector<std::byte> instead of "
                    "std::string_view or std::span (views are fine for plain handlers, which return first)");
      if constexpr (shape::matches) {
        add(m.id, m.name, std::make_unique<detail::typed_handler<Handler, R, Args...>>(std::move(handler), m.name, m.id));
      }
    }
    return *this;
  }


  [[nodiscard]] detail::handler_base* find(std::uint32_t id) const noexcept {
    auto at = std::lower_bound(m_entries.begin(), m_entries.end(), id,
                               [](const entry& e, std::uint32_t key) { return e.id < key; });
    return at != m_entries.end() && at->id == id ? at->handler.get() : nullptr;
  }

  void dispatch(detail::session_core& session, const frame_view& frame) override;

  std::vector<entry> m_entries;  // sorted by id: lookups are a binary search
  detail::server_interceptors m_interceptors;
  std::uint64_t m_dropped_notifications = 0;
  // Null until enable_idempotency_cache, the only place that makes the
  // cache: a router that never enables one compiles none of its code.
  std::unique_ptr<detail::answer_keeper, detail::answer_keeper::deleter> m_answers;
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

namespace detail {

// The functions marked gnu::noinline stay out of line even when inline (so
// that every handler's code stays small); the attribute is on their
// definitions, since GCC warns when an inline definition follows a
// declaration that has it.
[[gnu::noinline]] DUET_INLINE void end_early(session_core& session, call_context& context, const frame_header& header,
                                             server_hooks& hooks, const status& why) {
  hooks.after(context, why);
  if (header.kind == frame_kind::request) {
    session.send_error(header.id, why, call_context_access::response_metadata(context));
  }
}

[[gnu::noinline]] DUET_INLINE bool admit_request(session_core& session, call_context& context, const frame_view& frame,
                                                 server_hooks& hooks) {
  std::optional<status> early;
  if (!frame.metadata.empty()) early = call_context_access::read_request_metadata(context, frame.metadata);
  if (!early && hooks.installed()) {
    if (status verdict = hooks.before(context); !verdict.ok()) early = std::move(verdict);
  }
  if (!early) return true;
  end_early(session, context, frame.header, hooks, *early);
  return false;
}

[[gnu::noinline]] DUET_INLINE void refuse_undecodable(session_core& session, call_context& context,
                                                      const frame_header& header, server_hooks& hooks) {
  end_early(session, context, header, hooks,
            status(status_code::invalid_argument, "the request's payload does not decode as the arguments of " +
                                                      std::string(context.method_name())));
}

DUET_INLINE status status_of_current_exception() {
  try {
    throw;
  } catch (const rpc_error& e) {
    return e.status().ok() ? status(status_code::internal, "a handler threw an rpc_error with status ok")
                           : e.status();
  } catch (const std::exception& e) {
    return status(status_code::internal, e.what());
  } catch (...) {
    return status(status_code::internal, "the handler threw an exception that is not a std::exception");
  }
}

[[gnu::noinline]] DUET_INLINE void end_by_exception(session_core& session, call_context& context, std::uint32_t id,
                                                    server_hooks& hooks) {
  const status failure = status_of_current_exception();
  hooks.after(context, failure);
  if (context.expects_response()) session.send_error(id, failure, call_context_access::response_metadata(context));
}

DUET_INLINE async_request::~async_request() = default;

[[gnu::noinline]] DUET_INLINE void async_request::arm_deadline() {
  if (const std::optional<time_point> deadline = context.deadline()) {
    m_watch.emplace().start(session.loop(), *deadline, &context, &call_context_access::expire);
  }
}

[[gnu::noinline]] DUET_INLINE bool async_request::returned(const status& outcome) {
  m_watch.reset();
  hooks.after(context, outcome);
  return answerable();
}

[[gnu::noinline]] DUET_INLINE void async_request::failed() { m_failure = status_of_current_exception(); }

[[gnu::noinline]] DUET_INLINE void async_request::finish() {
  m_watch.reset();
  if (m_failure) {
    hooks.after(context, *m_failure);
    if (answerable()) session.send_error(id, *m_failure, call_context_access::response_metadata(context));
  }
  if (wants_answer) session.untrack(m_link);
  if (stream) {
    session.stream_handler_finished();
  } else {
    session.handler_finished();
  }
}

DUET_INLINE request_dispatcher* dispatcher_of(router& routes) noexcept { return &routes; }

}  // namespace detail

DUET_INLINE router::~router() = default;

DUET_INLINE router& router::add_interceptor(std::shared_ptr<server_interceptor> interceptor) {
  if (!interceptor) throw std::invalid_argument("duet::router::add_interceptor: null interceptor");
  m_interceptors.list.push_back(std::move(interceptor));
  m_interceptors.before = [](detail::interception<detail::server_interceptor_list>& pass, call_context& context) {
    return pass.before(context);
  };
  m_interceptors.after = [](detail::interception<detail::server_interceptor_list>& pass, call_context& context,
                            const status& outcome) noexcept { pass.after(context, outcome); };
  return *this;
}

DUET_INLINE router& router::enable_idempotency_cache(idempotency_cache_options options) {
  m_answers.reset(new detail::idempotency_cache(options));
  return *this;
}

DUET_INLINE void router::add(std::uint32_t id, std::string_view name, std::unique_ptr<detail::handler_base> handler) {
  auto at = std::lower_bound(m_entries.begin(), m_entries.end(), id,
                             [](const entry& e, std::uint32_t key) { return e.id < key; });
  if (at != m_entries.end() && at->id == id) {
    if (at->name == name) throw std::logic_error("duet::router: method " + std::string(name) + " already has a handler");
    throw std::logic_error("duet::router: methods " + std::string(at->name) + " and " + std::string(name) +
                           " have the same wire id; rename one of them");
  }
  handler->interceptors = &m_interceptors;
  m_entries.insert(at, entry{id, name, std::move(handler)});
}

DUET_INLINE void router::dispatch(detail::session_core& session, const frame_view& frame) {
  if (detail::handler_base* handler = find(frame.header.method)) {
    if (((frame.header.flags & flag_stream) != 0) != handler->streams) {
      // The two sides declare the method with different shapes.
      if (frame.header.kind == frame_kind::request) {
        session.send_error(frame.header.id,
                           status(status_code::unimplemented, handler->streams
                                                                  ? "the method is a stream: a plain call cannot reach it"
                                                                  : "the method is not a stream: it cannot be opened as one"));
      }
      return;
    }
    // Only a request that carries metadata can carry a key.
    if (m_answers && frame.header.kind == frame_kind::request && !frame.metadata.empty() &&
        m_answers->handle(*m_answers, session, frame)) {
      return;
    }
    handler->handle(session, frame);
  } else if (frame.header.kind == frame_kind::request) {
    session.send_error(frame.header.id, status(status_code::not_found, "no handler for method id " +
                                                                           std::to_string(frame.header.method)));
  } else {
    ++m_dropped_notifications;
  }
}

}  // namespace duet::inline v0
#endif

// How a router serves stream methods: templates instantiated only for them.
#include <duet/stream/handler.hpp>
