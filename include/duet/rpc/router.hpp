#pragma once

#include <duet/config.hpp>

#include <duet/rpc/context.hpp>
#include <duet/rpc/detail/handler_shape.hpp>
#include <duet/rpc/detail/server_hooks.hpp>
#include <duet/rpc/detail/typed_handler.hpp>
#include <duet/rpc/idempotency.hpp>
#include <duet/rpc/interceptor.hpp>
#include <duet/rpc/method.hpp>
#include <duet/rpc/peer.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/status.hpp>
#include <duet/stream/handler.hpp>
#include <duet/wire/frame.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duet::inline v0 {

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

  // Through m_index: an id is a hash of its name already, so its low bits
  // pick a slot, and a request finds its handler in a probe or two.
  [[nodiscard]] detail::handler_base* find(std::uint32_t id) const noexcept {
    if (m_index.empty()) return nullptr;
    const auto mask = static_cast<std::uint32_t>(m_index.size() - 1);
    for (std::uint32_t i = id & mask;; i = (i + 1) & mask) {
      const index_slot& slot = m_index[i];
      if (slot.handler == nullptr || slot.id == id) return slot.handler;  // at least half are empty
    }
  }

  // Rebuilds m_index from m_entries (after each `on`, before serving).
  void reindex();

  void dispatch(detail::session_core& session, const frame_view& frame) override;

  // dispatch() for a frame no handler takes: `handler` is null (no handler
  // for the method) or one of the other shape (stream or not).
  void refuse(detail::session_core& session, const frame_view& frame, const detail::handler_base* handler);

  struct index_slot {
    std::uint32_t id = 0;
    detail::handler_base* handler = nullptr;  // null: an empty slot
  };

  std::vector<entry> m_entries;  // sorted by id
  std::vector<index_slot> m_index;  // open addressing, a power of two at least twice m_entries' size
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
  at = m_entries.insert(at, entry{id, name, std::move(handler)});
  try {
    reindex();
  } catch (...) {
    m_entries.erase(at);  // out of memory: as if `on` had not been called
    throw;
  }
}

DUET_INLINE void router::reindex() {
  std::size_t size = 2;
  while (size < 2 * m_entries.size()) size *= 2;
  std::vector<index_slot> index(size);
  const auto mask = static_cast<std::uint32_t>(size - 1);
  for (const entry& e : m_entries) {
    std::uint32_t i = e.id & mask;
    while (index[i].handler != nullptr) i = (i + 1) & mask;
    index[i] = index_slot{e.id, e.handler.get()};
  }
  m_index = std::move(index);
}

DUET_INLINE void router::dispatch(detail::session_core& session, const frame_view& frame) {
  detail::handler_base* handler = find(frame.header.method);
  if (handler == nullptr || ((frame.header.flags & flag_stream) != 0) != handler->streams) {
    refuse(session, frame, handler);
    return;
  }
  // Only a request that carries metadata can carry a key.
  if (m_answers && frame.header.kind == frame_kind::request && !frame.metadata.empty() &&
      m_answers->handle(*m_answers, session, frame)) {
    return;
  }
  handler->handle(session, frame);
}

// Out of line: the usual request finds its handler, and dispatch() stays
// small enough to need no stack frame of its own.
[[gnu::noinline]] DUET_INLINE void router::refuse(detail::session_core& session, const frame_view& frame,
                                                  const detail::handler_base* handler) {
  if (handler != nullptr) {
    // The two sides declare the method with different shapes.
    if (frame.header.kind == frame_kind::request) {
      session.send_error(frame.header.id,
                         status(status_code::unimplemented, handler->streams
                                                                ? "the method is a stream: a plain call cannot reach it"
                                                                : "the method is not a stream: it cannot be opened as one"));
    }
  } else if (frame.header.kind == frame_kind::request) {
    session.send_error(frame.header.id, status(status_code::not_found, "no handler for method id " +
                                                                           std::to_string(frame.header.method)));
  } else {
    ++m_dropped_notifications;
  }
}

}  // namespace duet::inline v0
#endif
