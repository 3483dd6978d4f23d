#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "duet/bytes.hpp"
#include "duet/wire/frame.hpp"

namespace duet::inline v0 {

/// A type `D` models `message_decoder` when, for `D& d` and `frame_view out`:
///
/// 1. `D{max_frame_size}` (a `std::uint32_t`) makes a decoder that refuses
///    messages whose body exceeds that many bytes.
/// 2. `d.prepare(n)` yields a `mutable_buffer` of at least `n` bytes to read
///    the transport into; `d.commit(k)` says `k` of them were written.
/// 3. `d.next(out)` yields `decode_status::frame` and fills `out` with the
///    next whole message (kind, id, method, status and views of metadata and
///    payload, valid until the next `prepare`), `need_more`, or `error`,
///    which is then final; `d.error_message()` says why.
///
/// Whatever the split of the byte stream into commits, the same messages
/// come out.
template <class D>
concept message_decoder =
    std::constructible_from<D, std::uint32_t> &&
    requires(D& d, const D& cd, std::size_t n, frame_view& out) {
      { d.prepare(n) } -> std::same_as<mutable_buffer>;
      d.commit(n);
      { d.next(out) } -> std::same_as<decode_status>;
      { cd.error_message() } -> std::convertible_to<std::string_view>;
    };

/// A type `E` models `message_encoder` when, for `E e{out}` over a
/// `byte_vector& out`:
///
/// 1. `e.begin(kind, id, method, status)` starts a message at the end of
///    `out`;
/// 2. the caller appends the metadata to `out`, then calls `e.end_metadata()`;
/// 3. the caller appends the payload to `out` (in place: no copy), then
///    calls `e.end()`, which completes the message;
/// 4. `e.cancel()` (noexcept) instead removes the open message from `out`.
template <class E>
concept message_encoder =
    std::constructible_from<E, byte_vector&> &&
    requires(E& e, frame_kind kind, std::uint32_t id, std::uint32_t method, std::uint16_t status) {
      e.begin(kind, id, method, status);
      e.end_metadata();
      e.end();
      { e.cancel() } noexcept;
    };

/// A type `P` models `wire_protocol` when it names how messages travel on a
/// connection: `P::decoder` (a `message_decoder`), `P::encoder` (a
/// `message_encoder`) and `P::name` (a `std::string_view` for diagnostics).
///
/// This is the seam between the session and the bytes: the session encodes
/// requests, responses and notifications with `P::encoder` and routes what
/// `P::decoder` yields by kind and id, so another format that carries
/// transaction ids (JSON-RPC 2.0, msgpack-RPC) can replace the native one.
/// `frame_kind` and `frame_view` are the shared vocabulary: such a protocol
/// maps its messages onto the kinds it has (request, response, notification,
/// cancel) and method names onto ids.
template <class P>
concept wire_protocol = requires {
  typename P::decoder;
  typename P::encoder;
  { P::name } -> std::convertible_to<std::string_view>;
} && message_decoder<typename P::decoder> && message_encoder<typename P::encoder>;

}  // namespace duet::inline v0
