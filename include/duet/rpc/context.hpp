#pragma once

#include <duet/config.hpp>

#include <duet/loop/event_loop.hpp>
#include <duet/status.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/timeout.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <stop_token>
#include <string_view>

namespace duet::inline v0 {

class peer;

namespace detail {
class session_core;
struct call_context_access;
}  // namespace detail

/// What a handler may know about the request it serves. A handler that
/// wants it takes `duet::call_context&` as its first parameter:
///
///     router.on(kv_get, [](duet::call_context& ctx, std::string key) { ... });
///
/// The context is valid until the handler returns (for a coroutine
/// handler: until its task completes).
class call_context {
 public:
  call_context(event_loop& loop, std::string_view method_name, std::uint32_t method_id,
               bool expects_response) noexcept
      : m_loop(&loop), m_method_name(method_name), m_method_id(method_id), m_expects_response(expects_response) {}

  /// The other end of the connection the request came on, to call back:
  ///
  ///     int n = co_await ctx.peer().call(confirm, job);
  ///
  /// Valid while the handler runs (a coroutine handler: until its task
  /// completes). A call still waiting when the connection ends fails with
  /// `unavailable`, like any call. Declared in <duet/rpc/peer.hpp>, which
  /// <duet/rpc/router.hpp> includes. Precondition: the context is one the
  /// router made for a handler, not one constructed by hand.
  [[nodiscard]] duet::peer peer() const noexcept;

  /// The loop the connection runs on; a coroutine handler runs there too.
  [[nodiscard]] event_loop& loop() const noexcept { return *m_loop; }
  /// The name of the method being served.
  [[nodiscard]] std::string_view method_name() const noexcept { return m_method_name; }
  /// The method's wire id.
  [[nodiscard]] std::uint32_t method_id() const noexcept { return m_method_id; }
  /// False for a notification: whatever the handler returns is discarded.
  [[nodiscard]] bool expects_response() const noexcept { return m_expects_response; }

  /// Fires when the caller cancels the request (a cancel frame), when the
  /// request's deadline passes, or when the connection ends while a
  /// coroutine handler still runs, so a long handler can give up early (its
  /// answer would be dropped anyway). A plain handler returns before any of
  /// these can be seen, so its token never fires.
  /// The first call makes the stop state (one allocation); handlers that
  /// never ask pay nothing.
  [[nodiscard]] std::stop_token stop_token();

  /// When the caller stops waiting, if it gave the call a timeout or
  /// deadline: the time left that the caller sent (`duet-timeout`), counted
  /// from the request's arrival, so the two hosts' clocks need not agree
  /// (the time on the network is not counted).
  [[nodiscard]] std::optional<time_point> deadline() const noexcept { return m_deadline; }

  /// Time left until `deadline()`: zero once it passed, `duration::max()`
  /// for a request without one. Reads the clock only when there is one.
  [[nodiscard]] duration remaining() const noexcept {
    if (!m_deadline) return duration::max();
    const time_point now = clock::now();
    return *m_deadline > now ? *m_deadline - now : duration::zero();
  }

  /// Whether the deadline passed while a coroutine handler ran (its stop
  /// token fired then).
  [[nodiscard]] bool deadline_passed() const noexcept { return m_deadline_passed; }

  /// The metadata the request came with (docs/call-semantics.md, Metadata),
  /// including duet's own `duet-` pairs except `duet-timeout` (see
  /// `deadline()`).
  [[nodiscard]] const metadata& request_metadata() const noexcept { return m_request_metadata; }

  /// Metadata to send back with the response, whatever its outcome: a
  /// value, a returned error or a thrown `rpc_error`. Add to it before the
  /// handler returns (a coroutine handler: before its task completes).
  /// Nothing is sent for a notification.
  [[nodiscard]] metadata& response_metadata() noexcept { return m_response_metadata; }
  [[nodiscard]] const metadata& response_metadata() const noexcept { return m_response_metadata; }

  /// Whether the request was cancelled (see stop_token()).
  [[nodiscard]] bool cancelled() const noexcept { return m_cancelled; }

  /// Called by the session, on the loop thread, when the request is cancelled.
  void cancel() noexcept {
    m_cancelled = true;
    if (m_stop.stop_possible()) m_stop.request_stop();
  }

 private:
  friend struct detail::call_context_access;

  call_context(detail::session_core& session, event_loop& loop, std::string_view method_name,
               std::uint32_t method_id, bool expects_response) noexcept
      : call_context(loop, method_name, method_id, expects_response) {
    m_session = &session;
  }

  detail::session_core* m_session = nullptr;  // whose peer() it is
  event_loop* m_loop;
  std::string_view m_method_name;
  std::uint32_t m_method_id;
  bool m_expects_response;
  bool m_cancelled = false;
  bool m_deadline_passed = false;
  std::optional<time_point> m_deadline;
  std::stop_source m_stop{std::nostopstate};  // made by the first stop_token()
  metadata m_request_metadata;
  metadata m_response_metadata;
};

namespace detail {

/// What the router sets in a context before the handler runs.
struct call_context_access {
  /// A context for a request that came on `session`, whose loop is `loop`.
  [[nodiscard]] static call_context make(session_core& session, event_loop& loop, std::string_view method_name,
                                         std::uint32_t method_id, bool expects_response) noexcept {
    return call_context(session, loop, method_name, method_id, expects_response);
  }

  /// Reads the request's metadata block (already checked by the session):
  /// its `duet-timeout` becomes the deadline (the first one counts; none is
  /// kept as a pair, so a call with only a timeout allocates nothing here),
  /// every other pair goes into the request metadata. Returns the status to
  /// answer with instead of running the handler: `deadline_exceeded` when
  /// the request arrived with no time left, `invalid_argument` when its
  /// `duet-timeout` is not a number.
  // gnu::noinline: see the definition.
  [[nodiscard]] static std::optional<status> read_request_metadata(call_context& c, const_buffer block);

  /// The deadline of a running coroutine handler passed (a loop timer).
  static void expire(void* context) noexcept;
  /// The response metadata to send: null when there is none.
  [[nodiscard]] static const metadata* response_metadata(const call_context& c) noexcept {
    return c.m_response_metadata.empty() ? nullptr : &c.m_response_metadata;
  }
};

}  // namespace detail

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE std::stop_token call_context::stop_token() {
  if (!m_stop.stop_possible()) {
    m_stop = std::stop_source();
    if (m_cancelled || m_deadline_passed) m_stop.request_stop();
  }
  return m_stop.get_token();
}

namespace detail {

// Out of line even when inline (gnu::noinline on the definition: GCC warns
// when an inline definition follows a declaration that has it).
[[gnu::noinline]] DUET_INLINE std::optional<status> call_context_access::read_request_metadata(call_context& c,
                                                                                              const_buffer block) {
  std::optional<std::string_view> timeout;
  metadata_reader reader{block};
  for (metadata_entry e; reader.next(e);) {
    if (e.key == timeout_key) {
      if (!timeout) timeout = e.value;
    } else {
      metadata_access::add_unchecked(c.m_request_metadata, e.key, e.value);
    }
  }
  if (!timeout) return std::nullopt;
  std::uint64_t microseconds = 0;
  if (!parse_timeout_value(*timeout, microseconds)) {
    return status(status_code::invalid_argument,
                  "the request's duet-timeout \"" + std::string(*timeout) + "\" is not a number of microseconds");
  }
  c.m_deadline = deadline_from_timeout(microseconds, clock::now());
  if (microseconds == 0) {
    c.m_deadline_passed = true;
    return status(status_code::deadline_exceeded, "the request arrived after its deadline");
  }
  return std::nullopt;
}

DUET_INLINE void call_context_access::expire(void* context) noexcept {
  auto& c = *static_cast<call_context*>(context);
  c.m_deadline_passed = true;
  if (c.m_stop.stop_possible()) c.m_stop.request_stop();
}

}  // namespace detail

}  // namespace duet::inline v0
#endif
