#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/session/detail/admission.hpp>
#include <duet/session/detail/answer_captures.hpp>
#include <duet/session/detail/backpressure.hpp>
#include <duet/session/detail/frame_writer.hpp>
#include <duet/session/detail/hello.hpp>
#include <duet/session/detail/keepalive.hpp>
#include <duet/session/detail/lifecycle.hpp>
#include <duet/session/detail/call_operation.hpp>
#include <duet/session/detail/request_dispatcher.hpp>
#include <duet/session/detail/running_requests.hpp>
#include <duet/session/detail/stream_engine.hpp>
#include <duet/session/detail/write_queue.hpp>
#include <duet/session/session_options.hpp>
#include <duet/status.hpp>
#include <duet/wire/decoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/metadata.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace duet::inline v0::detail {

class stream_table;

/// The part of a session that does not depend on the transport type; it
/// ties the session's concerns together, each in a member of its own:
///
/// - `m_frames` (frame_writer.hpp) encodes frames into the write queue
///   (write_queue.hpp: the double buffer and borrowed views);
/// - `m_admission` (admission.hpp): the call table and the callers waiting
///   for room;
/// - `m_lifecycle` (lifecycle.hpp): open, going away, flushing, closed;
/// - `m_load` (backpressure.hpp): the serving side's caps;
/// - `m_keepalive` (keepalive.hpp), `m_hello` (hello.hpp);
/// - `m_running` (running_requests.hpp) and `m_captures`
///   (answer_captures.hpp): the requests being served, and the answers an
///   idempotency cache waits for;
/// - `m_streams` (stream_engine.hpp): the seam to the streams, whose engine
///   exists only once a stream is used.
///
/// `route` sends each decoded frame, by kind, to one small `route_*`
/// function. `session<Transport>` adds the reader and writer coroutines.
/// This file holds the hot path; what is off it is defined in the files
/// included at its end. Everything here runs on the loop thread.
class session_core {
 public:
  session_core(event_loop& loop, const session_options& options, request_dispatcher* dispatcher);
  session_core(const session_core&) = delete;
  session_core& operator=(const session_core&) = delete;

  [[nodiscard]] event_loop& loop() const noexcept { return m_loop; }
  [[nodiscard]] bool is_open() const noexcept { return !m_lifecycle.closed(); }
  /// Whether new calls may start here: open, and the peer has not sent goaway.
  [[nodiscard]] bool accepts_calls() const noexcept {
    return m_lifecycle.state() == connection_state::open || (is_open() && !m_lifecycle.peer_going_away());
  }
  [[nodiscard]] const session_options& options() const noexcept { return m_options; }

  /// Calls waiting for a response right now.
  [[nodiscard]] std::size_t calls_in_flight() const noexcept { return m_admission.in_flight(); }

  /// Bytes of answers to the peer (responses, error responses, pongs)
  /// encoded and not yet written: queued, or in the write under way. The
  /// serving side takes no more requests while this is at
  /// `session_options::max_queued_response_bytes` or more.
  [[nodiscard]] std::size_t queued_response_bytes() const noexcept { return m_frames.queue().answer_bytes(); }

  /// The most `queued_response_bytes()` has been over the session's life.
  [[nodiscard]] std::size_t peak_queued_response_bytes() const noexcept {
    return m_frames.queue().peak_answer_bytes();
  }

  /// Requests answered `resource_exhausted`, and notifications dropped,
  /// because they arrived over the caps (`overload_action::reject`).
  [[nodiscard]] std::uint64_t rejected_requests() const noexcept { return m_load.rejected(); }

  /// Stream frames dropped because their stream had ended (or never was):
  /// frames that crossed a stream's end on the wire (docs/protocol.md, 12.4).
  [[nodiscard]] std::uint64_t dropped_stream_frames() const noexcept { return m_streams.dropped_frames(); }

  /// The session's streams (docs/protocol.md, 12), for the stream layer:
  /// made by the first `use_streams`, after which `streams()` returns them.
  /// `use_streams` is a template, defined in stream_routing.hpp (which the
  /// stream layer includes), reached only from the stream layer's templates,
  /// so that only a program that uses streams compiles the stream engine.
  template <class Table = stream_table>
  Table& use_streams();
  [[nodiscard]] stream_table& streams() noexcept { return *m_streams.table(); }

  /// Begins closing: no new calls are admitted, pending ones end with
  /// `code`, the transport closes. Idempotent.
  void shutdown(status_code code, std::string_view why);

  // ---- the end of a connection in good order: goaway, keepalive ------------

  /// Begins a graceful drain of this side: sends goaway (status ok, `why` as
  /// its message), answers requests that arrive afterwards with
  /// `unavailable` without running them (notifications are dropped), lets
  /// the requests already running finish, and closes the connection once
  /// none runs and every queued frame is written, or at `deadline`,
  /// whichever comes first (what still runs then sees the connection end,
  /// as with `shutdown(unavailable)`). No-op once draining or closing.
  void drain(time_point deadline, std::string_view why = "the server is draining");

  /// Whether `drain` was called.
  [[nodiscard]] bool draining() const noexcept { return m_lifecycle.draining(); }

  /// Registers `fn(context)`, called once on the loop thread when this
  /// session stops admitting calls: the peer sent goaway, or the session
  /// began to end. One registration at a time; `fn` nullptr clears it. `fn`
  /// runs inside the session's own work: it must only note the fact (post
  /// a coroutine), never end or destroy the session.
  void on_unusable(void (*fn)(void*) noexcept, void* context) noexcept;

  /// Keepalive pings this side has sent (see `session_options::keepalive_interval`).
  [[nodiscard]] std::uint64_t pings_sent() const noexcept { return m_keepalive.pings_sent(); }

  // ---- outgoing calls -------------------------------------------------------

  /// Starts the exchange of one call: admits `call` into the call table and
  /// sends its request, encoded with `encode(arguments, writer)`, if there is
  /// room and nobody waits ahead of it. Returns true when the call is already
  /// over (the session is closed, or the request could not be sent), false
  /// when the caller must now `suspend_call`: to wait for room (first come,
  /// first served, while the table or the write queue is full; the deadline,
  /// if any, covers the wait) or for the response. A caller that waits for
  /// room is not resumed when room comes: the session sends its request
  /// itself, so admission costs no loop turn.
  ///
  /// When the caller resumes, `call.done` is set and `call.code` says how it
  /// ended; after a response, `call.payload` views the reader's buffer until
  /// the caller next suspends. `arguments` must stay valid until then.
  bool start_call(call_operation& call, std::optional<time_point> deadline, std::uint32_t method,
                  argument_encoder encode, const void* arguments) {
    call.session = this;
    call.method = method;
    call.encode = encode;
    call.arguments = arguments;
    if (deadline) arm_deadline(call, *deadline);
    return start_exchange(call);
  }

  /// Parks the caller of a call that `start_call` did not finish and, when
  /// `stop` can be stopped, arms the call's stop path (call_operation.hpp).
  void suspend_call(call_operation& call, std::coroutine_handle<> awaiting, const std::stop_token& stop) {
    call.waiter = awaiting;
    if (call.id == 0) m_admission.enqueue(call);  // not admitted: wait for room
    if (stop.stop_possible()) call.arm_stop(m_loop, stop, &end_stopped);
  }

  /// Run on the loop for a call whose stop request claimed its resumption:
  /// ends it with `cancelled` if it is still pending (out of the queue or
  /// the table; the server gets a cancel frame for a request already
  /// admitted) and returns its waiter, which the caller of this resumes.
  [[nodiscard]] std::coroutine_handle<> cancel_call(call_operation& call);

  /// Queues a notification (a one-way call: no id, never answered) of
  /// `method`, its arguments encoded with `encode(arguments, writer)`.
  /// Returns ok once it is queued for the writer; `unavailable` when the
  /// session is closed, `resource_exhausted` when it is larger than the peer
  /// accepts, `internal` when encoding threw. Queued notifications leave in
  /// order with the calls around them; delivery is not confirmed.
  status notify(std::uint32_t method, argument_encoder encode, const void* arguments);

  // ---- responses (the serving side) -----------------------------------------
  // A successful response is written through a `response_writer`
  // (response_writer.hpp), which sends or abandons it exactly once.

  /// Queues a response that ends request `id` with a non-ok status; its
  /// payload is the message (truncated to fit the peer's limit), after the
  /// metadata block of `response_metadata` if any (dropped if it alone
  /// would not fit).
  void send_error(std::uint32_t id, const status& s, const metadata* response_metadata = nullptr);

  /// Queues a response to request `id` made of parts kept from an earlier
  /// answer (an idempotency cache's): `code`, a metadata block and a
  /// payload. One larger than the peer accepts is replaced by a
  /// `resource_exhausted` error.
  void send_kept_answer(std::uint32_t id, std::uint16_t code, const_buffer metadata_block, const_buffer payload);

  /// Registers `c` to receive a copy of the answer to request `c.id` when it
  /// is queued, or to hear that none will come. At most one per id.
  void capture_answer(answer_capture& c) noexcept;

  /// Registers a request served by a coroutine handler until `untrack`:
  /// a cancel frame for its id, or the end of the connection, calls its
  /// `on_cancel`. Both on the loop thread.
  void track(running_request& r) noexcept { m_running.track(r); }
  void untrack(running_request& r) noexcept { m_running.untrack(r); }

  /// An asynchronous handler began: the session will not finish until the
  /// matching `handler_finished`, and new requests wait while too many run.
  void handler_started() noexcept { m_load.handler_started(); }
  void handler_finished() {
    m_load.handler_finished();
    admit_parked();
    notify_if_idle();
    close_when_idle();
  }

  /// As handler_started and handler_finished, for a stream handler: it
  /// keeps the session from finishing but never pauses the reader.
  void stream_handler_started() noexcept { m_load.stream_started(); }
  void stream_handler_finished() noexcept;

 protected:
  virtual ~session_core() {
    m_loop.cancel_timer(m_drain_timer);
    m_loop.cancel_timer(m_keepalive.timer());
  }

  /// Closes the transport so that a pending read or write ends.
  virtual void close_transport() noexcept = 0;

  // ---- used by session<Transport>'s reader and writer ------------------------

  /// Routes every whole frame the decoder holds. Returns false once the
  /// session is closing (a protocol error, or a handler or caller closed it).
  bool route_frames();

  /// Whether the reader should wait before routing or reading more
  /// (`backpressure::pauses_reader`: a flooding peer). Over the caps alone
  /// it goes on: requests are parked, every other frame is routed.
  [[nodiscard]] bool reader_should_pause() const noexcept {
    return !m_lifecycle.closed() && m_load.pauses_reader(queued_response_bytes());
  }

  /// Awaitable used by the reader to park until it should read again (or
  /// until every asynchronous handler and the writer are done).
  [[nodiscard]] auto park_reader(bool until_idle) noexcept {
    struct awaiter {
      session_core& self;
      bool until_idle;
      bool await_ready() const noexcept { return until_idle ? self.idle() : !self.reader_should_pause(); }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        (until_idle ? self.m_tasks_waiter : self.m_reader) = h;
      }
      void await_resume() const noexcept {}
    };
    return awaiter{*this, until_idle};
  }

  [[nodiscard]] bool idle() const noexcept {
    return m_load.handlers() == 0 && m_load.streams() == 0 && !m_writer_running;
  }

  frame_decoder m_decoder;
  bool m_writer_running = false;
  std::coroutine_handle<> m_writer_idle;  // the writer, parked until there is output
  status m_end_status;

  void writer_stopped() noexcept {
    m_writer_running = false;
    notify_if_idle();
  }

  /// Whether frames wait for the writer.
  [[nodiscard]] bool has_output() const noexcept { return !m_frames.queue().empty(); }

  /// The writer takes everything queued, as one gather list (see
  /// write_queue::take); callers and stream senders waiting for room may go
  /// on. The list and what it views stay valid until `output_written()`.
  [[nodiscard]] std::span<const const_buffer> take_output() {
    const std::span<const const_buffer> gather = m_frames.queue().take();
    admit_queued();
    m_streams.on_output_taken(*this);
    return gather;
  }

  /// The writer's write of what it took is over (done or failed): the
  /// arguments and the reader's bytes it sent from are free again, and
  /// parked requests and a reader paused by queued answers may go on.
  void output_written() {
    m_frames.queue().written();
    admit_parked();
  }

  /// Whether frames queued or being written send bytes from the reader's
  /// buffer, which must not be reused (`m_decoder.prepare`) before
  /// `detach_reader_views()`.
  [[nodiscard]] bool sends_from_reader() const noexcept { return m_frames.queue().sends_from_reader(); }

  /// Copies the reader's bytes that queued or unwritten frames still send
  /// from, so that the reader may reuse its buffer.
  void detach_reader_views() { m_frames.queue().detach_reader_views(); }

  /// Whether the writer, once the output is written, should end the session
  /// (a drain or the peer's goaway left nothing in flight).
  [[nodiscard]] bool close_when_flushed() const noexcept { return m_lifecycle.flushing(); }
  void flushed_and_closing();

  /// Arms the keepalive timer, if `session_options::keepalive_interval` is set.
  void start_keepalive();

 private:
  // The streams' routing (stream_routing.hpp) writes frames and ends calls.
  friend class stream_table;

  // ---- calls ---------------------------------------------------------------

  static void on_deadline(timer_node& node) noexcept;

  // start_call's part for a call with a deadline (out of line: most have none).
  void arm_deadline(call_operation& call, time_point deadline);

  // A stopped call's canceller, on the loop: ends it (cancel_call).
  static std::coroutine_handle<> end_stopped(call_operation& call) { return call.session->cancel_call(call); }

  /// Admits `call` and sends its request if there is room and nobody
  /// waits ahead of it. True when the call is already over (the session is
  /// closed, or its request could not be sent); false when it must wait
  /// (for room, or for its response).
  bool start_exchange(call_operation& call);

  /// start_exchange's answer for a call on a connection that is not open.
  bool refuse_call(call_operation& call);

  [[nodiscard]] bool has_room() const noexcept {
    return m_admission.has_room(m_frames.queue().queued_bytes(), m_options.max_queued_bytes);
  }

  /// Encodes the request of admitted `call` into the output buffer and
  /// wakes the writer. A request that fails to encode, or is larger than the
  /// peer accepts, is dropped and ends the call (`done`, not resumed).
  void send(call_operation& call);

  /// send's end for a request that could not be queued: out of the table,
  /// ended with why (not resumed).
  void unsent(call_operation& call);

  /// Hands free slots to queued callers, oldest first, sending their
  /// requests; they stay suspended until their responses. One whose request
  /// cannot be sent resumes through the loop rather than inline, since this
  /// runs inside other calls' completions; the waiter is taken first so that
  /// nothing else (a deadline) can resume the same coroutine a second time.
  void admit_queued() {
    if (m_admission.has_waiting()) admit_waiting();  // the usual case: nobody waits
  }
  void admit_waiting();

  /// Ends `call` (already out of the table) without resuming it.
  void finish(call_operation& call, status_code code, std::string why);

  /// Ends `call` (already out of the table) and resumes its waiter inline,
  /// unless a stop request claimed the resumption first (its canceller,
  /// already on its way through the loop, resumes the caller).
  void complete(call_operation& call, status_code code, std::string why);

  /// complete() for a success, which leaves the message alone: only an
  /// end that is not ok sets one, and a call ends once. (Like finish(), it
  /// is a place where a call ends.)
  void complete_ok(call_operation& call) {
    if (call.armed()) m_loop.cancel_timer(call);
    // An answer can be read before the writer has seen its request's write
    // end: the caller may free its arguments once resumed (as in finish).
    if (call.sends_from_arguments) m_frames.queue().detach_views_of(call);
    call.code = status_code::ok;
    call.done = true;
    if (!claim_resumption(call)) return;
    if (auto h = std::exchange(call.waiter, {})) h.resume();
  }

  void fail_everything();

  // ---- the answer path, for response_writer ---------------------------------
  friend class response_writer;

  /// Appends a successful response header for request `id`, then the
  /// metadata block of `response_metadata` (if any), and returns a writer for
  /// its payload; exactly one of send_response and abandon_response follows.
  [[nodiscard]] byte_writer begin_response(std::uint32_t id, const metadata* response_metadata) {
    // A long run of the request's own bytes (an echo) is sent from the
    // reader's buffer. Not while an idempotency cache waits for answers: it
    // copies each answer out of the output buffer.
    return m_frames.begin_response(id, response_metadata, m_captures.empty());
  }

  /// Finishes the response begun by begin_response and queues it. A response
  /// larger than the peer accepts is replaced by a `resource_exhausted` one.
  void send_response(std::uint32_t id);

  /// send_response's answer for a response larger than the peer accepts
  /// (out of line: it builds a status).
  void refuse_response(std::uint32_t id);

  /// Drops a response begun by begin_response (its value failed to encode).
  void abandon_response() noexcept { m_frames.drop_frame(); }

  // ---- routing: one function per frame kind --------------------------------

  void route(const frame_view& frame);
  void route_hello(const frame_view& frame);
  void route_response(const frame_view& frame);
  // The response that ends a caller's stream (out of line: unary calls
  // never come here).
  void route_stream_response(call_operation& call, const frame_view& frame);
  void route_request(const frame_view& frame);
  // route_request's answer to a request that must not run: the session is
  // draining, serves nothing, or is over its caps.
  void refuse_request(std::uint32_t id);
  void route_notification(const frame_view& frame) {
    if (m_dispatcher != nullptr && !m_lifecycle.draining() && !m_load.rejects(queued_response_bytes())) {
      m_dispatcher->dispatch(*this, frame);
    }
  }
  void route_ping(const frame_view& frame) {
    m_frames.pong(frame.header.id, frame.payload);
    wake_writer();
  }
  void route_goaway(const frame_view& frame);
  // A stream frame: to the engine if well formed and there is one; dropped
  // if there is none (then no stream has its id).
  void route_stream_frame(const frame_view& frame);

  // ---- backpressure: requests that arrive over the caps wait --------------

  /// A request or notification: parked when it must wait
  /// (`backpressure::must_park`), admitted otherwise.
  void route_incoming(const frame_view& frame) {
    if (m_load.must_park(queued_response_bytes()) && m_dispatcher != nullptr && !m_lifecycle.draining()) {
      park(frame);
    } else {
      admit(frame);
    }
  }

  /// Runs a request or notification, or answers it without running it.
  void admit(const frame_view& frame) {
    if (frame.header.kind == frame_kind::request) {
      route_request(frame);
    } else {
      route_notification(frame);
    }
  }

  /// Copies a request or notification that must wait.
  void park(const frame_view& frame);

  /// Admits parked requests, oldest first, while the serving side is under
  /// its caps (all of them, answered `unavailable`, once it drains), then
  /// wakes a reader that their number had paused.
  void admit_parked();

  /// Whether the frame's metadata block is well formed; a malformed one is a
  /// protocol error, which ends the session.
  bool check_metadata(const frame_view& frame);

  [[gnu::noinline]] static void read_response_metadata(const frame_view& frame, metadata& out) {
    (void)read_metadata_block(frame.metadata, out);  // checked by check_metadata
  }

  // ---- the end of the connection -------------------------------------------

  static void on_drain_grace_over(timer_node& node) noexcept;

  static void on_keepalive(timer_node& node) noexcept;

  // After this side's goaway or the peer's: once nothing is in flight, let
  // the writer send what is queued and then close.
  void close_when_idle() noexcept {
    if (m_lifecycle.state() == connection_state::open) return;  // the usual case
    if (m_load.handlers() != 0 || m_load.streams() != 0 || m_admission.in_flight() != 0 || m_load.has_parked()) return;
    if (m_lifecycle.start_flushing()) wake_writer();
  }

  void notify_unusable() noexcept;

  void notify_if_idle() {
    if (m_tasks_waiter && idle()) m_loop.post(std::exchange(m_tasks_waiter, {}));
  }

  void wake_writer() {
    if (auto h = std::exchange(m_writer_idle, {})) m_loop.post(h);
  }

  event_loop& m_loop;
  session_options m_options;
  request_dispatcher* m_dispatcher;
  frame_writer m_frames;
  admission m_admission;
  lifecycle m_lifecycle;
  backpressure m_load;
  handshake m_hello;
  keepalive m_keepalive;
  session_timer m_drain_timer;
  running_requests m_running;
  answer_captures m_captures;
  std::coroutine_handle<> m_reader;        // parked by backpressure
  bool m_admitting_parked = false;         // admit_parked runs (a handler it starts may end inside it)
  std::coroutine_handle<> m_tasks_waiter;  // the reader, waiting for handlers and writer to end
  void (*m_on_unusable)(void*) noexcept = nullptr;
  void* m_on_unusable_context = nullptr;
  stream_support m_streams;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE session_core::session_core(event_loop& loop, const session_options& options, request_dispatcher* dispatcher)
    : m_decoder(std::max(options.max_frame_size, min_max_frame_size)),
      m_loop(loop),
      m_options(options),
      m_dispatcher(dispatcher),
      m_frames(m_decoder),
      m_admission(options.max_in_flight),
      m_load(options),
      m_streams(options.streams, options.stream_window) {
  // A hello announcing less than the protocol's floor would be rejected.
  m_options.max_frame_size = std::max(m_options.max_frame_size, min_max_frame_size);
  m_keepalive.timer().owner = this;
  m_keepalive.timer().set_callback(&on_keepalive);
  m_frames.hello(handshake::ours(m_options, m_dispatcher != nullptr));
}

// ---- the reader's side: routing -----------------------------------------------

DUET_INLINE bool session_core::route_frames() {
  m_keepalive.heard();
  frame_view frame;
  for (;;) {
    // Past the parked requests' bound, the frames already read wait in
    // the decoder; the reader routes them once it is woken (checked per
    // frame, not per read: one read can hold thousands of requests).
    if (reader_should_pause()) return true;
    const decode_status st = m_decoder.next(frame);
    if (st == decode_status::need_more) return !m_lifecycle.closed();
    if (st == decode_status::error) {
      shutdown(status_code::protocol_error, m_decoder.error_message());
      return false;
    }
    // The frames of calls (a response here, a request there) without
    // metadata go straight to their routes: what route() checks first
    // (the hello, the metadata) cannot stop them.
    if (frame.header.kind == frame_kind::response && frame.metadata.empty() && m_hello.done()) {
      route_response(frame);
    } else if (frame.header.kind == frame_kind::request && frame.metadata.empty() && m_hello.done()) {
      route_incoming(frame);
    } else {
      route(frame);
    }
    if (m_lifecycle.closed()) return false;
  }
}

DUET_INLINE void session_core::route(const frame_view& frame) {
  if (frame.header.kind == frame_kind::stream_data && frame.metadata.empty() && m_hello.done() &&
      m_streams.routes_data()) {
    // A stream's message: nothing checked below, nor by
    // route_stream_frame(), can stop it.
    m_streams.engine()->on_data(*this, frame);
    return;
  }
  if (!m_hello.done()) {
    route_hello(frame);
    return;
  }
  // Only a frame that carries metadata pays for reading it.
  if (!frame.metadata.empty() && !check_metadata(frame)) return;
  switch (frame.header.kind) {
    case frame_kind::response: route_response(frame); return;
    case frame_kind::request:
    case frame_kind::notification: route_incoming(frame); return;
    case frame_kind::ping: route_ping(frame); return;
    case frame_kind::cancel: m_running.cancel(frame.header.id); return;
    case frame_kind::goaway: route_goaway(frame); return;
    case frame_kind::hello: shutdown(status_code::protocol_error, "the peer sent a second hello"); return;
    case frame_kind::stream_data:
    case frame_kind::stream_end:
    case frame_kind::credit: route_stream_frame(frame); return;
    default:
      // A pong has done its work by arriving (any read counts for the
      // keepalive).
      return;
  }
}

DUET_INLINE void session_core::route_response(const frame_view& frame) {
  const frame_header& h = frame.header;
  call_operation* call = m_admission.take(h.id);
  if (call == nullptr) return;  // late (after a deadline) or unknown: dropped
  if (call->stream != nullptr) {
    route_stream_response(*call, frame);
    return;
  }
  const auto code = static_cast<status_code>(h.status);
  call->payload = frame.payload;
  if (call->response_metadata != nullptr && !frame.metadata.empty()) {
    read_response_metadata(frame, *call->response_metadata);
  }
  if (code == status_code::ok) {
    complete_ok(*call);
  } else {
    complete(*call, is_known(code) ? code : status_code::unknown,
             std::string(reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size()));
  }
  admit_queued();
  if (m_lifecycle.winding_down()) close_when_idle();
}

DUET_INLINE void session_core::route_request(const frame_view& frame) {
  if ((frame.header.flags & flag_stream) != 0 && !m_streams.negotiated()) {
    shutdown(status_code::protocol_error, "a request opening a stream, but streams were not negotiated");
    return;
  }
  if (!m_lifecycle.draining() && m_dispatcher != nullptr && !m_load.rejects(queued_response_bytes())) {
    m_dispatcher->dispatch(*this, frame);
  } else {
    refuse_request(frame.header.id);
  }
}

// ---- outgoing calls ------------------------------------------------------------

[[gnu::noinline]] DUET_INLINE bool session_core::start_exchange(call_operation& call) {
  if (call.done) return true;
  if (m_lifecycle.state() != connection_state::open && !accepts_calls()) return refuse_call(call);
  if (m_admission.has_waiting() || !has_room()) return false;
  m_admission.admit(call);
  send(call);
  return call.done;
}

DUET_INLINE void session_core::send(call_operation& call) {
  const auto flags = static_cast<std::uint16_t>(call.stream != nullptr ? flag_stream : 0);
  if (!m_frames.encode_outgoing(frame_header{frame_kind::request, flags, 0, call.id, call.method, 0, 0}, call.encode,
                                call.arguments, &call)) {
    unsent(call);
    return;
  }
  wake_writer();
}

[[gnu::noinline]] DUET_INLINE void session_core::unsent(call_operation& call) {
  m_admission.take(call.id);
  status why = m_frames.take_failure();
  finish(call, why.code(), why.message());
}

[[gnu::noinline]] DUET_INLINE void session_core::arm_deadline(call_operation& call, time_point deadline) {
  call.set_callback(&on_deadline);
  m_loop.start_timer(call, deadline);
}

DUET_INLINE void session_core::admit_waiting() {
  while (m_admission.has_waiting() && has_room()) {
    call_operation* call = m_admission.dequeue();
    m_admission.admit(*call);
    send(*call);
    if (call->stream != nullptr) {
      m_streams.on_admitted(*this, *call);
    } else if (call->done && claim_resumption(*call)) {
      m_loop.post(std::exchange(call->waiter, {}));
    }
  }
}

DUET_INLINE void session_core::finish(call_operation& call, status_code code, std::string why) {
  if (call.armed()) m_loop.cancel_timer(call);
  // The caller may reuse or free its arguments once resumed.
  if (call.sends_from_arguments) m_frames.queue().detach_views_of(call);
  call.code = code;
  call.message = std::move(why);
  call.done = true;
}

DUET_INLINE void session_core::complete(call_operation& call, status_code code, std::string why) {
  finish(call, code, std::move(why));
  if (call.stream != nullptr) {
    m_streams.on_local_end(*this, call);
    return;
  }
  if (!claim_resumption(call)) return;
  if (auto h = std::exchange(call.waiter, {})) h.resume();
}

// ---- responses -------------------------------------------------------------------

DUET_INLINE void session_core::send_response(std::uint32_t id) {
  if (!m_frames.finish_response()) {
    refuse_response(id);
    return;
  }
  if (!m_captures.empty()) m_captures.deliver(id, m_frames.queue().buffer(), m_frames.frame_start());
  wake_writer();
}

[[gnu::noinline]] DUET_INLINE void session_core::refuse_response(std::uint32_t id) {
  send_error(id, status(status_code::resource_exhausted, "the response is larger than the peer's maximum frame size"));
}

}  // namespace duet::inline v0::detail
#endif

// The definitions off the hot path, one concern per file; they use the
// whole session core.
#include <duet/session/detail/call_endings.hpp>
#include <duet/session/detail/connection_end.hpp>
#include <duet/session/detail/control_frames.hpp>
#include <duet/session/detail/serving.hpp>
