#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/loop/event_loop.hpp>
#include <duet/session/call_table.hpp>
#include <duet/session/detail/stream_table.hpp>
#include <duet/session/session_options.hpp>
#include <duet/status.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/idempotency.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/native.hpp>
#include <duet/wire/timeout.hpp>

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duet::inline v0::detail {

class session_core;

/// Encodes a call's arguments (an object its caller owns) into a request's
/// payload. Type-erased, so that admitting, encoding and sending a call is
/// compiled once, not once per method signature.
using argument_encoder = void (*)(const void* arguments, byte_writer& out);

/// One outgoing call's state. It lives in the calling coroutine's frame, so
/// a call costs the session no allocation; the call table points at it.
///
/// Lifecycle (every path ends in `finish` or `complete`, exactly once):
///
///     created --acquire--> admitted --send--> waiting --response--> done
///        |                    ^                  |----deadline----> done
///        |--table full--> queued                 |----conn lost---> done
///        |--closed------------------------------------------------> done
struct pending_call : timer_node {
  session_core* session = nullptr;
  std::coroutine_handle<> waiter;
  std::uint32_t id = 0;
  status_code code = status_code::ok;
  bool done = false;
  std::string message;        // why, when code is not ok
  const_buffer payload;       // the response payload; valid only while the reader resumes us
  pending_call* next_queued = nullptr;
  std::uint32_t method = 0;   // the request to send once admitted
  argument_encoder encode = nullptr;
  const void* arguments = nullptr;
  // For a call with a stop token: completion and a stop request (on any
  // thread) race to claim the single resumption of `waiter`. A stop that
  // wins hands the call to a canceller on the loop, which ends and resumes it.
  bool cancellable = false;
  std::atomic<bool> resumption_claimed{false};
  const metadata* request_metadata = nullptr;  // sent with the request; null or empty: none
  metadata* response_metadata = nullptr;       // receives the response's metadata, when set
  std::string_view idempotency_key;            // sent as duet-idempotency-key when not empty
  // Its request, queued or being written, sends long byte runs straight
  // from the arguments: they must be copied if the call ends first.
  bool sends_from_arguments = false;
  // A caller's stream (stream_table.hpp): its request opens the stream, and
  // the stream, not `waiter`, hears how the call ended.
  stream_channel* stream = nullptr;
};

/// A request being served by a coroutine handler, registered with its
/// session so that a cancel frame (or the end of the connection) can reach
/// it. Lives in the handler's coroutine frame; the session links it into an
/// intrusive list, so registering allocates nothing.
struct running_request {
  std::uint32_t id = 0;
  void (*on_cancel)(running_request&) noexcept = nullptr;
  running_request* previous = nullptr;
  running_request* next = nullptr;
};

/// Asks the session for a copy of the answer to one request, as it is
/// queued (the rpc layer's idempotency cache keeps it). Owned by whoever
/// registers it (`session_core::capture_answer`); the session calls exactly
/// one of the two functions, on the loop thread, and forgets it.
struct answer_capture {
  std::uint32_t id = 0;
  /// The answer was queued: its status, metadata block and payload, views
  /// valid only during the call.
  void (*on_answer)(answer_capture&, std::uint16_t status, const_buffer metadata, const_buffer payload) noexcept =
      nullptr;
  /// No answer will come: the connection ended first.
  void (*on_abandon)(answer_capture&) noexcept = nullptr;
  answer_capture* next = nullptr;
};

/// What the session hands an incoming request or notification to: the rpc
/// layer's router implements it. Called on the loop thread from inside the
/// reader; the frame's views are valid only during the call, so a handler
/// that runs on decodes its arguments first.
class request_dispatcher {
 public:
  virtual void dispatch(session_core& session, const frame_view& frame) = 0;

 protected:
  ~request_dispatcher() = default;
};

/// The part of a session that does not depend on the transport type: call
/// admission and the pending-call table, frame encoding into the output
/// buffer, routing of decoded frames, and the end of the connection.
/// `session<Transport>` adds the reader and writer coroutines.
///
/// Everything here runs on the loop thread.
class session_core {
 public:
  session_core(event_loop& loop, const session_options& options, request_dispatcher* dispatcher);
  session_core(const session_core&) = delete;
  session_core& operator=(const session_core&) = delete;

  [[nodiscard]] event_loop& loop() const noexcept { return m_loop; }
  [[nodiscard]] bool is_open() const noexcept { return !m_closing; }
  /// Whether new calls may start here: open, and the peer has not sent goaway.
  [[nodiscard]] bool accepts_calls() const noexcept { return !m_closing && !m_peer_going_away; }
  [[nodiscard]] const session_options& options() const noexcept { return m_options; }

  /// Calls waiting for a response right now.
  [[nodiscard]] std::size_t calls_in_flight() const noexcept { return m_calls.size(); }

  /// Bytes of answers to the peer (responses, error responses, pongs)
  /// encoded and not yet written: queued, or in the write under way. The
  /// serving side takes no more requests while this is at
  /// `session_options::max_queued_response_bytes` or more.
  [[nodiscard]] std::size_t queued_response_bytes() const noexcept {
    return m_out_response_bytes + m_writing_response_bytes;
  }

  /// The most `queued_response_bytes()` has been over the session's life.
  [[nodiscard]] std::size_t peak_queued_response_bytes() const noexcept { return m_peak_response_bytes; }

  /// Requests answered `resource_exhausted`, and notifications dropped,
  /// because they arrived over the caps (`overload_action::reject`).
  [[nodiscard]] std::uint64_t rejected_requests() const noexcept { return m_rejected; }

  /// Stream frames dropped because their stream had ended (or never was):
  /// frames that crossed a stream's end on the wire (docs/protocol.md, 12.4).
  [[nodiscard]] std::uint64_t dropped_stream_frames() const noexcept { return m_streams.dropped_frames(); }

  /// The session's streams (docs/protocol.md, 12), for the stream layer.
  [[nodiscard]] stream_table& streams() noexcept { return m_streams; }

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
  [[nodiscard]] bool draining() const noexcept { return m_draining; }

  /// Registers `fn(context)`, called once on the loop thread when this
  /// session stops admitting calls: the peer sent goaway, or the session
  /// began to end. One registration at a time; `fn` nullptr clears it. `fn`
  /// runs inside the session's own work: it must only note the fact (post
  /// a coroutine), never end or destroy the session.
  void on_unusable(void (*fn)(void*) noexcept, void* context) noexcept {
    m_on_unusable = fn;
    m_on_unusable_context = context;
  }

  /// Keepalive pings this side has sent (see `session_options::keepalive_interval`).
  [[nodiscard]] std::uint64_t pings_sent() const noexcept { return m_pings_sent; }

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
  bool start_call(pending_call& call, std::optional<time_point> deadline, std::uint32_t method,
                  argument_encoder encode, const void* arguments) {
    call.session = this;
    call.method = method;
    call.encode = encode;
    call.arguments = arguments;
    if (deadline) {
      call.set_callback(&on_deadline);
      m_loop.start_timer(call, *deadline);
    }
    return start_exchange(call);
  }

  /// Parks the caller of a call that `start_call` did not finish.
  void suspend_call(pending_call& call, std::coroutine_handle<> awaiting) noexcept {
    call.waiter = awaiting;
    if (call.id == 0) enqueue(call);  // not admitted: wait for room
  }

  /// Run on the loop for a call whose stop request claimed its resumption:
  /// ends it with `cancelled` if it is still pending (out of the queue or
  /// the table; the server gets a cancel frame for a request already
  /// admitted) and returns its waiter, which the caller of this resumes.
  [[nodiscard]] std::coroutine_handle<> cancel_call(pending_call& call);

  /// Queues a notification (a one-way call: no id, never answered) of
  /// `method`, its arguments encoded with `encode(arguments, writer)`.
  /// Returns ok once it is queued for the writer; `unavailable` when the
  /// session is closed, `resource_exhausted` when it is larger than the peer
  /// accepts, `internal` when encoding threw. Queued notifications leave in
  /// order with the calls around them; delivery is not confirmed.
  status notify(std::uint32_t method, argument_encoder encode, const void* arguments);

  // ---- responses (the serving side) -----------------------------------------

  /// Appends a successful response header for request `id`, then the
  /// metadata block of `response_metadata` (if any), and returns a writer for
  /// its payload; follow with `send_response(id)`.
  [[nodiscard]] byte_writer begin_response(std::uint32_t id, const metadata* response_metadata = nullptr);

  /// Finishes the response begun by begin_response and queues it. A response
  /// larger than the peer accepts is replaced by a `resource_exhausted` one.
  void send_response(std::uint32_t id);

  /// Drops a response begun by begin_response (its value failed to encode).
  void abandon_response() { drop_frame(); }

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
  void capture_answer(answer_capture& c) noexcept {
    if (m_closing) {
      c.on_abandon(c);
      return;
    }
    c.next = m_captures;
    m_captures = &c;
  }

  /// Registers a request served by a coroutine handler until `untrack`:
  /// a cancel frame for its id, or the end of the connection, calls its
  /// `on_cancel`. Both on the loop thread.
  void track(running_request& r) noexcept {
    r.previous = nullptr;
    r.next = m_running;
    if (m_running != nullptr) m_running->previous = &r;
    m_running = &r;
  }
  void untrack(running_request& r) noexcept {
    (r.previous == nullptr ? m_running : r.previous->next) = r.next;
    if (r.next != nullptr) r.next->previous = r.previous;
    r.previous = r.next = nullptr;
  }

  /// An asynchronous handler began: the session will not finish until the
  /// matching `handler_finished`, and stops reading while too many run.
  void handler_started() noexcept { ++m_handlers; }
  void handler_finished() noexcept {
    --m_handlers;
    if (m_reader && !reader_should_pause()) m_loop.post(std::exchange(m_reader, {}));
    notify_if_idle();
    close_when_idle();
  }

 protected:
  virtual ~session_core() {
    m_loop.cancel_timer(m_drain_timer);
    m_loop.cancel_timer(m_keepalive_timer);
  }

  /// Closes the transport so that a pending read or write ends.
  virtual void close_transport() noexcept = 0;

  // ---- used by session<Transport>'s reader and writer ------------------------

  /// Routes every whole frame the decoder holds. Returns false once the
  /// session is closing (a protocol error, or a handler or caller closed it).
  bool route_frames();

  /// Whether the reader should wait before routing or reading more: too
  /// many requests are still running, or too many answers wait for the
  /// writer (backpressure on a flooding peer). With `overload_action::reject`
  /// only the answers' bytes, at twice their cap, pause it.
  [[nodiscard]] bool reader_should_pause() const noexcept {
    if (m_closing) return false;
    if (m_options.on_overload == overload_action::reject) {
      const std::size_t cap = m_options.max_queued_response_bytes;
      return queued_response_bytes() >= (cap > ~std::size_t{0} / 2 ? cap : 2 * cap);
    }
    return overloaded();
  }

  /// Whether the serving side is over one of its caps.
  [[nodiscard]] bool overloaded() const noexcept {
    return m_handlers >= m_options.max_in_flight || queued_response_bytes() >= m_options.max_queued_response_bytes;
  }

  /// Awaitable used by the reader to park until it should read again (or
  /// until every asynchronous handler and the writer are done).
  [[nodiscard]] auto park_reader(bool until_idle) noexcept {
    struct awaiter {
      session_core& self;
      bool until_idle;
      bool await_ready() const noexcept {
        return until_idle ? self.idle() : !self.reader_should_pause();
      }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        (until_idle ? self.m_tasks_waiter : self.m_reader) = h;
      }
      void await_resume() const noexcept {}
    };
    return awaiter{*this, until_idle};
  }

  [[nodiscard]] bool idle() const noexcept { return m_handlers == 0 && !m_writer_running; }

  /// The output buffer the writer swaps out and sends; frames queued in one
  /// loop turn leave together.
  byte_vector m_out;
  frame_decoder m_decoder;
  bool m_writer_running = false;
  std::coroutine_handle<> m_writer_idle;  // the writer, parked until there is output
  status m_end_status;

  void writer_stopped() noexcept {
    m_writer_running = false;
    notify_if_idle();
  }

  /// The writer takes everything queued, as one gather list: the output
  /// buffer's bytes with the long runs sent from where they are in between.
  /// New frames queue into the other buffer meanwhile (double buffering,
  /// both keep their capacity); callers waiting for room may go on. The
  /// list and what it views stay valid until `output_written()`.
  [[nodiscard]] std::span<const const_buffer> take_output();

  /// The writer's write of what it took is over (done or failed): the
  /// arguments and the reader's bytes it sent from are free again, and a
  /// reader paused by queued answers may go on.
  void output_written() noexcept;

  /// Whether frames queued or being written send bytes from the reader's
  /// buffer, which must not be reused (`m_decoder.prepare`) before
  /// `detach_reader_views()`.
  [[nodiscard]] bool sends_from_reader() const noexcept { return m_reader_views != 0; }

  /// Copies the reader's bytes that queued or unwritten frames still send
  /// from, so that the reader may reuse its buffer.
  void detach_reader_views();

  /// Whether the writer, once the output is written, should end the session
  /// (a drain or the peer's goaway left nothing in flight).
  [[nodiscard]] bool close_when_flushed() const noexcept { return m_close_when_flushed; }
  void flushed_and_closing() {
    shutdown(status_code::unavailable, m_draining ? "the connection was drained (goaway)"
                                                  : "the connection was closed after the peer's goaway");
  }

  /// Arms the keepalive timer, if `session_options::keepalive_interval` is set.
  void start_keepalive();

 private:
  friend class stream_table;

  static void on_deadline(timer_node& node) noexcept;

  // A timer inside the session (the drain's grace period, the keepalive).
  struct session_timer : timer_node {
    session_core* owner = nullptr;
  };

  static void on_drain_grace_over(timer_node& node) noexcept {
    static_cast<session_timer&>(node).owner->shutdown(status_code::unavailable,
                                                      "the server's drain grace period ended");
  }

  // Fires every keepalive interval. A read since the last look means the
  // peer lives; otherwise a ping goes out, and if still nothing has been
  // read when the timeout passes, the peer is taken for dead.
  static void on_keepalive(timer_node& node) noexcept;

  // After this side's goaway or the peer's: once nothing is in flight, let
  // the writer send what is queued and then close.
  void close_when_idle() noexcept;

  void peer_going_away(const frame_view& frame);

  void notify_unusable() noexcept {
    if (auto fn = std::exchange(m_on_unusable, nullptr)) fn(m_on_unusable_context);
  }

  // ---- long byte runs sent from where they are (gather writes) -------------

  // A run of bytes a queued frame sends from memory the session does not
  // own: a request's arguments (until its call ends) or the reader's buffer
  // (until the reader reads again). Whichever comes before the write copies
  // them (`detach`).
  struct output_view {
    std::size_t at = 0;                 // offset in its output buffer the bytes follow
    const_buffer bytes;
    pending_call* call = nullptr;       // the call whose arguments they are, if any
    bool from_reader = false;           // they lie in the reader's buffer
    std::size_t gather_index = 0;       // while being written: their entry in m_gather
    std::unique_ptr<std::byte[]> copy;  // once detached: the bytes, owned
  };

  struct output_borrower : byte_borrower {
    session_core* self = nullptr;
  };

  // The byte_writer's offer of a long run: a request's arguments are
  // always taken (the call keeps them alive), a response's bytes only when
  // they lie in the reader's buffer (a handler's own memory may be gone or
  // changed before the write).
  static bool borrow(byte_borrower& borrower, const_buffer bytes) {
    session_core& self = *static_cast<output_borrower&>(borrower).self;
    const bool from_reader = self.m_decoder.holds(bytes);
    if (self.m_borrowing_call == nullptr && !from_reader) return false;
    self.m_out_views.push_back(output_view{self.m_out.size(), bytes, self.m_borrowing_call, from_reader, 0, {}});
    self.m_out_view_bytes += bytes.size();
    if (from_reader) ++self.m_reader_views;
    if (self.m_borrowing_call != nullptr) self.m_borrowing_call->sends_from_arguments = true;
    return true;
  }

  // Bytes the frame being built sends from where they are.
  [[nodiscard]] std::size_t frame_view_bytes() const noexcept {
    if (m_out_view_bytes == 0 || m_out_views.back().at <= m_frame_start) return 0;  // the usual case
    std::size_t n = 0;
    for (auto v = m_out_views.rbegin(); v != m_out_views.rend() && v->at > m_frame_start; ++v) n += v->bytes.size();
    return n;
  }

  // Removes the frame being built from the output, with its views.
  void drop_frame() noexcept;

  // Copies the bytes of `v` (being written when `sending`) into storage of
  // its own and points the frame, and the write under way, at the copy.
  // Rare: a call that ended before its request was written, or a reader
  // that reads again before the writer could send its bytes.
  void detach(output_view& v, bool sending);

  void detach_views_of(pending_call& call);

  [[nodiscard]] bool has_room() const noexcept {
    return !m_calls.full() && m_calls.size() < m_peer_max_in_flight &&
           m_out.size() + m_out_view_bytes < m_options.max_queued_bytes;
  }

  void insert(pending_call& call) noexcept {
    // has_room() was checked, so the table cannot be full.
    call.id = m_calls.insert(call);
  }

  void enqueue(pending_call& call) noexcept {
    call.next_queued = nullptr;
    if (m_queue_tail == nullptr) {
      m_queue_head = &call;
    } else {
      m_queue_tail->next_queued = &call;
    }
    m_queue_tail = &call;
  }

  void unqueue(pending_call& call) noexcept;

  /// Admits `call` and sends its request if there is room and nobody
  /// waits ahead of it. True when the call is already over (the session is
  /// closed, or its request could not be sent); false when it must wait
  /// (for room, or for its response).
  bool start_exchange(pending_call& call);

  /// Encodes the request of admitted `call` into the output buffer and
  /// wakes the writer. A request that fails to encode, or is larger than the
  /// peer accepts, is dropped and ends the call (`done`, not resumed).
  void send(pending_call& call);

  /// Appends a request or notification: `header`, then the metadata block
  /// of `call` (a request's: its deadline and metadata), then the arguments
  /// encoded by `encode`, with the lengths patched in. On failure (encoding
  /// threw, the frame is larger than the peer accepts, the call's deadline
  /// has passed) nothing is left in the output buffer and the status says why.
  status encode_outgoing(const frame_header& header, argument_encoder encode, const void* arguments,
                         pending_call* call = nullptr);

  pending_call* dequeue() noexcept {
    pending_call* call = m_queue_head;
    if (call != nullptr) {
      m_queue_head = call->next_queued;
      if (m_queue_head == nullptr) m_queue_tail = nullptr;
      call->next_queued = nullptr;
    }
    return call;
  }

  /// Hands free slots to queued callers, oldest first, sending their
  /// requests; they stay suspended until their responses. One whose request
  /// cannot be sent resumes through the loop rather than inline, since this
  /// runs inside other calls' completions; the waiter is taken first so that
  /// nothing else (a deadline) can resume the same coroutine a second time.
  void admit_queued();

  /// Ends `call` (already out of the table) without resuming it.
  void finish(pending_call& call, status_code code, std::string why);

  /// Ends `call` (already out of the table) and resumes its waiter inline,
  /// unless a stop request claimed the resumption first (its canceller,
  /// already on its way through the loop, resumes the caller).
  void complete(pending_call& call, status_code code, std::string why);

  /// complete() for a success, which leaves the message alone: only an
  /// end that is not ok sets one, and a call ends once. (Like finish(), it
  /// is a place where a call ends.)
  void complete_ok(pending_call& call) {
    if (call.armed()) m_loop.cancel_timer(call);
    // An answer can be read before the writer has seen its request's write
    // end: the caller may free its arguments once resumed (as in finish).
    if (call.sends_from_arguments) detach_views_of(call);
    call.code = status_code::ok;
    call.done = true;
    if (!claim_resumption(call)) return;
    if (auto h = std::exchange(call.waiter, {})) h.resume();
  }

  static bool claim_resumption(pending_call& call) noexcept {
    return !call.cancellable || !call.resumption_claimed.exchange(true, std::memory_order_acq_rel);
  }

  void fail_everything();

  /// send_error's path for a response with metadata; false (nothing queued)
  /// when the metadata alone does not fit the peer's limit.
  bool send_error_with_metadata(std::uint32_t id, std::uint16_t code, std::string_view text,
                                                  const metadata& response_metadata);

  /// Writes the metadata block of `call`'s request: its deadline as
  /// `duet-timeout` (the time left; docs/protocol.md 7.1), its idempotency
  /// key as `duet-idempotency-key` (7.2), then its metadata. False, writing nothing and setting `failure`, when the
  /// deadline has passed. Out of line: a call with neither never comes here.
  bool write_request_metadata(const pending_call& call, status& failure);

  /// Writes a metadata block (`extra` pairs, then `user`'s) after the
  /// header of the frame being built and records its length.
  void write_metadata(std::span<const metadata_entry> extra, const metadata* user);

  bool finish_frame();

  void queue_hello();

  void route(const frame_view& frame);

  /// Whether the frame's metadata block is well formed; a malformed one is a
  /// protocol error, which ends the session.
  bool check_metadata(const frame_view& frame);

  [[gnu::noinline]] static void read_response_metadata(const frame_view& frame, metadata& out) {
    (void)read_metadata_block(frame.metadata, out);  // checked by check_metadata
  }

  void wake_writer() {
    if (auto h = std::exchange(m_writer_idle, {})) m_loop.post(h);
  }

  /// Hands the answer to request `id`, queued at `frame_at` in m_out, to its
  /// capture, if one is registered.
  void deliver_capture(std::uint32_t id, std::size_t frame_at) noexcept;

  void count_response_bytes(std::size_t n) noexcept {
    m_out_response_bytes += n;
    m_peak_response_bytes = std::max(m_peak_response_bytes, queued_response_bytes());
  }

  /// With `overload_action::reject`, whether a request arriving now is over
  /// the caps and must not run (counted).
  bool reject_overload() noexcept;

  void notify_if_idle() {
    if (m_tasks_waiter && idle()) m_loop.post(std::exchange(m_tasks_waiter, {}));
  }

  event_loop& m_loop;
  session_options m_options;
  request_dispatcher* m_dispatcher;
  call_table<pending_call> m_calls;
  pending_call* m_queue_head = nullptr;  // callers waiting for room, oldest first
  pending_call* m_queue_tail = nullptr;
  std::size_t m_frame_start = 0;
  frame_header m_frame_header{};
  // The output's long runs (see output_view), and what the writer is writing.
  static constexpr std::size_t retained_output_capacity = 2 * 1024 * 1024;
  std::vector<output_view> m_out_views;      // in m_out, by offset
  std::size_t m_out_view_bytes = 0;          // their total size
  byte_vector m_sending;                     // taken by the writer
  std::vector<output_view> m_sending_views;  // in m_sending
  std::vector<const_buffer> m_gather;        // the write under way
  std::size_t m_reader_views = 0;            // views into the reader's buffer, queued or being written
  pending_call* m_borrowing_call = nullptr;  // the call whose request is being encoded
  output_borrower m_borrower{{&borrow}, this};
  std::uint32_t m_peer_max_frame_size = default_max_frame_size;
  std::uint32_t m_peer_max_in_flight = ~std::uint32_t{0};
  std::uint32_t m_handlers = 0;
  std::size_t m_out_response_bytes = 0;      // answers in m_out
  std::size_t m_writing_response_bytes = 0;  // answers in the write under way
  std::size_t m_peak_response_bytes = 0;
  std::uint64_t m_rejected = 0;
  running_request* m_running = nullptr;     // coroutine handlers serving requests, newest first
  answer_capture* m_captures = nullptr;     // answers an idempotency cache waits for
  std::coroutine_handle<> m_reader;        // parked by backpressure
  std::coroutine_handle<> m_tasks_waiter;  // the reader, waiting for handlers and writer to end
  bool m_closing = false;
  bool m_peer_said_hello = false;
  // Graceful end (goaway either way) and keepalive.
  bool m_draining = false;            // this side sent goaway
  bool m_peer_going_away = false;     // the peer sent goaway
  bool m_winding_down = false;        // either: close once nothing is in flight
  bool m_close_when_flushed = false;  // nothing in flight: the writer closes after the output
  bool m_ping_outstanding = false;
  session_timer m_drain_timer;
  session_timer m_keepalive_timer;
  std::uint64_t m_reads = 0;       // reads that brought bytes
  std::uint64_t m_reads_seen = 0;  // m_reads when the keepalive last looked
  std::uint64_t m_pings_sent = 0;
  std::uint32_t m_next_ping_id = 0;
  void (*m_on_unusable)(void*) noexcept = nullptr;
  void* m_on_unusable_context = nullptr;
  stream_table m_streams;
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
      m_calls(options.max_in_flight),
      m_streams(options.streams, options.stream_window) {
  // A hello announcing less than the protocol's floor would be rejected.
  m_options.max_frame_size = std::max(m_options.max_frame_size, min_max_frame_size);
  m_keepalive_timer.owner = this;
  m_keepalive_timer.set_callback(&on_keepalive);
  queue_hello();
}

DUET_INLINE void session_core::shutdown(status_code code, std::string_view why) {
  if (m_closing) return;
  m_closing = true;
  m_end_status = status(code, std::string(why));
  m_loop.cancel_timer(m_drain_timer);
  m_loop.cancel_timer(m_keepalive_timer);
  notify_unusable();
  // Handlers still running serve a connection that is gone: let them stop.
  for (running_request* r = m_running; r != nullptr;) {
    running_request* next = r->next;  // read first: a handler may end, and unlink itself, meanwhile
    r->on_cancel(*r);
    r = next;
  }
  // Answers still awaited will not come.
  while (answer_capture* c = m_captures) {
    m_captures = c->next;
    c->on_abandon(*c);
  }
  m_streams.on_shutdown(*this);
  close_transport();
  wake_writer();
  // A reader parked by backpressure must wake to see the end.
  if (m_reader) m_loop.post(std::exchange(m_reader, {}));
  fail_everything();
}

DUET_INLINE void session_core::drain(time_point deadline, std::string_view why) {
  if (m_closing || m_draining) return;
  m_draining = true;
  m_winding_down = true;
  // Set here, not in the constructor: a program that never drains
  // compiles none of it.
  m_drain_timer.owner = this;
  m_drain_timer.set_callback(&on_drain_grace_over);
  encode_frame(m_out, frame_header{frame_kind::goaway, 0, 0, 0, 0, 0, 0}, {},
               std::as_bytes(std::span<const char>(why.data(), why.size())));
  wake_writer();
  m_loop.start_timer(m_drain_timer, deadline);
  close_when_idle();
}

DUET_INLINE std::coroutine_handle<> session_core::cancel_call(pending_call& call) {
  if (!call.done) {
    if (call.id == 0) {
      unqueue(call);
    } else if (m_calls.take(call.id) != nullptr && !m_closing) {
      encode_frame(m_out, frame_header{frame_kind::cancel, 0, 0, call.id, call.method, 0, 0}, {}, {});
      wake_writer();
    }
    finish(call, status_code::cancelled, "the call was cancelled");
    admit_queued();
    close_when_idle();
  } else {
    // Ended (a response, a deadline) after the stop claimed it: the stop
    // came first, so the call reports it; a response's bytes are gone.
    call.code = status_code::cancelled;
    call.message = "the call was cancelled";
    call.payload = {};
    if (call.response_metadata != nullptr) call.response_metadata->clear();
  }
  return std::exchange(call.waiter, {});
}

[[gnu::noinline]] DUET_INLINE status session_core::notify(std::uint32_t method, argument_encoder encode,
                                                          const void* arguments) {
  if (m_closing) return status(status_code::unavailable, "the connection is closed");
  status queued = encode_outgoing(frame_header{frame_kind::notification, 0, 0, 0, method, 0, 0}, encode, arguments);
  if (queued.ok()) wake_writer();
  return queued;
}

DUET_INLINE byte_writer session_core::begin_response(std::uint32_t id, const metadata* response_metadata) {
  m_frame_start = m_out.size();
  m_out.resize(m_frame_start + frame_header_size);
  m_frame_header = frame_header{frame_kind::response, 0, 0, id, 0, 0, 0};
  if (response_metadata != nullptr) write_metadata({}, response_metadata);  // writes nothing when empty
  // A long run of the request's own bytes (an echo) is sent from the
  // reader's buffer. Not while an idempotency cache waits for answers: it
  // copies each answer out of the output buffer.
  return byte_writer(m_out, m_captures == nullptr ? &m_borrower : nullptr);
}

DUET_INLINE void session_core::send_response(std::uint32_t id) {
  if (!finish_frame()) {
    send_error(id,
               status(status_code::resource_exhausted, "the response is larger than the peer's maximum frame size"));
    return;
  }
  count_response_bytes(m_out.size() - m_frame_start + frame_view_bytes());
  if (m_captures != nullptr) deliver_capture(id, m_frame_start);
  wake_writer();
}

DUET_INLINE void session_core::send_error(std::uint32_t id, const status& s, const metadata* response_metadata) {
  if (m_closing) return;
  std::string_view text = s.message();
  const auto code = static_cast<std::uint16_t>(s.ok() ? status_code::internal : s.code());
  if (response_metadata != nullptr && !response_metadata->empty() &&
      send_error_with_metadata(id, code, text, *response_metadata)) {
    return;
  }
  if (text.size() > m_peer_max_frame_size) text = text.substr(0, m_peer_max_frame_size);
  const std::size_t before = m_out.size();
  encode_frame(m_out, frame_header{frame_kind::response, 0, code, id, 0, 0, 0}, {},
               std::as_bytes(std::span<const char>(text.data(), text.size())));
  count_response_bytes(m_out.size() - before);
  if (m_captures != nullptr) deliver_capture(id, before);
  wake_writer();
}

DUET_INLINE void session_core::send_kept_answer(std::uint32_t id, std::uint16_t code, const_buffer metadata_block,
                                                const_buffer payload) {
  if (m_closing) return;
  if (metadata_block.size() + payload.size() > m_peer_max_frame_size) {
    send_error(id,
               status(status_code::resource_exhausted, "the kept answer is larger than the peer's maximum frame size"));
    return;
  }
  const std::size_t before = m_out.size();
  encode_frame(m_out, frame_header{frame_kind::response, 0, code, id, 0, 0, 0}, metadata_block, payload);
  count_response_bytes(m_out.size() - before);
  wake_writer();
}

DUET_INLINE bool session_core::route_frames() {
  ++m_reads;  // a sign of life for the keepalive
  frame_view frame;
  for (;;) {
    // Over a cap, the frames already read wait in the decoder; the reader
    // routes them once it is woken (backpressure per frame, not per read:
    // one read can hold thousands of requests).
    if (reader_should_pause()) return true;
    const decode_status st = m_decoder.next(frame);
    if (st == decode_status::need_more) return !m_closing;
    if (st == decode_status::error) {
      shutdown(status_code::protocol_error, m_decoder.error_message());
      return false;
    }
    route(frame);
    if (m_closing) return false;
  }
}

DUET_INLINE std::span<const const_buffer> session_core::take_output() {
  std::swap(m_sending, m_out);
  std::swap(m_sending_views, m_out_views);
  m_out_view_bytes = 0;
  m_gather.clear();
  std::size_t from = 0;
  for (output_view& v : m_sending_views) {
    m_gather.push_back(const_buffer(m_sending).subspan(from, v.at - from));
    v.gather_index = m_gather.size();
    m_gather.push_back(v.bytes);
    from = v.at;
  }
  m_gather.push_back(const_buffer(m_sending).subspan(from));
  m_writing_response_bytes = std::exchange(m_out_response_bytes, 0);
  admit_queued();
  return m_gather;
}

DUET_INLINE void session_core::output_written() noexcept {
  for (output_view& v : m_sending_views) {
    if (v.call != nullptr) v.call->sends_from_arguments = false;
    if (v.from_reader) --m_reader_views;
  }
  m_sending_views.clear();
  m_gather.clear();
  m_sending.clear();
  // One burst of large frames must not pin its memory for the rest of
  // the connection's life: a buffer grown past the bound is given back.
  if (m_sending.capacity() > retained_output_capacity) byte_vector().swap(m_sending);
  m_writing_response_bytes = 0;
  if (m_reader && !reader_should_pause()) m_loop.post(std::exchange(m_reader, {}));
}

DUET_INLINE void session_core::detach_reader_views() {
  for (output_view& v : m_out_views) {
    if (v.from_reader) detach(v, false);
  }
  for (output_view& v : m_sending_views) {
    if (v.from_reader) detach(v, true);
  }
}

DUET_INLINE void session_core::start_keepalive() {
  if (m_options.keepalive_interval > duration::zero() && !m_closing) {
    m_loop.start_timer(m_keepalive_timer, deadline_after(m_options.keepalive_interval));
  }
}

DUET_INLINE void session_core::on_deadline(timer_node& node) noexcept {
  auto& call = static_cast<pending_call&>(node);
  session_core& self = *call.session;
  if (call.id == 0) {
    self.unqueue(call);  // still waiting for room: it never went out
  } else if (self.m_calls.take(call.id) == nullptr) {
    return;
  }
  self.complete(call, status_code::deadline_exceeded, "the call's deadline passed");
  self.admit_queued();
  self.close_when_idle();
}

DUET_INLINE void session_core::on_keepalive(timer_node& node) noexcept {
  session_core& self = *static_cast<session_timer&>(node).owner;
  if (self.m_closing) return;
  if (self.m_reads != self.m_reads_seen) {
    self.m_reads_seen = self.m_reads;
    self.m_ping_outstanding = false;
    self.m_loop.start_timer(node, deadline_after(self.m_options.keepalive_interval));
    return;
  }
  if (self.m_ping_outstanding) {
    self.shutdown(status_code::unavailable, "keepalive timeout: the peer did not answer a ping in time");
    return;
  }
  try {
    encode_frame(self.m_out, frame_header{frame_kind::ping, 0, 0, ++self.m_next_ping_id, 0, 0, 0}, {}, {});
    self.wake_writer();
  } catch (...) {
    // Out of memory: no ping this time; the timeout still applies.
  }
  ++self.m_pings_sent;
  self.m_ping_outstanding = true;
  self.m_loop.start_timer(node, deadline_after(self.m_options.keepalive_timeout));
}

DUET_INLINE void session_core::close_when_idle() noexcept {
  if (!m_winding_down || m_close_when_flushed || m_closing) return;
  if (m_handlers != 0 || m_calls.size() != 0) return;
  m_close_when_flushed = true;
  wake_writer();
}

DUET_INLINE void session_core::peer_going_away(const frame_view& frame) {
  if (m_peer_going_away) return;
  m_peer_going_away = true;
  m_winding_down = true;
  std::string why = "the peer is going away (goaway)";
  if (!frame.payload.empty()) {
    why += ": ";
    why.append(reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size());
  }
  notify_unusable();
  // Calls still waiting for room never went out, and must not go out here.
  while (pending_call* call = dequeue()) {
    complete(*call, status_code::unavailable, why);
    if (m_closing) return;  // a resumed caller closed the session
  }
  close_when_idle();
}

[[gnu::noinline]] DUET_INLINE void session_core::drop_frame() noexcept {
  m_out.resize(m_frame_start);
  while (!m_out_views.empty() && m_out_views.back().at > m_frame_start) {
    m_out_view_bytes -= m_out_views.back().bytes.size();
    if (m_out_views.back().from_reader) --m_reader_views;
    m_out_views.pop_back();
  }
}

DUET_INLINE void session_core::detach(output_view& v, bool sending) {
  if (v.copy != nullptr) return;
  v.copy = std::make_unique_for_overwrite<std::byte[]>(v.bytes.size());
  std::memcpy(v.copy.get(), v.bytes.data(), v.bytes.size());
  v.bytes = const_buffer(v.copy.get(), v.bytes.size());
  if (sending) m_gather[v.gather_index] = v.bytes;
  if (v.from_reader) --m_reader_views;
  v.from_reader = false;
  v.call = nullptr;
}

[[gnu::noinline]] DUET_INLINE void session_core::detach_views_of(pending_call& call) {
  for (output_view& v : m_out_views) {
    if (v.call == &call) detach(v, false);
  }
  for (output_view& v : m_sending_views) {
    if (v.call == &call) detach(v, true);
  }
  call.sends_from_arguments = false;
}

DUET_INLINE void session_core::unqueue(pending_call& call) noexcept {
  pending_call* previous = nullptr;
  for (pending_call* p = m_queue_head; p != nullptr; previous = p, p = p->next_queued) {
    if (p != &call) continue;
    (previous == nullptr ? m_queue_head : previous->next_queued) = p->next_queued;
    if (m_queue_tail == p) m_queue_tail = previous;
    p->next_queued = nullptr;
    return;
  }
}

[[gnu::noinline]] DUET_INLINE bool session_core::start_exchange(pending_call& call) {
  if (call.done) return true;
  if (m_closing) {
    finish(call, m_end_status.code(), m_end_status.message());
    return true;
  }
  if (m_peer_going_away) {
    finish(call, status_code::unavailable, "the peer is going away (goaway): no new calls on this connection");
    return true;
  }
  if (m_queue_head != nullptr || !has_room()) return false;
  insert(call);
  send(call);
  return call.done;
}

[[gnu::noinline]] DUET_INLINE void session_core::send(pending_call& call) {
  const auto flags = static_cast<std::uint16_t>(call.stream != nullptr ? flag_stream : 0);
  status queued = encode_outgoing(frame_header{frame_kind::request, flags, 0, call.id, call.method, 0, 0}, call.encode,
                                  call.arguments, &call);
  if (!queued.ok()) {
    m_calls.take(call.id);
    finish(call, queued.code(), queued.message());
    return;
  }
  wake_writer();
}

DUET_INLINE status session_core::encode_outgoing(const frame_header& header, argument_encoder encode,
                                                 const void* arguments, pending_call* call) {
  const char* what = header.kind == frame_kind::request ? "request" : "notification";
  m_frame_start = m_out.size();
  m_out.resize(m_frame_start + frame_header_size);
  m_frame_header = header;
  status failure;
  try {
    const bool has_metadata =
        call != nullptr && (call->armed() || !call->idempotency_key.empty() ||
                            (call->request_metadata != nullptr && !call->request_metadata->empty()));
    if (!has_metadata || write_request_metadata(*call, failure)) {
      // A request's long byte runs are sent from the arguments, which
      // live until the call ends (and are copied if it ends unsent).
      m_borrowing_call = call;
      byte_writer writer(m_out, call != nullptr ? &m_borrower : nullptr);
      encode(arguments, writer);
    }
  } catch (const std::exception& e) {
    failure = status(status_code::internal, std::string("encoding the ") + what + " threw: " + e.what());
  } catch (...) {
    failure = status(status_code::internal,
                     std::string("encoding the ") + what + " threw an exception that is not a std::exception");
  }
  if (failure.ok() && !finish_frame()) {
    failure = status(status_code::resource_exhausted,
                     std::string("the ") + what + " is larger than the peer's maximum frame size");
  }
  m_borrowing_call = nullptr;
  if (!failure.ok()) drop_frame();
  return failure;
}

DUET_INLINE void session_core::admit_queued() {
  while (m_queue_head != nullptr && has_room()) {
    pending_call* call = dequeue();
    insert(*call);
    send(*call);
    if (call->stream != nullptr) {
      m_streams.on_admitted(*this, *call);
    } else if (call->done && claim_resumption(*call)) {
      m_loop.post(std::exchange(call->waiter, {}));
    }
  }
}

DUET_INLINE void session_core::finish(pending_call& call, status_code code, std::string why) {
  if (call.armed()) m_loop.cancel_timer(call);
  // The caller may reuse or free its arguments once resumed.
  if (call.sends_from_arguments) detach_views_of(call);
  call.code = code;
  call.message = std::move(why);
  call.done = true;
}

DUET_INLINE void session_core::complete(pending_call& call, status_code code, std::string why) {
  finish(call, code, std::move(why));
  if (call.stream != nullptr) {
    m_streams.on_local_end(*this, call);
    return;
  }
  if (!claim_resumption(call)) return;
  if (auto h = std::exchange(call.waiter, {})) h.resume();
}

DUET_INLINE void session_core::fail_everything() {
  const status_code code = m_end_status.code();
  m_calls.drain([&](pending_call& call) { complete(call, code, m_end_status.message()); });
  while (pending_call* call = dequeue())
    complete(*call, code, m_end_status.message());
}

[[gnu::noinline]] DUET_INLINE bool session_core::send_error_with_metadata(std::uint32_t id, std::uint16_t code,
                                                                          std::string_view text,
                                                                          const metadata& response_metadata) {
  m_frame_start = m_out.size();
  m_out.resize(m_frame_start + frame_header_size);
  m_frame_header = frame_header{frame_kind::response, 0, code, id, 0, 0, 0};
  write_metadata({}, &response_metadata);
  if (m_frame_header.metadata_length <= m_peer_max_frame_size) {
    const std::size_t room = m_peer_max_frame_size - m_frame_header.metadata_length;
    if (text.size() > room) text = text.substr(0, room);
    const std::size_t at = m_out.size();
    m_out.resize(at + text.size());
    if (!text.empty()) std::memcpy(m_out.data() + at, text.data(), text.size());
    if (finish_frame()) {
      count_response_bytes(m_out.size() - m_frame_start);
      if (m_captures != nullptr) deliver_capture(id, m_frame_start);
      wake_writer();
      return true;
    }
  }
  m_out.resize(m_frame_start);
  return false;
}

[[gnu::noinline]] DUET_INLINE bool session_core::write_request_metadata(const pending_call& call, status& failure) {
  metadata_entry own[2];
  std::size_t owns = 0;
  char digits[timeout_value_capacity];
  if (call.armed() && call.deadline() != time_point::max()) {
    const std::optional<std::string_view> left = timeout_value(call.deadline(), clock::now(), digits);
    if (!left) {
      failure = status(status_code::deadline_exceeded, "the call's deadline passed before its request was sent");
      return false;
    }
    own[owns++] = metadata_entry{timeout_key, *left};
  }
  if (!call.idempotency_key.empty()) own[owns++] = metadata_entry{idempotency_key_name, call.idempotency_key};
  const bool has_user = call.request_metadata != nullptr && !call.request_metadata->empty();
  if (owns != 0 || has_user) {
    write_metadata(std::span<const metadata_entry>(own, owns), has_user ? call.request_metadata : nullptr);
  }
  return true;
}

[[gnu::noinline]] DUET_INLINE void session_core::write_metadata(std::span<const metadata_entry> extra,
                                                                const metadata* user) {
  const std::size_t written = write_metadata_block(m_out, extra, user);
  // Larger than 4 GiB is larger than any peer accepts; finish_frame refuses it.
  m_frame_header.metadata_length = static_cast<std::uint32_t>(std::min<std::size_t>(written, ~std::uint32_t{0}));
}

DUET_INLINE bool session_core::finish_frame() {
  const std::size_t body = m_out.size() - m_frame_start - frame_header_size + frame_view_bytes();
  if (body > m_peer_max_frame_size) {
    drop_frame();
    return false;
  }
  m_frame_header.payload_length = static_cast<std::uint32_t>(body - m_frame_header.metadata_length);
  store_frame_header(m_out.data() + m_frame_start, m_frame_header);
  return true;
}

DUET_INLINE void session_core::queue_hello() {
  hello_message hello{};
  hello.max_frame_size = m_options.max_frame_size;
  // 0 tells the peer this side serves nothing (docs/protocol.md, hello).
  hello.max_in_flight = m_dispatcher != nullptr ? m_options.max_in_flight : 0;
  if (m_streams.enabled()) {
    hello.features |= feature_streams;
    hello.stream_window = m_streams.window();
  }
  encode_hello(m_out, hello);
}

DUET_INLINE void session_core::route(const frame_view& frame) {
  const frame_header& h = frame.header;
  if (!m_peer_said_hello) {
    if (h.kind != frame_kind::hello) {
      shutdown(status_code::protocol_error, "the peer's first frame was not hello");
      return;
    }
    hello_message hello{};
    if (!decode_hello(frame.payload, hello)) {
      shutdown(status_code::protocol_error, "the peer's hello frame is malformed");
      return;
    }
    m_peer_said_hello = true;
    m_peer_max_frame_size = hello.max_frame_size;
    // A peer that serves nothing (0) answers any call with unimplemented;
    // admitting the calls lets each of them end with that answer.
    if (hello.max_in_flight != 0) m_peer_max_in_flight = hello.max_in_flight;
    m_streams.on_peer_hello(*this, hello);
    return;
  }
  // Only a frame that carries metadata pays for reading it.
  if (!frame.metadata.empty() && !check_metadata(frame)) return;
  switch (h.kind) {
    case frame_kind::response: {
      pending_call* call = m_calls.take(h.id);
      if (call == nullptr) return;  // late (after a deadline) or unknown: dropped
      if (call->stream != nullptr) {
        m_streams.on_response(*this, *call, frame);
        admit_queued();
        if (m_winding_down) close_when_idle();
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
      if (m_winding_down) close_when_idle();
      return;
    }
    case frame_kind::request:
      if ((h.flags & flag_stream) != 0 && !m_streams.negotiated()) {
        shutdown(status_code::protocol_error, "a request opening a stream, but streams were not negotiated");
      } else if (m_draining) {
        send_error(h.id,
                   status(status_code::unavailable, "the server is draining (goaway sent): the request was not run"));
      } else if (m_dispatcher == nullptr) {
        send_error(h.id, status(status_code::unimplemented, "this side serves no methods"));
      } else if (reject_overload()) {
        send_error(h.id, status(status_code::resource_exhausted, "the server is overloaded on this connection"));
      } else {
        m_dispatcher->dispatch(*this, frame);
      }
      return;
    case frame_kind::notification:
      if (m_dispatcher != nullptr && !m_draining && !reject_overload()) m_dispatcher->dispatch(*this, frame);
      return;
    case frame_kind::ping: {
      const std::size_t before = m_out.size();
      encode_frame(m_out, frame_header{frame_kind::pong, 0, 0, h.id, 0, 0, 0}, {}, frame.payload);
      count_response_bytes(m_out.size() - before);
      wake_writer();
      return;
    }
    case frame_kind::hello:
      shutdown(status_code::protocol_error, "the peer sent a second hello");
      return;
    case frame_kind::cancel:
      // Advisory (docs/protocol.md): the handler may stop early; an id
      // that is not running (finished, or a plain handler) is ignored.
      for (running_request* r = m_running; r != nullptr; r = r->next) {
        if (r->id == h.id) {
          r->on_cancel(*r);
          break;
        }
      }
      return;
    case frame_kind::goaway:
      peer_going_away(frame);
      return;
    case frame_kind::stream_data:
    case frame_kind::stream_end:
    case frame_kind::credit:
      m_streams.route(*this, frame);
      return;
    default:
      // A pong has done its work by arriving (any read counts for the
      // keepalive).
      return;
  }
}

[[gnu::noinline]] DUET_INLINE bool session_core::check_metadata(const frame_view& frame) {
  if (is_well_formed_metadata(frame.metadata)) return true;
  shutdown(status_code::protocol_error,
           std::string("malformed metadata in a ") + std::string(to_string(frame.header.kind)) + " frame");
  return false;
}

DUET_INLINE void session_core::deliver_capture(std::uint32_t id, std::size_t frame_at) noexcept {
  answer_capture** link = &m_captures;
  while (*link != nullptr && (*link)->id != id)
    link = &(*link)->next;
  answer_capture* c = *link;
  if (c == nullptr) return;
  *link = c->next;
  frame_header h{};
  (void)load_frame_header(m_out.data() + frame_at, h, ~std::uint32_t{0});  // we just wrote it
  const const_buffer body(m_out.data() + frame_at + frame_header_size, h.metadata_length + h.payload_length);
  c->on_answer(*c, h.status, body.first(h.metadata_length), body.subspan(h.metadata_length));
}

DUET_INLINE bool session_core::reject_overload() noexcept {
  if (m_options.on_overload != overload_action::reject || !overloaded()) return false;
  ++m_rejected;
  return true;
}

}  // namespace duet::inline v0::detail
#endif

// The stream table's functions use the whole session core.
#include <duet/session/detail/stream_routing.hpp>
