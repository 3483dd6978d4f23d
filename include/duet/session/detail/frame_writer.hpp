#pragma once

#include <duet/config.hpp>

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/session/detail/call_operation.hpp>
#include <duet/session/detail/write_queue.hpp>
#include <duet/status.hpp>
#include <duet/wire/encoder.hpp>
#include <duet/wire/frame.hpp>
#include <duet/wire/idempotency.hpp>
#include <duet/wire/metadata.hpp>
#include <duet/wire/native.hpp>
#include <duet/wire/timeout.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace duet::inline v0::detail {

/// Encodes a session's frames into its write queue: requests and
/// notifications (their arguments through an `argument_encoder`, their
/// metadata block from the call), responses and errors (the answer path),
/// and the small control frames. Knows the largest frame the peer accepts:
/// a frame over it is never queued.
///
/// A frame is built in place: its header is reserved, the body appended,
/// then the lengths patched in (`finish_frame`), or the whole frame dropped.
class frame_writer {
 public:
  explicit frame_writer(const frame_decoder& reader) noexcept : m_queue(reader) {}

  [[nodiscard]] write_queue& queue() noexcept { return m_queue; }
  [[nodiscard]] const write_queue& queue() const noexcept { return m_queue; }

  [[nodiscard]] std::uint32_t peer_max_frame_size() const noexcept { return m_peer_max_frame_size; }
  void set_peer_max_frame_size(std::uint32_t n) noexcept { m_peer_max_frame_size = n; }

  /// Appends a request or notification: `header`, then the metadata block
  /// of `call` (a request's: its deadline and metadata), then the arguments
  /// encoded by `encode`, with the lengths patched in. True once queued.
  /// On failure (encoding threw, the frame is larger than the peer accepts,
  /// the call's deadline has passed) nothing is left in the queue, and
  /// `take_failure()` says why.
  bool encode_outgoing(const frame_header& header, argument_encoder encode, const void* arguments,
                       call_operation* call = nullptr);

  /// Why the last encode_outgoing failed; taken once.
  [[nodiscard]] status take_failure() noexcept { return std::move(m_failure); }

  // ---- the answer path -----------------------------------------------------

  /// Appends a successful response header for request `id`, then the
  /// metadata block of `response_metadata` (if any), and returns a writer for
  /// its payload; follow with `finish_response` or `drop_frame`. The writer
  /// sends long runs of the reader's bytes from where they are when
  /// `borrow_from_reader`.
  [[nodiscard]] byte_writer begin_response(std::uint32_t id, const metadata* response_metadata,
                                           bool borrow_from_reader);

  /// Finishes the response begun by begin_response and counts it as an
  /// answer; false (nothing queued) when it is larger than the peer accepts.
  bool finish_response() {
    const std::size_t size = finish_frame();
    if (size == 0) return false;
    m_queue.count_answer(size);
    return true;
  }

  /// Where the frame being built, or the response just finished, begins in
  /// the queue's buffer.
  [[nodiscard]] std::size_t frame_start() const noexcept { return m_frame_start; }

  /// Removes the frame being built from the queue, with its views.
  void drop_frame() noexcept { m_queue.drop_after(m_frame_start); }

  /// Appends a response that ends request `id` with status `code`; its
  /// payload is `text` (truncated to fit the peer's limit), after the
  /// metadata block of `response_metadata` if any (dropped if it alone
  /// would not fit). Returns where the frame begins in the queue's buffer.
  std::size_t error_response(std::uint32_t id, std::uint16_t code, std::string_view text,
                             const metadata* response_metadata);

  /// Appends a response to request `id` made of parts kept from an earlier
  /// answer: `code`, a metadata block and a payload. False (nothing queued)
  /// when it is larger than the peer accepts.
  bool kept_answer(std::uint32_t id, std::uint16_t code, const_buffer metadata_block, const_buffer payload);

  // ---- control frames --------------------------------------------------------

  /// Appends a frame with no metadata: a cancel, a ping, a goaway.
  void control(frame_kind kind, std::uint32_t id, std::uint32_t method, const_buffer payload) {
    encode_frame(m_queue.buffer(), frame_header{kind, 0, 0, id, method, 0, 0}, {}, payload);
  }

  /// Appends the pong that answers ping `id` (an answer: it counts).
  void pong(std::uint32_t id, const_buffer payload) {
    const std::size_t before = m_queue.buffer().size();
    encode_frame(m_queue.buffer(), frame_header{frame_kind::pong, 0, 0, id, 0, 0, 0}, {}, payload);
    m_queue.count_answer(m_queue.buffer().size() - before);
  }

  /// Appends this side's hello.
  void hello(const hello_message& hello) { encode_hello(m_queue.buffer(), hello); }

 private:
  /// Writes the header of a frame (its lengths 0), to be patched by
  /// finish_frame. Written whole here, where its fields are mostly
  /// constants, so that finishing only stores the two lengths.
  void begin_frame(const frame_header& header) {
    m_frame_start = m_queue.size();
    store_frame_header(m_queue.extend(frame_header_size), header);
    m_metadata_length = 0;
  }

  /// Patches the frame's lengths in and returns the frame's size (with the
  /// bytes it sends from views; never 0); drops it and returns 0 when it is
  /// larger than the peer accepts.
  std::size_t finish_frame();

  /// encode_outgoing's end on failure: sets m_failure (`code`, a message
  /// about the `kind` frame, `what`, `detail`), drops the frame, false.
  bool outgoing_failed(frame_kind kind, status_code code, const char* what, const char* detail);

  /// error_response's path for a response with metadata; false (nothing
  /// queued) when the metadata alone does not fit the peer's limit.
  bool error_with_metadata(std::uint32_t id, std::uint16_t code, std::string_view text,
                           const metadata& response_metadata);

  /// Writes the metadata block of `call`'s request: its deadline as
  /// `duet-timeout` (the time left; docs/protocol.md 7.1), its idempotency
  /// key as `duet-idempotency-key` (7.2), then its metadata. False, writing
  /// nothing and setting `failure`, when the deadline has passed. Out of
  /// line: a call with neither never comes here.
  bool write_request_metadata(const call_operation& call, status& failure);

  /// Writes a metadata block (`extra` pairs, then `user`'s) after the
  /// header of the frame being built and records its length.
  void write_metadata(std::span<const metadata_entry> extra, const metadata* user);

  write_queue m_queue;
  std::size_t m_frame_start = 0;
  std::uint32_t m_metadata_length = 0;  // of the frame being built
  status m_failure;  // why the last encode_outgoing failed (not a return value: the usual path builds none)
  std::uint32_t m_peer_max_frame_size = default_max_frame_size;
};

}  // namespace duet::inline v0::detail

// ------------------------------------------------------------ definitions ---
// Inline in every translation unit, or compiled once by <duet/src.hpp> when
// DUET_SEPARATE_COMPILATION is defined (see <duet/config.hpp>).
#if DUET_HEADER_DEFINITIONS
namespace duet::inline v0::detail {

DUET_INLINE bool frame_writer::encode_outgoing(const frame_header& header, argument_encoder encode,
                                               const void* arguments, call_operation* call) {
  begin_frame(header);
  try {
    const bool has_metadata =
        call != nullptr && (call->armed() || !call->idempotency_key.empty() ||
                            (call->request_metadata != nullptr && !call->request_metadata->empty()));
    if (has_metadata && !write_request_metadata(*call, m_failure)) {
      drop_frame();
      return false;
    }
    // A request's long byte runs are sent from the arguments, which
    // live until the call ends (and are copied if it ends unsent).
    byte_writer writer = m_queue.writer(call != nullptr ? m_queue.borrower(call) : nullptr);
    encode(arguments, writer);
  } catch (const std::exception& e) {
    return outgoing_failed(header.kind, status_code::internal, " threw: ", e.what());
  } catch (...) {
    return outgoing_failed(header.kind, status_code::internal, " threw an exception that is not a std::exception",
                           "");
  }
  if (!finish_frame()) {
    return outgoing_failed(header.kind, status_code::resource_exhausted, " is larger than the peer's maximum frame size",
                           "");
  }
  return true;
}

[[gnu::noinline]] DUET_INLINE bool frame_writer::outgoing_failed(frame_kind kind, status_code code, const char* what,
                                                                 const char* detail) {
  const char* frame = kind == frame_kind::request ? "request" : "notification";
  const bool encoding = code == status_code::internal;
  m_failure = status(code, std::string(encoding ? "encoding the " : "the ") + frame + what + detail);
  drop_frame();
  return false;
}

DUET_INLINE byte_writer frame_writer::begin_response(std::uint32_t id, const metadata* response_metadata,
                                                     bool borrow_from_reader) {
  begin_frame(frame_header{frame_kind::response, 0, 0, id, 0, 0, 0});
  if (response_metadata != nullptr) write_metadata({}, response_metadata);  // writes nothing when empty
  return m_queue.writer(borrow_from_reader ? m_queue.borrower(nullptr) : nullptr);
}

DUET_INLINE std::size_t frame_writer::error_response(std::uint32_t id, std::uint16_t code, std::string_view text,
                                                     const metadata* response_metadata) {
  if (response_metadata != nullptr && !response_metadata->empty() &&
      error_with_metadata(id, code, text, *response_metadata)) {
    return m_frame_start;
  }
  if (text.size() > m_peer_max_frame_size) text = text.substr(0, m_peer_max_frame_size);
  byte_vector& out = m_queue.buffer();
  const std::size_t before = out.size();
  encode_frame(out, frame_header{frame_kind::response, 0, code, id, 0, 0, 0}, {},
               std::as_bytes(std::span<const char>(text.data(), text.size())));
  m_queue.count_answer(out.size() - before);
  return before;
}

DUET_INLINE bool frame_writer::kept_answer(std::uint32_t id, std::uint16_t code, const_buffer metadata_block,
                                           const_buffer payload) {
  if (metadata_block.size() + payload.size() > m_peer_max_frame_size) return false;
  byte_vector& out = m_queue.buffer();
  const std::size_t before = out.size();
  encode_frame(out, frame_header{frame_kind::response, 0, code, id, 0, 0, 0}, metadata_block, payload);
  m_queue.count_answer(out.size() - before);
  return true;
}

DUET_INLINE std::size_t frame_writer::finish_frame() {
  const std::size_t body =
      m_queue.size() - m_frame_start - frame_header_size + m_queue.view_bytes_after(m_frame_start);
  if (body > m_peer_max_frame_size) {
    drop_frame();
    return 0;
  }
  std::byte* const header = m_queue.data() + m_frame_start;
  store_le32(header + frame_metadata_length_offset, m_metadata_length);
  store_le32(header + frame_payload_length_offset, static_cast<std::uint32_t>(body - m_metadata_length));
  return frame_header_size + body;
}

[[gnu::noinline]] DUET_INLINE bool frame_writer::error_with_metadata(std::uint32_t id, std::uint16_t code,
                                                                     std::string_view text,
                                                                     const metadata& response_metadata) {
  begin_frame(frame_header{frame_kind::response, 0, code, id, 0, 0, 0});
  write_metadata({}, &response_metadata);
  byte_vector& out = m_queue.buffer();
  if (m_metadata_length <= m_peer_max_frame_size) {
    const std::size_t room = m_peer_max_frame_size - m_metadata_length;
    if (text.size() > room) text = text.substr(0, room);
    const std::size_t at = out.size();
    out.resize(at + text.size());
    if (!text.empty()) std::memcpy(out.data() + at, text.data(), text.size());
    if (finish_frame()) {
      m_queue.count_answer(m_queue.size() - m_frame_start);
      return true;
    }
  }
  out.resize(m_frame_start);
  return false;
}

[[gnu::noinline]] DUET_INLINE bool frame_writer::write_request_metadata(const call_operation& call, status& failure) {
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

[[gnu::noinline]] DUET_INLINE void frame_writer::write_metadata(std::span<const metadata_entry> extra,
                                                                const metadata* user) {
  const std::size_t written = write_metadata_block(m_queue.buffer(), extra, user);
  // Larger than 4 GiB is larger than any peer accepts; finish_frame refuses it.
  m_metadata_length = static_cast<std::uint32_t>(std::min<std::size_t>(written, ~std::uint32_t{0}));
}

}  // namespace duet::inline v0::detail
#endif
