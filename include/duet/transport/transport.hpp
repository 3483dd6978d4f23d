#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>

#include <duet/bytes.hpp>
#include <duet/coro/concepts.hpp>

/// \file
/// Writing a transport: the one page to read.
///
/// A transport is a connected, ordered, reliable byte stream that duet's
/// session reads from and writes to. duet ships TCP (`tcp.hpp`), Unix-domain
/// sockets (`unix.hpp`) and an in-process pair (`memory.hpp`); anything else
/// (TLS, a pipe to a child process, a serial line) plugs in by modelling
/// `duet::transport`. No base class, no registration: three members.
///
/// For a `T& t`:
///
///  1. `co_await t.read_some(mutable_buffer buffer)` yields an `io_result`:
///     - `bytes > 0`: that many bytes were stored at the start of `buffer`
///       (any number from 1 to `buffer.size()`: short reads are normal);
///     - `bytes == 0` and no `error`: end of stream, the peer will send
///       nothing more (further reads keep reporting it);
///     - `error` set: the stream failed (`bytes` is 0).
///     It may complete at once (data already buffered) or suspend until data
///     arrives. `buffer` is never empty.
///  2. `co_await t.write(std::span<const const_buffer> buffers)` writes ALL
///     the bytes of the gather list, in order, looping over partial writes
///     itself, and yields `io_result{total, {}}`, or `error` on failure
///     (some prefix may have been sent). The caller keeps `buffers` and the
///     bytes they view alive until the write completes.
///  3. `t.close()` is noexcept and idempotent: it closes both directions and
///     releases the resource. A pending read or write completes with
///     `std::errc::operation_canceled`, and later operations fail the same
///     way. The peer sees end of stream.
///
/// Threading and re-entrancy: every member is called on the thread of the
/// event loop the stream belongs to, and resumes its awaiter there. At most
/// one read and one write are pending at once (the session has a single
/// reader and a single writer); they may be pending together. Do not resume
/// the awaiter inside `await_suspend` of another operation's call chain:
/// when a completion is triggered from within another coroutine (the peer's
/// write completing your read), go through `event_loop::post`.
///
/// Lifetimes: a stream belongs to one loop, which must outlive it. Closing
/// a stream hands its pending operations' coroutines to the loop, which
/// resumes them on a later turn; let them run (do not destroy those
/// coroutines before they resume). Streams are movable, but not while an
/// operation is pending.
///
/// Awaitables must accept any coroutine handle (`await_suspend(
/// std::coroutine_handle<>)`), so a user's own task type can await them, and
/// should be `[[nodiscard]]`. End a transport's header with
/// `static_assert(duet::transport<my_stream>);`.
///
/// Listeners (`duet::listener`) produce streams: `co_await l.accept()` yields
/// an `accept_result<Stream>` (a stream or an error_code); `l.close()` makes a
/// pending accept complete with `operation_canceled`.

namespace duet::inline v0 {

/// The outcome of a read or a write: a byte count, or an error. A read with
/// `bytes == 0` and no error is the end of the stream.
struct io_result {
  std::size_t bytes = 0;
  std::error_code error;

  /// True when there is no error (for a read, it may be end of stream).
  [[nodiscard]] explicit operator bool() const noexcept { return !error; }
};

/// A stream or the reason there is none: what `accept()` and `connect()`
/// yield. Shaped like `std::expected<Stream, std::error_code>`.
template <class Stream>
class [[nodiscard]] stream_result {
public:
  /// A success holding `stream`.
  stream_result(Stream stream) noexcept(std::is_nothrow_move_constructible_v<Stream>)  // NOLINT: implicit
      : m_stream(std::move(stream)) {}

  /// A failure; `error` must be set.
  stream_result(std::error_code error) noexcept : m_error(error) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return m_stream.has_value(); }
  [[nodiscard]] explicit operator bool() const noexcept { return has_value(); }

  /// The error (empty on success).
  [[nodiscard]] std::error_code error() const noexcept { return m_error; }

  /// The stream; throws std::system_error on failure.
  [[nodiscard]] Stream& value() & {
    if (!m_stream) throw std::system_error(m_error);
    return *m_stream;
  }
  [[nodiscard]] Stream&& value() && {
    if (!m_stream) throw std::system_error(m_error);
    return std::move(*m_stream);
  }

  /// The stream. Precondition: has_value().
  [[nodiscard]] Stream& operator*() & noexcept { return *m_stream; }
  [[nodiscard]] Stream&& operator*() && noexcept { return std::move(*m_stream); }
  [[nodiscard]] Stream* operator->() noexcept { return &*m_stream; }

private:
  std::optional<Stream> m_stream;
  std::error_code m_error;
};

/// What `listener::accept()` yields.
template <class Stream>
using accept_result = stream_result<Stream>;

/// What `tcp_stream::connect` / `unix_stream::connect` yield.
template <class Stream>
using connect_result = stream_result<Stream>;

/// Requirement 1 of `transport`: `co_await t.read_some(mutable_buffer)`
/// yields an `io_result`.
template <class T>
concept readable_stream = requires(T& t, mutable_buffer buffer) {
  { t.read_some(buffer) } -> awaitable_of<io_result>;
};

/// Requirement 2 of `transport`: `co_await t.write(gather list)` writes it
/// all and yields an `io_result`.
template <class T>
concept writable_stream = requires(T& t, std::span<const const_buffer> buffers) {
  { t.write(buffers) } -> awaitable_of<io_result>;
};

/// Requirement 3 of `transport`: `t.close()` exists and is noexcept.
template <class T>
concept closable_stream = requires(T& t) {
  { t.close() } noexcept;
};

/// A byte stream the session can run on: readable, writable (gather),
/// closable, and movable so it can be handed over. See the top of this
/// header for the full contract.
template <class T>
concept transport = std::is_object_v<T> && std::move_constructible<T> && readable_stream<T> &&
                    writable_stream<T> && closable_stream<T>;

/// Produces connected streams: `co_await l.accept()` yields a
/// `stream_result` of a transport; `l.close()` (noexcept) wakes a pending
/// accept with `operation_canceled`.
template <class L>
concept listener = requires(L& l) {
  { l.accept() } -> awaitable;
  { l.close() } noexcept;
  requires transport<std::remove_cvref_t<decltype(*std::declval<await_result_t<decltype(l.accept())>&>())>>;
};

/// `assert_transport<T>()` fails to compile, naming the missing requirement,
/// when `T` is not a transport: handy at the end of a transport's header.
template <class T>
constexpr bool assert_transport() noexcept {
  static_assert(readable_stream<T>,
                "duet::transport: T needs `co_await t.read_some(duet::mutable_buffer)` yielding duet::io_result");
  static_assert(writable_stream<T>,
                "duet::transport: T needs `co_await t.write(std::span<const duet::const_buffer>)` yielding "
                "duet::io_result");
  static_assert(closable_stream<T>, "duet::transport: T needs a noexcept `t.close()`");
  static_assert(std::move_constructible<T>, "duet::transport: T must be move-constructible");
  return true;
}

}  // namespace duet::inline v0
