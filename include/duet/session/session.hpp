#pragma once

#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/spawned.hpp>
#include <duet/session/session_options.hpp>
#include <duet/transport/transport.hpp>

#include <algorithm>
#include <coroutine>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace duet::inline v0 {

/// One connection's multiplexer: many calls in both directions share one
/// transport, each matched to its response by transaction id.
///
/// A session owns a single reader and a single writer coroutine. The reader
/// parses every whole frame a read brings in and resumes the matching caller
/// (or hands a request to the dispatcher); the writer sends, in one write,
/// every frame queued since its last write, so calls issued in the same loop
/// turn leave together.
///
/// Sessions are shared: `make` returns a shared_ptr, and the reader keeps
/// its own reference until the session has fully ended, so dropping every
/// user reference never leaves a coroutine pointing at freed memory. A
/// session ends when the connection fails, the peer breaks the protocol, or
/// `close()` is called; then every pending call ends at once with a status
/// (`unavailable`, `protocol_error` or `cancelled`), and `finished()`
/// completes after the writer and every running handler have returned.
///
/// Everything runs on the loop thread given at start; no member is
/// thread-safe.
template <transport Transport>
class session final : public detail::session_core, public std::enable_shared_from_this<session<Transport>> {
  struct private_tag {};

 public:
  /// Makes a session over `stream`, not yet started: nothing is read or
  /// written until `start()`. `dispatcher` serves the peer's requests
  /// (nullptr: this side serves nothing and answers requests with
  /// `unimplemented`); it must outlive the session.
  [[nodiscard]] static std::shared_ptr<session> make(event_loop& loop, Transport stream,
                                                     const session_options& options = {},
                                                     detail::request_dispatcher* dispatcher = nullptr) {
    return std::make_shared<session>(private_tag{}, loop, std::move(stream), options, dispatcher);
  }

  /// Starts the reader and the writer. The reader runs at once: frames the
  /// transport already holds are routed (and handlers run) before start()
  /// returns, so register whatever must see them (stop lists) first.
  void start() {
    m_writer_running = true;
    write_loop(this->shared_from_this());
    read_loop(this->shared_from_this());
    start_keepalive();
  }

  session(private_tag, event_loop& loop, Transport stream, const session_options& options,
          detail::request_dispatcher* dispatcher)
      : session_core(loop, options, dispatcher), m_transport(std::move(stream)) {}

  /// Ends the session from this side: pending calls end with `cancelled`,
  /// the transport closes. Idempotent; `finished()` tells when it is over.
  void close() { shutdown(status_code::cancelled, "the session was closed by this side"); }

  /// Awaitable that completes once the session has ended and its reader,
  /// writer and handlers are done. Resumes the awaiter through the loop.
  [[nodiscard]] auto finished() noexcept {
    struct awaiter {
      session& self;
      bool await_ready() const noexcept { return self.m_finished; }
      void await_suspend(std::coroutine_handle<> h) { self.m_finish_waiters.push_back(h); }
      void await_resume() const noexcept {}
    };
    return awaiter{*this};
  }

  /// Why the session ended (ok while it runs).
  [[nodiscard]] const status& end_status() const noexcept { return m_end_status; }

  /// The transport, for endpoint queries and the like; do not read or write it.
  [[nodiscard]] Transport& transport() noexcept { return m_transport; }

 private:
  // How much room to offer each read: enough for many small frames per
  // system call; the decoder offers more when a large frame is partial.
  // A read that fills its room doubles the next offer, up to
  // max_read_size, so a stream of large frames costs few system calls (the
  // decoder's buffer stays below the size it gives back when emptied);
  // reads that leave most of it unused halve it again.
  static constexpr std::size_t read_size = 64 * 1024;
  static constexpr std::size_t max_read_size = 512 * 1024;

  void close_transport() noexcept override { m_transport.close(); }

  static detail::spawned read_loop(std::shared_ptr<session> self) {
    session& s = *self;
    std::size_t offer = read_size;
    while (s.is_open()) {
      if (s.reader_should_pause()) {
        co_await s.park_reader(false);
        // Frames read before the pause wait in the decoder: route them first.
        if (!s.route_frames()) break;
        continue;
      }
      if (s.sends_from_reader()) {
        // Answers send bytes from the read buffer (an echo): let the writer,
        // already queued on the loop, send them from there; what it could
        // not send yet is copied before the buffer is reused.
        co_await s.loop().schedule();
        s.detach_reader_views();
        if (!s.is_open()) break;
      }
      const mutable_buffer room = s.m_decoder.prepare(offer);
      const io_result r = co_await s.m_transport.read_some(room);
      if (r.bytes == room.size()) {
        offer = std::min(offer * 2, max_read_size);
      } else if (r.bytes < room.size() / 4) {
        offer = std::max(offer / 2, read_size);
      }
      if (!s.is_open()) break;
      if (r.error) {
        s.shutdown(status_code::unavailable, "the connection failed: " + r.error.message());
        break;
      }
      if (r.bytes == 0) {
        s.shutdown(status_code::unavailable, "the peer closed the connection");
        break;
      }
      s.m_decoder.commit(r.bytes);
      if (!s.route_frames()) break;
      // Responses are waiting and the socket may hold more: let the writer
      // (already queued on the loop) send them before reading again, so a
      // stream of full reads of large frames does not hold back the answers.
      if (r.bytes == room.size() && s.has_output()) co_await s.loop().schedule();
    }
    co_await s.park_reader(true);  // the writer and every handler have returned
    s.m_finished = true;
    for (std::coroutine_handle<> h : std::exchange(s.m_finish_waiters, {})) s.loop().post(h);
  }

  static detail::spawned write_loop(std::shared_ptr<session> self) {
    session& s = *self;
    for (;;) {
      if (!s.is_open()) break;
      if (!s.has_output()) {
        // A drain or the peer's goaway left nothing in flight, and all is sent.
        if (s.close_when_flushed()) {
          s.flushed_and_closing();
          break;
        }
        co_await writer_parked{s};
        continue;
      }
      // Double buffering: new frames queue while this batch is written.
      const io_result r = co_await s.m_transport.write(s.take_output());
      s.output_written();
      if (r.error) {
        s.shutdown(status_code::unavailable, "the connection failed: " + r.error.message());
        break;
      }
    }
    self.reset();  // before telling the reader, which may then release the last reference
    s.writer_stopped();
  }

  struct writer_parked {
    session& self;
    bool await_ready() const noexcept {
      return self.has_output() || !self.is_open() || self.close_when_flushed();
    }
    void await_suspend(std::coroutine_handle<> h) noexcept { self.m_writer_idle = h; }
    void await_resume() const noexcept {}
  };

  Transport m_transport;
  bool m_finished = false;
  std::vector<std::coroutine_handle<>> m_finish_waiters;
};

}  // namespace duet::inline v0
