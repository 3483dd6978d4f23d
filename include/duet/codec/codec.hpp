#pragma once

#include <duet/bytes.hpp>
#include <duet/codec/buffer.hpp>
#include <duet/codec/detail/kinds.hpp>

#include <concepts>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

// How a C++ value becomes payload bytes and back. docs/encoding.md is the
// wire format; this header is the C++ side of it.
//
// Choosing a codec for T, first match wins:
//   1. a user specialisation of duet::codec<T> (full tier);
//   2. T has a `duet_codec_as()` member (easy tier): T is encoded exactly as
//      the value it returns, and decoded by decoding that type and
//      constructing T from it;
//   3. the built-in codecs of std_types.hpp, matched by shape (arithmetic,
//      enums, strings, sequences, maps, sets, optional, variant, tuples);
//   4. aggregate.hpp: a plain aggregate is its fields in order;
//   5. otherwise T is not encodable, and using its codec fails to compile
//      with a sentence saying so.
// codec.hpp, std_types.hpp and aggregate.hpp each include the other two, so
// every translation unit sees every built-in codec: one type can never
// encode two ways in two translation units.

namespace duet::inline v0::detail {

template <class T>
inline constexpr bool always_false = false;

/// The built-in codec for T. This primary template is what an unsupported
/// type gets; std_types.hpp, aggregate.hpp and the easy tier below add one
/// constrained partial specialisation per kind.
template <class T>
struct builtin_codec {
  // Marks "no codec": encodable<T> and decodable<T> look for it. The
  // static_asserts sit in the member bodies, not the class, so that asking
  // encodable<T> of an unsupported T is a plain `false`, not an error.
  using duet_no_codec = void;

  static void encode(byte_writer&, const T&) {
    static_assert(always_false<T>,
                  "duet::codec<T> has no specialisation for this type (or for a type it contains): specialise "
                  "duet::codec<T> with static encode/decode members, give T a duet_codec_as() member, or make T a "
                  "plain aggregate whose fields are all encodable");
  }
  static bool decode(byte_reader&, T&) {
    static_assert(always_false<T>,
                  "duet::codec<T> has no specialisation for this type (or for a type it contains): specialise "
                  "duet::codec<T> with static encode/decode members, give T a duet_codec_as() member, or make T a "
                  "plain aggregate whose fields are all encodable");
    return false;
  }
};

}  // namespace duet::inline v0::detail

namespace duet::inline v0 {

/// The customisation point that encodes and decodes a T.
///
/// Full tier: specialise it (fully, partially, or through `Enable` with
/// `std::enable_if_t`/a requires-clause) in namespace duet with
///
///     static void encode(byte_writer& w, const T& value);
///     static bool decode(byte_reader& r, T& value);
///
/// `encode` appends the value with `w`'s members or `duet::encode` on its
/// parts; it may throw only what allocation throws. `decode` overwrites
/// `value` from `r` and returns `false` on malformed input (the entry points
/// then put `r` into the failed state); on failure `value` may be left
/// half-decoded but must stay valid. Optionally declare
/// `static constexpr std::size_t min_encoded_size` (the fewest bytes any value
/// encodes to): containers of T use it to reject hostile counts sooner. A
/// codec whose encoding can be empty must leave it undeclared or 0 and should
/// not be stored in containers (see docs/encoding.md).
///
/// A specialisation must be visible wherever T is encoded or decoded; declare
/// it next to T.
template <class T, class Enable = void>
struct codec : detail::builtin_codec<T> {};

/// T (ignoring cv and references) has a codec that can encode it.
template <class T>
concept encodable = !requires { typename codec<std::remove_cvref_t<T>>::duet_no_codec; } &&
                    requires(byte_writer& w, const std::remove_cvref_t<T>& value) {
                      codec<std::remove_cvref_t<T>>::encode(w, value);
                    };

/// T (ignoring references) has a codec that can decode into it: T is not
/// const, and its codec's decode is available (a view such as
/// `std::span<const int>` encodes but cannot be decoded in place).
template <class T>
concept decodable = !std::is_const_v<std::remove_reference_t<T>> &&
                    !requires { typename codec<std::remove_cvref_t<T>>::duet_no_codec; } &&
                    requires(byte_reader& r, std::remove_cvref_t<T>& value) {
                      { codec<std::remove_cvref_t<T>>::decode(r, value) } -> std::convertible_to<bool>;
                    };

}  // namespace duet::inline v0

namespace duet::inline v0::detail {

/// "No upper bound" for max_encoded_size.
inline constexpr std::size_t unbounded_size = std::numeric_limits<std::size_t>::max();

/// True when T's codec is the built-in one (the user did not specialise codec<T>).
template <class T>
inline constexpr bool uses_builtin_codec = std::is_base_of_v<builtin_codec<T>, codec<T>>;

/// The fewest bytes any T encodes to: declared by T's codec, else 0 (unknown).
template <class T>
consteval std::size_t min_encoded_size() {
  if constexpr (requires { codec<T>::min_encoded_size; }) {
    return codec<T>::min_encoded_size;
  } else {
    return 0;
  }
}

/// The most bytes any T encodes to: declared by the built-in codecs, else unbounded.
template <class T>
consteval std::size_t max_encoded_size() {
  if constexpr (requires { codec<T>::max_encoded_size; }) {
    return codec<T>::max_encoded_size;
  } else {
    return unbounded_size;
  }
}

/// a + b, saturating at unbounded_size.
constexpr std::size_t size_add(std::size_t a, std::size_t b) { return a > unbounded_size - b ? unbounded_size : a + b; }

/// a * b, saturating at unbounded_size.
constexpr std::size_t size_mul(std::size_t a, std::size_t b) {
  return b != 0 && a > unbounded_size / b ? unbounded_size : a * b;
}

template <class List>
inline constexpr bool all_encodable = false;
template <class... Ts>
inline constexpr bool all_encodable<type_list<Ts...>> = (encodable<Ts> && ...);

template <class List>
inline constexpr bool all_decodable = false;
template <class... Ts>
inline constexpr bool all_decodable<type_list<Ts...>> = (decodable<Ts> && ...);

template <class List>
inline constexpr bool all_default_initializable = false;
template <class... Ts>
inline constexpr bool all_default_initializable<type_list<Ts...>> = (std::default_initializable<Ts> && ...);

template <class T>
inline void encode_one(byte_writer& w, const T& value) {
  codec<T>::encode(w, value);
}

// A codec that returns false without failing the reader, or that ignores a
// failed read and returns true, still ends in the failed state here: the
// reader's state is the single truth the entry points report.
template <class T>
[[nodiscard]] inline bool decode_one(byte_reader& r, T& value) {
  if (codec<T>::decode(r, value) && !r.failed()) return true;
  return r.mark_failed();
}

/// Easy tier: a type with a `duet_codec_as()` member is encoded as what that
/// returns and decoded by constructing T from a decoded value of that type.
template <class T>
  requires(kind_of<T> == codec_kind::mapped &&
           encodable<std::remove_cvref_t<decltype(std::declval<const T&>().duet_codec_as())>>)
struct builtin_codec<T> {
  using as_type = std::remove_cvref_t<decltype(std::declval<const T&>().duet_codec_as())>;
  static constexpr std::size_t min_encoded_size = detail::min_encoded_size<as_type>();
  static constexpr std::size_t max_encoded_size = detail::max_encoded_size<as_type>();

  static void encode(byte_writer& w, const T& value) { encode_one<as_type>(w, value.duet_codec_as()); }

  static bool decode(byte_reader& r, T& value)
    requires decodable<as_type> && std::default_initializable<as_type> && std::constructible_from<T, as_type> &&
             std::is_move_assignable_v<T>
  {
    as_type tmp{};
    if (!decode_one(r, tmp)) return false;
    value = T(std::move(tmp));
    return true;
  }
};

}  // namespace duet::inline v0::detail

namespace duet::inline v0 {

/// Appends `values`, in order and with nothing between them, to `w`.
///
/// Throws only what the vector's growth throws (and what a user codec
/// throws); on a throw, the bytes appended so far stay in the vector. Every
/// type must be `encodable`; otherwise compilation stops with a sentence.
template <class... Ts>
void encode(byte_writer& w, const Ts&... values) {
  static_assert((encodable<Ts> && ...),
                "duet::encode: a value's type is not encodable; specialise duet::codec<T> for it, give it a "
                "duet_codec_as() member, or make it a plain aggregate of encodable fields");
  if constexpr ((encodable<Ts> && ...)) (detail::encode_one(w, values), ...);
}

/// Decodes `values`, in order, from `r`, overwriting each.
///
/// Returns `true` when all decoded; `false` when the input is truncated or
/// malformed, leaving `r` failed and the values valid but unspecified. Bytes
/// after the last value are left for the caller (see `decode_all`). A
/// decoded `std::string_view` or `std::span<const std::byte>` views the
/// reader's bytes and is valid only as long as they are. Allocates at most
/// in proportion to the input. Never throws except `std::bad_alloc`.
template <class... Ts>
[[nodiscard]] bool decode(byte_reader& r, Ts&... values) {
  static_assert((decodable<Ts> && ...),
                "duet::decode: a value's type is not decodable: it is const, it is a view that cannot point into "
                "the input (only views of single bytes can), or it has no codec");
  if constexpr ((decodable<Ts> && ...)) {
    return (detail::decode_one(r, values) && ...) && !r.failed();
  } else {
    return false;
  }
}

/// Decodes `values` from the whole of `bytes`: fails, like `decode`, on
/// malformed input, and also when bytes are left over after the last value.
template <class... Ts>
[[nodiscard]] bool decode_all(const_buffer bytes, Ts&... values) {
  byte_reader r(bytes);
  return duet::decode(r, values...) && r.at_end();
}

}  // namespace duet::inline v0

// Last, so that they see everything above whichever of the three headers a
// translation unit includes first; each of them includes codec.hpp at its top.
#include <duet/codec/aggregate.hpp>
#include <duet/codec/std_types.hpp>
