#pragma once

#include <duet/codec/buffer.hpp>  // detail::fixed_width_arithmetic

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>  // std::tuple_size, std::tuple_element (declared here, so no <tuple>)

// Structural classification of the types the built-in codecs handle. Every
// test here looks at members and traits only, never at a particular class
// template, so this header needs no container header: a std::map is
// recognised because it has key_type and mapped_type, not because <map> was
// included. Each type gets exactly one kind, so the built-in codecs, each
// constrained on one kind, can never be ambiguous.

namespace duet::inline v0::detail {

enum class codec_kind {
  none,         // not a std-like type: maybe an aggregate, else unsupported
  mapped,       // has a duet_codec_as() member: encoded as what it returns
  boolean,      // bool
  arithmetic,   // other integers, characters and floating point (not long double)
  enumeration,  // an enum with a fixed underlying type
  fixed_array,  // T[N], std::array: N elements, no count
  optional,     // has_value(), operator*, reset(), emplace()
  variant,      // index(), valueless_by_exception(), V<Ts...>
  map,          // a sized range with key_type and mapped_type
  set,          // a sized range with key_type only
  sequence,     // a sized range with push_back or emplace_back
  view,         // any other sized range (std::string_view, std::span)
  tuple,        // std::tuple_size<T> is defined (std::tuple, std::pair)
};

template <class... Ts>
struct type_list {};

template <class T>
concept has_codec_as = requires(const T& v) { v.duet_codec_as(); };

// Scoped enums and unscoped ones declared `: type` have a fixed underlying
// type; only they may hold every value of it, so only they decode safely.
// Since C++17 exactly those accept direct-list-initialisation from it.
template <class T>
concept enum_with_fixed_type = std::is_enum_v<T> && requires { T{std::underlying_type_t<T>{}}; };

template <class T>
concept std_array_like = requires(T& t) {
  std::tuple_size<T>::value;
  typename T::value_type;
  { t.data() } -> std::same_as<typename T::value_type*>;
} && std::tuple_size<T>::value * sizeof(typename T::value_type) == sizeof(T);

template <class T>
concept optional_like = requires(T& t, const T& ct) {
  typename T::value_type;
  { ct.has_value() } -> std::convertible_to<bool>;
  *ct;
  t.reset();
};

template <class T>
struct variant_alternatives {};
template <template <class...> class V, class... Ts>
struct variant_alternatives<V<Ts...>> {
  using type = type_list<Ts...>;
  static constexpr std::size_t size = sizeof...(Ts);
};

template <class T>
concept variant_like = requires(const T& t) {
  { t.index() } -> std::convertible_to<std::size_t>;
  { t.valueless_by_exception() } -> std::same_as<bool>;
  typename variant_alternatives<T>::type;
};

template <class T>
concept sized_range_like = requires(const T& t) {
  typename T::value_type;
  t.begin();
  t.end();
  { t.size() } -> std::convertible_to<std::size_t>;
};

template <class T>
concept map_like = sized_range_like<T> && requires {
  typename T::key_type;
  typename T::mapped_type;
};

template <class T>
concept set_like = sized_range_like<T> && requires { typename T::key_type; };

template <class T>
concept sequence_like = sized_range_like<T> && (requires(T& t, typename T::value_type&& v) {
                          t.push_back(std::move(v));
                        } || requires(T& t) { t.emplace_back(); });

template <class T>
concept tuple_like = requires { std::tuple_size<T>::value; };

/// The one kind of T (cv-unqualified, not a reference).
template <class T>
consteval codec_kind classify() {
  if constexpr (has_codec_as<T>) {
    return codec_kind::mapped;
  } else if constexpr (std::is_same_v<T, bool>) {
    return codec_kind::boolean;
  } else if constexpr (fixed_width_arithmetic<T>) {
    return codec_kind::arithmetic;
  } else if constexpr (enum_with_fixed_type<T>) {
    return codec_kind::enumeration;
  } else if constexpr (std::is_bounded_array_v<T> || std_array_like<T>) {
    return codec_kind::fixed_array;
  } else if constexpr (optional_like<T>) {
    return codec_kind::optional;
  } else if constexpr (variant_like<T>) {
    return codec_kind::variant;
  } else if constexpr (map_like<T>) {
    return codec_kind::map;
  } else if constexpr (set_like<T>) {
    return codec_kind::set;
  } else if constexpr (sequence_like<T>) {
    return codec_kind::sequence;
  } else if constexpr (sized_range_like<T>) {
    return codec_kind::view;
  } else if constexpr (tuple_like<T>) {
    return codec_kind::tuple;
  } else {
    return codec_kind::none;
  }
}

template <class T>
inline constexpr codec_kind kind_of = classify<T>();

/// Whether a decoded T points into the bytes it was decoded from
/// (std::string_view, std::span<const std::byte>), so it must not outlive them.
template <class T>
inline constexpr bool borrows_input = kind_of<std::remove_cv_t<T>> == codec_kind::view;

}  // namespace duet::inline v0::detail
