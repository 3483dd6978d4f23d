#pragma once

#include <duet/config.hpp>

#include <duet/coro/async_scope.hpp>
#include <duet/coro/task.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/rpc/router.hpp>
#include <duet/session/session.hpp>
#include <duet/session/session_options.hpp>
#include <duet/transport/transport.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <system_error>
#include <utility>

namespace duet::inline v0 {

/// Limits of a server, on top of each connection's session limits.
struct server_options {
  /// Limits applied to every connection (frame size, requests running at once).
  session_options session;
  /// Connections served at once; a connection accepted past this is closed
  /// at once, so its client sees `unavailable`.
  std::size_t max_connections = 10000;
};

/// Serves a router's methods on every connection it accepts.
///
///     duet::server server(loop, router);
///     co_await server.serve(std::move(listener));  // until server.stop() or server.drain(grace)
///
/// Each connection gets its own session; requests on a connection run
/// concurrently, and a connection that fails or breaks the protocol ends
/// alone while every other one carries on. `serve` accepts until `stop()`
/// or `drain(grace)`, then closes (or drains) every connection and completes
/// once all of them have ended.
/// `serve_connection` serves one already-connected stream of any transport
/// (an in-memory pair, a pipe) until it ends.
///
/// Threads and lifetimes: everything runs on the server's loop, and
/// `stop()` must be called on that loop's thread (from another thread,
/// post a coroutine that calls it). The router must outlive the server, and
/// the server must outlive every `serve` and `serve_connection` it started.
class server {
 public:
  server(event_loop& loop, router& routes, server_options options = {});
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  /// Accepts connections from `listener` and serves each until `stop()`.
  /// Completes once the listener is closed and every connection it
  /// accepted has ended. Transient accept failures (out of descriptors)
  /// are retried after a short pause; any other failure ends serving.
  template <listener Listener>
  [[nodiscard]] task<void> serve(Listener acceptor) {
    link listener_link(&close_listener<Listener>, &acceptor);
    attach(listener_link);
    async_scope connections;
    std::exception_ptr failure;
    while (!m_stopping) {
      auto accepted = co_await acceptor.accept();
      if (m_stopping) break;
      if (!accepted) {
        const std::error_code error = accepted.error();
        if (error == std::errc::too_many_files_open || error == std::errc::too_many_files_open_in_system ||
            error == std::errc::no_buffer_space || error == std::errc::not_enough_memory) {
          co_await m_loop.sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        if (error == std::errc::connection_aborted || error == std::errc::interrupted) continue;
        break;
      }
      if (m_connection_count >= m_options.max_connections) {
        accepted->close();
        continue;
      }
      connections.spawn(serve_connection(std::move(*accepted)));
    }
    detach(listener_link);
    acceptor.close();
    // The listener is gone: stop serving its connections too when the
    // server is stopping; otherwise they run until their peers leave.
    co_await connections.join();
  }

  /// Serves one connected stream until the connection ends. Completes
  /// after the session's handlers have all returned.
  template <transport Transport>
  [[nodiscard]] task<void> serve_connection(Transport stream) {
    if (m_stopping) {
      stream.close();
      co_return;
    }
    std::shared_ptr<session<Transport>> s =
        session<Transport>::make(m_loop, std::move(stream), m_options.session, &m_router);
    // Linked before it starts: a request already buffered runs its handler
    // inside start(), and that handler may stop the server.
    link connection_link(&stop_session, static_cast<detail::session_core*>(s.get()));
    attach(connection_link);
    ++m_connection_count;
    s->start();
    co_await s->finished();
    m_ended_peak_response_bytes = std::max(m_ended_peak_response_bytes, s->peak_queued_response_bytes());
    m_ended_rejected_requests += s->rejected_requests();
    --m_connection_count;
    detach(connection_link);
  }

  /// Stops accepting, and ends every connection: their clients' pending
  /// calls end with `unavailable`. Loop thread only; idempotent. During a
  /// `drain`, ends at once what the drain still waits for.
  void stop();

  /// Stops gracefully: stops accepting (listeners close at once), sends
  /// goaway on every connection, answers requests that arrive afterwards
  /// with `unavailable` without running them, and lets the requests
  /// already running finish and their responses leave. Each connection
  /// closes once it has nothing in flight, or when `grace` has passed
  /// (handlers still running then see their stop token fire and their
  /// callers get `unavailable`, as with `stop()`). `serve` completes once
  /// every connection has closed. Loop thread only; a second `drain` does
  /// nothing, a `stop()` during a drain ends it at once.
  void drain(duration grace);

  /// Whether stop() or drain() was called.
  [[nodiscard]] bool stopping() const noexcept { return m_stopping; }

  /// Connections being served right now.
  [[nodiscard]] std::size_t connection_count() const noexcept { return m_connection_count; }

  /// The most bytes of answers any one connection has had waiting for its
  /// writer at once, over every connection served so far: what
  /// `session_options::max_queued_response_bytes` bounds. Loop thread only.
  [[nodiscard]] std::size_t peak_queued_response_bytes() const noexcept;

  /// Requests answered `resource_exhausted` (and notifications dropped)
  /// because their connection was over its caps, with
  /// `overload_action::reject`, over every connection. Loop thread only.
  [[nodiscard]] std::uint64_t rejected_requests() const noexcept;

 private:
  // Listeners and connections in service, so that stop() can reach them.
  // Each link lives in the frame of the coroutine serving it.
  struct link {
    void (*stop)(void*) = nullptr;
    void* target = nullptr;
    link* prev = this;
    link* next = this;
    link() = default;
    link(void (*fn)(void*), void* t) : stop(fn), target(t) {}
    link(const link&) = delete;
    link& operator=(const link&) = delete;
  };

  template <class Listener>
  static void close_listener(void* listener) {
    static_cast<Listener*>(listener)->close();
  }
  static void stop_session(void* core) {
    static_cast<detail::session_core*>(core)->shutdown(status_code::unavailable, "the server is stopping");
  }

  template <class F>
  void for_each_session(F f) const {
    for (const link* l = m_links.next; l != &m_links; l = l->next) {
      if (l->stop == &stop_session) f(*static_cast<const detail::session_core*>(l->target));
    }
  }

  void attach(link& l) noexcept;
  static void detach(link& l) noexcept;

  event_loop& m_loop;
  router& m_router;
  server_options m_options;
  link m_links;  // sentinel of the circular list
  std::size_t m_connection_count = 0;
  std::size_t m_ended_peak_response_bytes = 0;  // of connections that have ended
  std::uint64_t m_ended_rejected_requests = 0;
  bool m_stopping = false;  // stop() or drain(): no more connections
  bool m_stopped = false;   // stop(): every connection ended at once
};

}  // namespace duet::inline v0

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0 {

DUET_INLINE server::server(event_loop& loop, router& routes, server_options options)
    : m_loop(loop), m_router(routes), m_options(std::move(options)) {}

DUET_INLINE server::~server() {
  // Destroying a server that still serves would leave sessions pointing
  // at a dead router: a bug in the caller that must not pass silently.
  if (m_links.next != &m_links) std::terminate();
}

DUET_INLINE void server::stop() {
  if (m_stopped) return;
  m_stopping = m_stopped = true;
  // Stopping a link may detach others; walk from the head each time.
  for (link* l = m_links.next; l != &m_links;) {
    link* next = l->next;
    l->stop(l->target);
    l = next;
  }
}

DUET_INLINE void server::drain(duration grace) {
  if (m_stopping) return;
  m_stopping = true;
  const time_point deadline = deadline_after(grace);
  for (link* l = m_links.next; l != &m_links;) {
    link* next = l->next;
    // Reached from here only, not through the link: a program that never
    // drains compiles none of the drain.
    if (l->stop == &stop_session) {
      static_cast<detail::session_core*>(l->target)->drain(deadline);
    } else {
      l->stop(l->target);
    }
    l = next;
  }
}

DUET_INLINE std::size_t server::peak_queued_response_bytes() const noexcept {
  std::size_t peak = m_ended_peak_response_bytes;
  for_each_session([&peak](const detail::session_core& s) { peak = std::max(peak, s.peak_queued_response_bytes()); });
  return peak;
}

DUET_INLINE std::uint64_t server::rejected_requests() const noexcept {
  std::uint64_t rejected = m_ended_rejected_requests;
  for_each_session([&rejected](const detail::session_core& s) { rejected += s.rejected_requests(); });
  return rejected;
}

DUET_INLINE void server::attach(link& l) noexcept {
  l.prev = m_links.prev;
  l.next = &m_links;
  m_links.prev->next = &l;
  m_links.prev = &l;
}

DUET_INLINE void server::detach(link& l) noexcept {
  l.prev->next = l.next;
  l.next->prev = l.prev;
  l.prev = l.next = &l;
}

}  // namespace duet::inline v0
#endif
