#pragma once

#include <duet/codec/codec.hpp>
#include <duet/detail/fixed_string.hpp>
#include <duet/detail/hash.hpp>
#include <duet/stream/stream.hpp>

#include <cstdint>
#include <string_view>
#include <type_traits>

namespace duet::inline v0 {

namespace detail {
template <class>
inline constexpr bool dependent_false = false;

// A method's result travels unless it is void; asked through if constexpr
// so that no codec concept is ever checked for void.
template <class R>
constexpr bool result_travels() {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    return encodable<R> && decodable<R> && std::is_default_constructible_v<R>;
  }
}

// A stream's messages travel one by one: each a value like an argument.
template <class X>
constexpr bool stream_travels() {
  if constexpr (!is_stream_v<X>) {
    return true;
  } else {
    using T = typename stream_message<X>::type;
    if constexpr (std::is_void_v<T> || std::is_reference_v<T> || std::is_const_v<T>) {
      return false;
    } else {
      return encodable<T> && decodable<T> && std::is_default_constructible_v<T>;
    }
  }
}
}  // namespace detail

/// A method descriptor: the name and signature of one remote procedure,
/// fixed at compile time and shared by client and server.
///
/// Declare each method once, in a header both sides include:
///
///     inline constexpr duet::method<"kv.get", std::optional<std::string>(std::string)> kv_get;
///
/// then `router.on(kv_get, handler)` and `co_await client.call(kv_get, key)`
/// are both checked against the signature. On the wire a method is known by
/// `id`, a 32-bit FNV-1a hash of its name; a router refuses two names with
/// the same id. Arguments and result are values (no references), and each
/// must be encodable by `duet::codec`.
///
/// Streams (docs/streams.md) are declared the same way, with
/// `duet::stream<T>` as the result, as the only argument, or both:
///
///     duet::method<"feed", duet::stream<tick>(query)> feed;
///     duet::method<"upload", summary(duet::stream<chunk>)> upload;
///     duet::method<"chat", duet::stream<msg>(duet::stream<msg>)> chat;
///
/// Large byte payloads without copies: the two sides may declare the same
/// name with types of the same wire form. A server declaring
/// `std::span<const std::byte>` (or `std::string_view`) arguments reads the
/// request's bytes where they arrived, in a plain handler, and may return a
/// view too; the calling side declares the owning `std::vector<std::byte>`
/// (or `std::string`) result, and may pass views as arguments:
///
///     using bytes_view = std::span<const std::byte>;
///     duet::method<"blob.echo", bytes_view(bytes_view)> echo_in_place;        // the server's
///     duet::method<"blob.echo", std::vector<std::byte>(bytes_view)> echo;     // the client's
template <detail::fixed_string Name, class Signature>
struct method {
  static_assert(detail::dependent_false<Signature>,
                "duet::method's second argument must be a function type R(Args...), "
                "e.g. duet::method<\"add\", int(int, int)>");
};

template <detail::fixed_string Name, class R, class... Args>
struct method<Name, R(Args...)> {
  static_assert(!std::is_reference_v<R>,
                "a duet::method returns a value: write R(...) with R not a reference");
  static_assert(((!std::is_reference_v<Args> && !std::is_const_v<Args>)&&...),
                "a duet::method takes its arguments by value: write method<\"name\", "
                "R(std::string)>, not R(const std::string&); the handler receives owned values");
  static_assert(!(detail::is_stream_v<Args> || ...) || sizeof...(Args) == 1,
                "a duet::method that takes a duet::stream<T> takes nothing else: write "
                "method<\"upload\", summary(duet::stream<chunk>)>, and send what the other arguments "
                "would say as the stream's first message");
  static_assert(detail::stream_travels<R>() && (detail::stream_travels<Args>() && ...),
                "the messages of a duet::stream<T> must be values (T not void, const or a reference), "
                "default constructible, and encodable and decodable by duet::codec");
  static_assert(detail::is_stream_v<R> || detail::result_travels<R>(),
                "the result type of a duet::method must be default constructible, and encodable and "
                "decodable by duet::codec");
  static_assert(((detail::is_stream_v<Args> || (encodable<Args> && decodable<Args>))&&...),
                "every argument type of a duet::method must be encodable and decodable by duet::codec");
  static_assert(((detail::is_stream_v<Args> || std::is_default_constructible_v<Args>)&&...),
                "duet decodes a method's arguments into default-constructed values: "
                "each argument type must be default constructible");

  /// What the final response carries: R, or nothing (void) when R is a stream.
  using result_type = std::conditional_t<detail::is_stream_v<R>, void, R>;
  using signature = R(Args...);

  /// One request and one response, or a stream one way or both.
  static constexpr method_kind kind = detail::method_kind_of<R, Args...>();
  /// The messages the caller streams (T of a `stream<T>` argument), or void.
  using caller_message = typename detail::caller_stream<Args...>::type;
  /// The messages the callee streams back (T of a `stream<T>` result), or void.
  using callee_message = typename detail::stream_message<R>::type;

  /// The method's name, as declared.
  static constexpr std::string_view name = Name.view();
  /// The method's wire id: FNV-1a 32 of its name (docs/protocol.md).
  static constexpr std::uint32_t id = detail::fnv1a_32(Name.view());
  /// How many arguments a call passes.
  static constexpr std::size_t arity = sizeof...(Args);

  /// Whether running a request of this method twice has the same effect as
  /// running it once, so that a client may retry its calls
  /// (`duet::retry_policy`). Declare it with the method:
  ///
  ///     inline constexpr duet::method<"kv.get", std::string(std::string)> kv_get{.idempotent = true};
  bool idempotent = false;
};

namespace detail {
template <class T>
struct is_method_impl : std::false_type {};
template <fixed_string Name, class Signature>
struct is_method_impl<method<Name, Signature>> : std::true_type {};
}  // namespace detail

/// Satisfied by `duet::method<...>` descriptors (of any cv-qualification).
template <class M>
concept method_descriptor = detail::is_method_impl<std::remove_cvref_t<M>>::value;

}  // namespace duet::inline v0
