#pragma once

// The definitions of stream_table's functions (stream_table.hpp), and of
// `session_core::streams()`, which makes a session's table. They read and
// write the session core's output and call table, so they need its whole
// definition: the stream layer's headers include this file, and a program
// that uses no stream never calls, nor emits, any of it.

#include <duet/config.hpp>

#include <duet/detail/endian.hpp>
#include <duet/session/detail/session_core.hpp>
#include <duet/session/detail/stream_table.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/metadata.hpp>

#include <algorithm>
#include <coroutine>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace duet::inline v0::detail {

// A template (see stream_engine_for): only the stream layer instantiates it.
template <class Table>
Table& session_core::use_streams() {
  if (m_streams.engine() == nullptr) {
    auto engine = std::make_unique<stream_engine_for<Table>>(m_streams);
    Table& table = engine->table;
    m_streams.install(std::move(engine), table);
  }
  return streams();
}

}  // namespace duet::inline v0::detail

#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE stream_channel* stream_table::tombstone() noexcept {
  static stream_channel mark;
  return &mark;
}

DUET_INLINE void stream_table::on_peer_hello(session_core& s) {
  while (stream_channel* ch = m_hello_waiters) {
    m_hello_waiters = ch->next_waiting_hello;
    ch->next_waiting_hello = nullptr;
    call_operation& call = *ch->call;
    s.loop().cancel_timer(call);  // its deadline, armed while it waited; start_call arms it again
    if (!m_support.negotiated()) {
      ch->phase = stream_phase::closed;
      ch->code = status_code::unimplemented;
      ch->message = "the peer does not speak streams (its hello did not announce them)";
    } else {
      ch->outbound = send_credit(m_support.peer_window());
      ch->phase = stream_phase::open;
      const std::optional<time_point> deadline =
          ch->has_deadline ? std::optional<time_point>(ch->deadline) : std::nullopt;
      if (s.start_call(call, deadline, call.method, call.encode, call.arguments)) {
        ch->phase = stream_phase::closed;
        ch->code = call.code;
        ch->message = call.message;
      } else if ((ch->id = call.id) == 0) {
        s.suspend_call(call, {}, {});  // waits for room; on_admitted wakes the opener
        continue;
      }
    }
    if (std::coroutine_handle<> h = std::exchange(ch->opener, {})) s.loop().post(h);
  }
}

DUET_INLINE bool stream_table::open(session_core& s, stream_channel& ch, std::optional<time_point> deadline,
                                    std::uint32_t method, message_encoder encode, const void* arguments) {
  call_operation& call = *ch.call;
  call.stream = &ch;
  ch.session = &s;
  ch.callee = false;
  ch.inbound = receive_credit(m_support.window());
  if (!s.is_open()) {
    ch.phase = stream_phase::closed;
    ch.code = s.m_end_status.code();
    ch.message = s.m_end_status.message();
    return true;
  }
  if (!m_support.enabled()) {
    ch.phase = stream_phase::closed;
    ch.code = status_code::unimplemented;
    ch.message = "streams are disabled on this session (session_options::streams)";
    return true;
  }
  if (!m_support.peer_known()) {
    // Arguments and method wait in the call until the hello says whether
    // the peer speaks streams at all.
    call.method = method;
    call.encode = encode;
    call.arguments = arguments;
    ch.has_deadline = deadline.has_value();
    if (deadline) {
      // The deadline covers the wait for the hello too (a peer that never
      // sends one must not hold the opener forever).
      ch.deadline = *deadline;
      call.set_callback(&on_hello_deadline);
      s.loop().start_timer(call, *deadline);
    }
    ch.next_waiting_hello = m_hello_waiters;
    m_hello_waiters = &ch;
    return false;
  }
  if (!m_support.negotiated()) {
    ch.phase = stream_phase::closed;
    ch.code = status_code::unimplemented;
    ch.message = "the peer does not speak streams (its hello did not announce them)";
    return true;
  }
  ch.outbound = send_credit(m_support.peer_window());
  ch.phase = stream_phase::open;
  if (s.start_call(call, deadline, method, encode, arguments)) {
    ch.phase = stream_phase::closed;
    ch.code = call.code;
    ch.message = call.message;
    return true;
  }
  ch.id = call.id;
  if (call.id != 0) return true;  // admitted and sent: the opener goes on
  s.suspend_call(call, {}, {});  // waits for room; on_admitted wakes the opener
  return false;
}

DUET_INLINE void stream_table::on_admitted(session_core& s, call_operation& call) {
  stream_channel& ch = *call.stream;
  ch.id = call.id;
  if (call.done) {
    // Its request could not be sent (too large, encoding threw).
    forget(ch);
    ch.phase = stream_phase::closed;
    ch.code = call.code;
    ch.message = call.message;
    ch.cancel_sent = true;
    ch.inbound_ended = true;
  }
  if (std::coroutine_handle<> h = std::exchange(ch.opener, {})) s.loop().post(h);
}

DUET_INLINE void stream_table::on_hello_deadline(timer_node& node) noexcept {
  auto& call = static_cast<call_operation&>(node);
  stream_channel& ch = *call.stream;
  session_core& s = *ch.session;
  // cancel() takes it out of the hello's waiters and posts its opener.
  s.streams().cancel(s, ch, status_code::deadline_exceeded,
                     "the stream's deadline passed while waiting for the peer's hello");
}

DUET_INLINE void stream_table::on_shutdown(session_core& s) {
  while (stream_channel* ch = m_hello_waiters) {
    m_hello_waiters = ch->next_waiting_hello;
    ch->next_waiting_hello = nullptr;
    s.loop().cancel_timer(*ch->call);
    ch->phase = stream_phase::closed;
    ch->code = s.m_end_status.code();
    ch->message = s.m_end_status.message();
    if (std::coroutine_handle<> h = std::exchange(ch->opener, {})) s.loop().post(h);
  }
}

DUET_INLINE void stream_table::half_close(session_core& s, stream_channel& ch) {
  if (ch.phase != stream_phase::open) return;
  ch.phase = stream_phase::half_closed;
  if (!ch.sends || !s.is_open()) return;
  s.m_frames.control(frame_kind::stream_end, ch.id, 0, {});
  s.wake_writer();
}

DUET_INLINE void stream_table::cancel(session_core& s, stream_channel& ch, status_code code, std::string_view why) {
  if (ch.closed()) return;
  call_operation& call = *ch.call;
  if (ch.phase == stream_phase::opening) {
    // Still waiting for the peer's hello: out of that list.
    for (stream_channel** link = &m_hello_waiters; *link != nullptr; link = &(*link)->next_waiting_hello) {
      if (*link == &ch) {
        *link = ch.next_waiting_hello;
        break;
      }
    }
    ch.next_waiting_hello = nullptr;
  } else if (call.id == 0) {
    s.m_admission.unqueue(call);
  } else if (s.m_admission.take(call.id) != nullptr && s.is_open()) {
    s.m_frames.control(frame_kind::cancel, call.id, call.method, {});
    s.wake_writer();
  }
  ch.cancel_sent = true;
  s.finish(call, code, std::string(why));
  forget(ch);
  ch.phase = stream_phase::closed;
  ch.inbound_ended = true;
  ch.queue.clear();  // ended here, not by the peer: what it sent is not wanted
  ch.code = code;
  ch.message = std::string(why);
  s.admit_queued();
  s.close_when_idle();
  wake_all(ch, false, s);
}

DUET_INLINE void stream_table::on_local_end(session_core& s, call_operation& call) {
  stream_channel& ch = *call.stream;
  if (ch.closed()) return;
  if (!ch.cancel_sent && call.id != 0 && s.is_open()) {
    s.m_frames.control(frame_kind::cancel, call.id, call.method, {});
    s.wake_writer();
  }
  ch.cancel_sent = true;
  forget(ch);
  ch.phase = stream_phase::closed;
  ch.inbound_ended = true;
  ch.queue.clear();  // ended here (deadline, connection lost): unread messages are dropped
  ch.code = call.code;
  ch.message = call.message;
  wake_all(ch, true, s);
}

DUET_INLINE void stream_table::on_response(session_core& s, call_operation& call, const frame_view& frame) {
  stream_channel& ch = *call.stream;
  const auto code = static_cast<status_code>(frame.header.status);
  ch.cancel_sent = true;  // the peer ended it: nothing to tell
  if (call.response_metadata != nullptr && !frame.metadata.empty()) {
    (void)read_metadata_block(frame.metadata, *call.response_metadata);  // checked by the session
  }
  if (code == status_code::ok) {
    ch.code = status_code::ok;
    if (ch.decode_final != nullptr) {
      if (!ch.decode_final(ch.final_target, frame.payload)) {
        ch.code = status_code::internal;
        ch.message = "the response does not decode as the method's result type";
      }
    } else if (!frame.payload.empty()) {
      ch.code = status_code::internal;
      ch.message = "the response that ended a stream carried a value the method does not have";
    }
  } else {
    ch.code = is_known(code) ? code : status_code::unknown;
    ch.message.assign(reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size());
  }
  s.finish(call, ch.code, ch.message);
  forget(ch);
  ch.phase = stream_phase::closed;
  ch.inbound_ended = true;
  wake_all(ch, true, s);
}

DUET_INLINE void stream_table::wake_all(stream_channel& ch, bool inline_resume, session_core& s) {
  if (ch.waiting_room) stop_waiting_for_room(ch);
  // Taken first: a resumed coroutine may end the stream's owner, after
  // which nothing here touches the channel.
  std::coroutine_handle<> handles[4] = {std::exchange(ch.opener, {}), std::exchange(ch.reader, {}),
                                        std::exchange(ch.writer, {}), std::exchange(ch.finisher, {})};
  if (handles[1] && ch.delivered == stream_channel::delivery::none) ch.delivered = stream_channel::delivery::end;
  for (std::coroutine_handle<> h : handles) {
    if (!h) continue;
    if (inline_resume) {
      h.resume();
    } else {
      s.loop().post(h);
    }
  }
}

DUET_INLINE void stream_table::begin_served(session_core& s, stream_channel& ch) {
  ch.session = &s;
  ch.callee = true;
  ch.phase = stream_phase::open;
  ch.outbound = send_credit(m_support.peer_window());
  ch.inbound = receive_credit(m_support.window());
  // A server stream's caller sends no messages: its direction is over.
  if (!ch.receives) ch.inbound_ended = true;
  if ((m_served + m_tombstones + 1) * 2 > m_slots.size()) grow();
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = ch.id & mask;; i = (i + 1) & mask) {
    if (m_slots[i] == nullptr || m_slots[i] == tombstone()) {
      if (m_slots[i] == tombstone()) --m_tombstones;
      m_slots[i] = &ch;
      break;
    }
  }
  ++m_served;
}

DUET_INLINE void stream_table::end_served(stream_channel& ch) noexcept {
  forget(ch);
  if (ch.waiting_room) stop_waiting_for_room(ch);
  if (m_slots.empty()) return;
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = ch.id & mask; m_slots[i] != nullptr; i = (i + 1) & mask) {
    if (m_slots[i] == &ch) {
      m_slots[i] = tombstone();
      ++m_tombstones;
      --m_served;
      return;
    }
  }
}

DUET_INLINE stream_channel* stream_table::find_served(std::uint32_t id) const noexcept {
  if (m_served == 0) return nullptr;
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = id & mask; m_slots[i] != nullptr; i = (i + 1) & mask) {
    if (m_slots[i] != tombstone() && m_slots[i]->id == id) return m_slots[i];
  }
  return nullptr;
}

DUET_INLINE void stream_table::grow() {
  std::vector<stream_channel*> old = std::move(m_slots);
  std::size_t size = 16;
  while (size < (m_served + 1) * 4) size *= 2;
  m_slots.assign(size, nullptr);
  m_tombstones = 0;
  const std::size_t mask = size - 1;
  for (stream_channel* ch : old) {
    if (ch == nullptr || ch == tombstone()) continue;
    std::size_t i = ch->id & mask;
    while (m_slots[i] != nullptr) i = (i + 1) & mask;
    m_slots[i] = ch;
  }
}

DUET_INLINE void stream_table::close_served(session_core& s, stream_channel& ch, status_code code,
                                            std::string_view why) {
  if (ch.closed()) return;
  forget(ch);
  ch.phase = stream_phase::closed;
  ch.inbound_ended = true;
  ch.queue.clear();  // the caller went away: its unread messages are dropped
  ch.code = code;
  ch.message = std::string(why);
  wake_all(ch, false, s);
}

DUET_INLINE stream_channel* stream_table::owner_of(session_core& s, const frame_header& h) noexcept {
  stream_channel* ch = nullptr;
  if ((h.flags & flag_from_callee) != 0) {
    // The peer serves it: the id is one of this side's calls.
    if (call_operation* call = s.m_admission.find(h.id)) ch = call->stream;
  } else {
    ch = find_served(h.id);
  }
  if (ch == nullptr || ch->closed()) {
    s.m_streams.drop_frame();
    return nullptr;
  }
  return ch;
}

DUET_INLINE void stream_table::route(session_core& s, const frame_view& frame) {
  const frame_header& h = frame.header;
  switch (h.kind) {
    case frame_kind::stream_data: route_data(s, frame); return;
    case frame_kind::stream_end: {
      stream_channel* ch = owner_of(s, h);
      if (ch == nullptr) return;
      if (ch->receives && ch->inbound_ended) {
        s.shutdown(status_code::protocol_error, "a second stream_end for one stream");
        return;
      }
      ch->inbound_ended = true;
      if (ch->phase == stream_phase::open) ch->phase = stream_phase::half_closed;
      if (ch->reader && ch->queue.empty()) {
        ch->delivered = stream_channel::delivery::end;
        std::exchange(ch->reader, {}).resume();
      }
      return;
    }
    case frame_kind::credit: {
      const std::uint32_t n = load_le32(frame.payload.data());
      stream_channel* ch = owner_of(s, h);
      if (ch == nullptr) return;
      if (!ch->outbound.grant(n)) {
        s.shutdown(status_code::protocol_error, "a credit frame taking the credit past 2^32 - 1 bytes");
        return;
      }
      if (ch->writer && !ch->waiting_room) credit_arrived(s, *ch);
      return;
    }
    default: return;
  }
}

DUET_INLINE void stream_table::route_data(session_core& s, const frame_view& frame) {
  const frame_header& h = frame.header;
  stream_channel* ch = m_last_data;
  // A frame from the callee is for a stream this side called.
  const bool to_caller = (h.flags & flag_from_callee) != 0;
  if (ch == nullptr || ch->id != h.id || ch->callee == to_caller) {
    ch = owner_of(s, h);
    if (ch == nullptr) return;
    m_last_data = ch;
  }
  if (accept(s, *ch, frame)) deliver(s, *ch, frame.payload);
}

DUET_INLINE bool stream_table::accept(session_core& s, stream_channel& ch, const frame_view& frame) {
  if (ch.inbound_ended) {
    if (!ch.receives) {
      // A direction the method does not have: dropped like a late frame.
      s.m_streams.drop_frame();
      return false;
    }
    s.shutdown(status_code::protocol_error, "a stream message after its sender's stream_end");
    return false;
  }
  if (!ch.inbound.receive(frame_header_size + frame.payload.size())) {
    s.shutdown(status_code::protocol_error, "a stream message sent without credit");
    return false;
  }
  return true;
}

DUET_INLINE bool stream_table::take_next(session_core& s, stream_channel& ch, const_buffer& payload) {
  if (m_delivering != &ch || ch.closed() || ch.discarding || !s.is_open() || s.reader_should_pause()) return false;
  frame_view frame;
  // need_more: nothing taken; error: it stays, and the reader reports it.
  if (s.m_decoder.next(frame) != decode_status::frame) return false;
  const frame_header& h = frame.header;
  const bool to_caller = (h.flags & flag_from_callee) != 0;
  if (h.kind != frame_kind::stream_data || h.id != ch.id || ch.callee == to_caller || !frame.metadata.empty()) {
    s.m_decoder.put_back(frame);  // the reader routes it
    return false;
  }
  if (!accept(s, ch, frame)) return false;
  payload = frame.payload;
  return true;
}

DUET_INLINE void stream_table::deliver(session_core& s, stream_channel& ch, const_buffer payload) {
  if (ch.discarding) {
    consumed(s, ch, payload.size());
    return;
  }
  if (ch.reader && ch.queue.empty()) {
    // Decoded where it arrived: the reader's buffer is valid until the
    // consumer, resumed here, next suspends.
    ch.delivered = ch.decode(ch.target, payload) ? stream_channel::delivery::message
                                                  : stream_channel::delivery::undecodable;
    consumed(s, ch, payload.size());
    // Its next() may take the messages that follow straight from the
    // reader's buffer (take_next) rather than suspend for each one.
    stream_channel* const outer = std::exchange(m_delivering, &ch);
    std::exchange(ch.reader, {}).resume();
    m_delivering = outer;
    return;
  }
  ch.queue.push(payload);
}

DUET_INLINE void stream_table::consumed(session_core& s, stream_channel& ch, std::size_t payload_bytes) {
  ch.inbound.consume(frame_header_size + payload_bytes);
  const std::uint32_t n = ch.inbound.take_grant();
  // The peer sends nothing more once its side ended: no credit to give.
  if (n == 0 || ch.inbound_ended || ch.closed() || !s.is_open()) return;
  std::byte grant[4];
  store_le32(grant, n);
  encode_frame(s.m_frames.queue().buffer(),
               frame_header{frame_kind::credit, static_cast<std::uint16_t>(ch.callee ? flag_from_callee : 0), 0,
                            ch.id, 0, 0, 0},
               {}, grant);
  s.wake_writer();
}

DUET_INLINE bool stream_table::output_has_room(const session_core& s) const noexcept {
  const write_queue& q = s.m_frames.queue();
  // While the writer writes, senders may queue up to the limit; while it
  // does not (it waits for output, or is about to run), one batch is
  // enough to let it start: the first messages leave at once.
  const std::size_t limit =
      q.writing() ? s.m_options.max_queued_bytes : std::min(s.m_options.max_queued_bytes, m_batch);
  return q.queued_bytes() < limit;
}

DUET_INLINE bool stream_table::may_send(const session_core& s, const stream_channel& ch) const noexcept {
  return ch.outbound.can_send() && output_has_room(s);
}

DUET_INLINE void stream_table::wait_to_send(stream_channel& ch, std::coroutine_handle<> sender) noexcept {
  ch.writer = sender;
  // Without credit it waits for a credit frame (route); with credit, the
  // output has no room: it waits for the writer to take it.
  if (ch.outbound.can_send()) wait_for_room(ch);
}

DUET_INLINE void stream_table::credit_arrived(session_core& s, stream_channel& ch) {
  // A grant smaller than what the last message took below zero: still waiting.
  if (!ch.outbound.can_send()) return;
  if (!output_has_room(s)) {
    wait_for_room(ch);
    return;
  }
  std::exchange(ch.writer, {}).resume();
}

DUET_INLINE void stream_table::wait_for_room(stream_channel& ch) noexcept {
  ch.waiting_room = true;
  ch.next_waiting_room = m_room_waiters;
  m_room_waiters = &ch;
}

DUET_INLINE void stream_table::stop_waiting_for_room(stream_channel& ch) noexcept {
  for (stream_channel** link = &m_room_waiters; *link != nullptr; link = &(*link)->next_waiting_room) {
    if (*link == &ch) {
      *link = ch.next_waiting_room;
      break;
    }
  }
  ch.next_waiting_room = nullptr;
  ch.waiting_room = false;
}

DUET_INLINE void stream_table::wake_room_waiters(session_core& s) {
  // Through the loop: this runs inside the writer, which must write what
  // it took before the senders queue more. The handles are taken first, so
  // a stream that ends meanwhile does not resume its sender a second time.
  while (stream_channel* ch = m_room_waiters) {
    m_room_waiters = ch->next_waiting_room;
    ch->next_waiting_room = nullptr;
    ch->waiting_room = false;
    if (std::coroutine_handle<> h = std::exchange(ch->writer, {})) s.loop().post(h);
  }
}

DUET_INLINE status stream_table::send(session_core& s, stream_channel& ch, message_encoder encode,
                                      const void* value) {
  write_queue& out = s.m_frames.queue();
  const std::size_t start = out.size();
  (void)out.extend(frame_header_size);  // the header is stored once the body's size is known
  try {
    byte_writer writer = out.writer(nullptr);
    encode(value, writer);
  } catch (const std::exception& e) {
    out.drop_after(start);
    return status(status_code::internal, std::string("encoding a stream message threw: ") + e.what());
  } catch (...) {
    out.drop_after(start);
    return status(status_code::internal, "encoding a stream message threw an exception that is not a std::exception");
  }
  const std::size_t body = out.size() - start - frame_header_size;
  if (body > s.m_frames.peer_max_frame_size()) {
    out.drop_after(start);
    return status(status_code::resource_exhausted, "a stream message is larger than the peer's maximum frame size");
  }
  store_frame_header(out.data() + start,
                     frame_header{frame_kind::stream_data, static_cast<std::uint16_t>(ch.callee ? flag_from_callee : 0),
                                  0, ch.id, 0, 0, static_cast<std::uint32_t>(body)});
  (void)ch.outbound.consume(frame_header_size + body);
  s.wake_writer();
  return {};
}

DUET_INLINE bool stream_table::send_bytes(session_core& s, stream_channel& ch, const_buffer bytes) {
  // The count is a varint, as byte_writer::write_varint writes it.
  const std::size_t count_size = varint_size(bytes.size());
  const std::size_t body = count_size + bytes.size();
  if (body > s.m_frames.peer_max_frame_size()) return false;
  // One append for the whole frame (header, count, bytes), into the queue's room.
  std::byte* p = s.m_frames.queue().extend(frame_header_size + body);
  store_frame_header(p, frame_header{frame_kind::stream_data, static_cast<std::uint16_t>(ch.callee ? flag_from_callee : 0),
                                     0, ch.id, 0, 0, static_cast<std::uint32_t>(body)});
  p += frame_header_size;
  p = store_varint(p, bytes.size());
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  (void)ch.outbound.consume(frame_header_size + body);
  s.wake_writer();
  return true;
}

}  // namespace duet::inline v0::detail
#endif
