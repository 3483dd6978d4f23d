#pragma once

#include <duet/config.hpp>

#include <duet/loop/detail/timer_heap.hpp>
#include <duet/session/detail/stream_channel.hpp>
#include <duet/session/detail/stream_engine.hpp>
#include <duet/status.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/native.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace duet::inline v0::detail {

class session_core;
class call_operation;

/// A session's stream engine (docs/protocol.md, 12): the streams this side
/// serves (found by the peer's call id), the callers waiting for the peer's
/// hello, and what the session's reader hands to streams through the
/// `stream_engine` seam: stream frames, the responses that end a caller's
/// stream, the local end of a caller's stream. The caller's streams
/// themselves live in the session's call table, one call each. What the
/// hellos negotiated is the session's (`stream_support`).
///
/// A session makes its table at the first use of a stream
/// (`session_core::streams()`). Its functions are defined in
/// `stream_routing.hpp`, which needs the whole session core. Loop thread only.
class stream_table {
 public:
  explicit stream_table(const stream_support& support) noexcept : m_support(support) {}

  /// Streams this side serves right now.
  [[nodiscard]] std::size_t served() const noexcept { return m_served; }

  // ---- the session's hooks (stream_engine.hpp says what each one does) -------

  void on_peer_hello(session_core& s);
  /// A well-formed frame (`stream_support::malformed`): only the stream's
  /// state is left to check.
  void route(session_core& s, const frame_view& frame);
  /// A well-formed stream_data frame (`stream_engine::on_data`).
  void route_data(session_core& s, const frame_view& frame);
  void on_response(session_core& s, call_operation& call, const frame_view& frame);
  void on_local_end(session_core& s, call_operation& call);
  void on_admitted(session_core& s, call_operation& call);
  void on_shutdown(session_core& s);
  void on_output_taken(session_core& s) {
    if (m_batch < write_batch_bytes) m_batch *= 2;
    if (m_room_waiters != nullptr) wake_room_waiters(s);
  }

  // ---- the typed layer: callers -----------------------------------------------

  /// Opens caller stream `ch` (its `call` set up, receiving and sending
  /// directions set): registers it with its call, and starts the call as
  /// `session_core::start_call` does, once the peer's hello is known. True
  /// when the opener may go on at once (the request is queued, or the
  /// stream already ended: `ch.closed()`); false when it must wait (for the
  /// hello, or for room): set `ch.opener` and suspend.
  bool open(session_core& s, stream_channel& ch, std::optional<time_point> deadline, std::uint32_t method,
            message_encoder encode, const void* arguments);

  /// The caller half-closes `ch`: sends stream_end if it has messages to end.
  void half_close(session_core& s, stream_channel& ch);

  /// The caller gives up on `ch`: a cancel goes to the peer if the request
  /// went out, and the stream ends here with `code`; messages not read yet
  /// are dropped. No-op once closed.
  void cancel(session_core& s, stream_channel& ch, status_code code, std::string_view why);

  // ---- the typed layer: callees -----------------------------------------------

  /// Starts serving stream `ch` (id, directions set): frames for its id
  /// reach it until `end_served`.
  void begin_served(session_core& s, stream_channel& ch);

  /// The handler of `ch` is done: frames for its id are dropped from now on.
  void end_served(stream_channel& ch) noexcept;

  /// Ends served stream `ch` here (its caller cancelled, its deadline
  /// passed, the connection ended), drops the messages not read yet, and
  /// wakes, through the loop, whoever waits on it.
  void close_served(session_core& s, stream_channel& ch, status_code code, std::string_view why);

  // ---- the typed layer: both sides ------------------------------------------

  /// Bytes of output past which a stream sender lets a writer that is not
  /// writing start, rather than queue more: the first messages of a stream
  /// leave after at most this much encoding, not after its whole credit.
  /// The session's first batch is `first_write_batch_bytes`; each time the
  /// writer takes the output the batch doubles, up to `write_batch_bytes`
  /// (so the first message leaves at once, and the writes soon carry many).
  static constexpr std::size_t write_batch_bytes = 64 * 1024;
  static constexpr std::size_t first_write_batch_bytes = 512;

  /// Whether a message of `ch` may be sent now: it has credit, and the
  /// connection's queued output has room: under
  /// `session_options::max_queued_bytes` while the writer writes, under
  /// the current batch (or that limit, if smaller) while it does not.
  [[nodiscard]] bool may_send(const session_core& s, const stream_channel& ch) const noexcept;

  /// The sender of `ch`, which may not send now (`may_send`), suspends as
  /// `sender`: it is resumed once it has credit and the output has room,
  /// or once the stream ended.
  void wait_to_send(stream_channel& ch, std::coroutine_handle<> sender) noexcept;

  /// Sends one message of `ch`, which has credit (`send_credit::can_send`),
  /// and takes the frame's bytes off that credit: ok, or why not (encoding
  /// threw, the message is larger than the peer accepts; no credit is taken).
  status send(session_core& s, stream_channel& ch, message_encoder encode, const void* value);

  /// As `send`, for a message that encodes as `bytes` behind their count
  /// (a byte string or span with the built-in codec): one copy, straight
  /// into the output. False (nothing sent, no credit taken) when it is
  /// larger than the peer accepts.
  bool send_bytes(session_core& s, stream_channel& ch, const_buffer bytes);

  /// Whether the consumer of `ch` runs because the reader handed it a
  /// message (`take_next` may find it the next one).
  [[nodiscard]] bool delivering_to(const stream_channel& ch) const noexcept { return m_delivering == &ch; }

  /// The consumer of `ch`, resumed by the reader with a message (its
  /// `next()` runs inside the reader's routing, `delivering_to`), asks for
  /// the next one: when the next frame the reader holds is a message of
  /// `ch` that may be routed now, it is taken and its credit counted, and
  /// `payload` views it where it lies (valid until the consumer suspends:
  /// only then does the reader go on). False, nothing taken, otherwise (the
  /// reader routes that frame as usual).
  bool take_next(session_core& s, stream_channel& ch, const_buffer& payload);

  /// The consumer of `ch` took one message of `payload_bytes` (from the
  /// queue or in place): grants credit when it is due.
  void consumed(session_core& s, stream_channel& ch, std::size_t payload_bytes);

 private:
  // A removed slot of the served-stream table.
  static stream_channel* tombstone() noexcept;

  // The deadline of a caller stream still waiting for the peer's hello
  // (the call's own timer, re-armed by start_call once the hello is known).
  static void on_hello_deadline(timer_node& node) noexcept;

  // The served streams, by id: open addressing, linear probing.
  [[nodiscard]] stream_channel* find_served(std::uint32_t id) const noexcept;
  void grow();

  // Hands one message to `ch`: in place to a waiting consumer, else a copy
  // into its queue.
  void deliver(session_core& s, stream_channel& ch, const_buffer payload);

  // Whether message `frame` of `ch` may be delivered: the direction is
  // open and the sender had credit (taken now); false when the frame was
  // dropped or broke the protocol (the session is shutting down).
  bool accept(session_core& s, stream_channel& ch, const frame_view& frame);

  // The stream whose frame this is, or null (then counted as dropped).
  stream_channel* owner_of(session_core& s, const frame_header& h) noexcept;

  // The stream of the last stream_data frame, which the next one most
  // likely has too (a run of one stream's messages in one read), or null.
  // Every channel that closes or stops being served is forgotten here first.
  stream_channel* m_last_data = nullptr;
  // The stream whose consumer the reader resumed with a message, while it runs.
  stream_channel* m_delivering = nullptr;
  void forget(const stream_channel& ch) noexcept {
    if (m_last_data == &ch) m_last_data = nullptr;
  }

  // Resumes, in order, every coroutine waiting on `ch` (taken first).
  void wake_all(stream_channel& ch, bool inline_resume, session_core& s);

  // Whether the connection's output has room for a stream message (may_send).
  [[nodiscard]] bool output_has_room(const session_core& s) const noexcept;

  // The sender of `ch`, waiting for credit, got some: resumed now if its
  // credit is above zero and the output has room; waits for room if not.
  void credit_arrived(session_core& s, stream_channel& ch);

  // The list of senders waiting for room in the output.
  void wait_for_room(stream_channel& ch) noexcept;
  void stop_waiting_for_room(stream_channel& ch) noexcept;
  void wake_room_waiters(session_core& s);

  const stream_support& m_support;
  std::size_t m_served = 0;
  std::size_t m_tombstones = 0;
  std::vector<stream_channel*> m_slots;  // null: free; tombstone(): removed
  stream_channel* m_hello_waiters = nullptr;
  stream_channel* m_room_waiters = nullptr;  // senders with credit, waiting for room in the output
  std::size_t m_batch = first_write_batch_bytes;  // the batch while the writer is idle (write_batch_bytes)
};

/// The seam's implementation over a table (`session_core::streams()` makes
/// one). A template, instantiated only by the stream layer: were a class
/// derived from `stream_engine` in every program, a compiler could guess it
/// behind the seam's calls and emit the table's code for a program with no
/// stream.
template <class Table>
class stream_engine_for final : public stream_engine {
 public:
  explicit stream_engine_for(const stream_support& support) noexcept : table(support) {}

  void on_peer_hello(session_core& s) override { table.on_peer_hello(s); }
  void on_frame(session_core& s, const frame_view& frame) override { table.route(s, frame); }
  void on_data(session_core& s, const frame_view& frame) override { table.route_data(s, frame); }
  void on_response(session_core& s, call_operation& call, const frame_view& frame) override {
    table.on_response(s, call, frame);
  }
  void on_local_end(session_core& s, call_operation& call) override { table.on_local_end(s, call); }
  void on_admitted(session_core& s, call_operation& call) override { table.on_admitted(s, call); }
  void on_shutdown(session_core& s) override { table.on_shutdown(s); }
  void on_output_taken(session_core& s) override { table.on_output_taken(s); }

  Table table;
};

}  // namespace duet::inline v0::detail
