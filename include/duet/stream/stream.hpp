#pragma once

#include <cstdint>
#include <type_traits>

namespace duet::inline v0 {

/// Marks a stream of `T` messages in a method's signature (docs/streams.md):
///
///     duet::method<"feed", duet::stream<tick>(query)> feed;                  // the server streams
///     duet::method<"upload", summary(duet::stream<chunk>)> upload;           // the client streams
///     duet::method<"chat", duet::stream<msg>(duet::stream<msg>)> chat;       // both
///
/// A stream argument is a method's only argument. `T` is a value type the
/// codec encodes and decodes, default constructible. The marker is never
/// made: handlers get a `duet::stream_writer<T>` or `duet::stream_reader<T>`,
/// callers a `duet::client_stream`.
template <class T>
struct stream {
  using message_type = T;
  stream() = delete;
};

/// The shape of a method: one request and one response, or a stream in one
/// or both directions.
enum class method_kind : std::uint8_t {
  unary,          ///< R(Args...): one request, one response
  server_stream,  ///< stream<T>(Args...): one request, many messages back, then the final status
  client_stream,  ///< R(stream<T>): many messages, then one response
  bidi_stream,    ///< stream<T>(stream<U>): messages both ways, then the final status
};

namespace detail {

/// `T` of `stream<T>`, or void with `is_stream` false for anything else.
template <class X>
struct stream_message {
  static constexpr bool is_stream = false;
  using type = void;
};
template <class T>
struct stream_message<stream<T>> {
  static constexpr bool is_stream = true;
  using type = T;
};

template <class X>
inline constexpr bool is_stream_v = stream_message<X>::is_stream;

/// The method kind of the signature R(Args...).
template <class R, class... Args>
constexpr method_kind method_kind_of() {
  constexpr bool out = is_stream_v<R>;
  constexpr bool in = (is_stream_v<Args> || ...);
  if constexpr (out && in) {
    return method_kind::bidi_stream;
  } else if constexpr (out) {
    return method_kind::server_stream;
  } else if constexpr (in) {
    return method_kind::client_stream;
  } else {
    return method_kind::unary;
  }
}

/// T of a method's only argument stream<T>; void otherwise.
template <class... Args>
struct caller_stream {
  using type = void;
};
template <class A>
struct caller_stream<A> {
  using type = typename stream_message<A>::type;
};

/// The parameters of a method, as a type.
template <class...>
struct parameter_list {};

/// Whether values of types `A...` make the parameters `Params` (a
/// parameter_list), one for one.
template <class Params, class... A>
constexpr bool arguments_fit() {
  return []<class... P>(parameter_list<P...>) {
    if constexpr (sizeof...(P) != sizeof...(A)) {
      return false;
    } else {
      return (std::is_constructible_v<P, A&&> && ...);
    }
  }(Params{});
}

/// What travels for a value of declared type X: X, or T for stream<T>.
template <class X>
using travelling_t = std::conditional_t<is_stream_v<X>, typename stream_message<X>::type, X>;

}  // namespace detail

}  // namespace duet::inline v0
